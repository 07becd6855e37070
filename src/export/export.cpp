// Workspace export: copies the overlay upper layer (written by untrusted code) into the host
// --output directory without following a symlink on either side.
#include "nsbox/export.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nsbox/unique_fd.hpp"

namespace nsbox {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kCopyChunk = 1 << 20;
constexpr std::size_t kBufferSize = 64 << 10;
constexpr const char* kLimitFiles = "limit: max_files";
constexpr const char* kLimitBytes = "limit: max_bytes";
constexpr const char* kLimitDepth = "limit: max_depth";

template <class T>
using SysResult = tl::expected<T, int>;  // the error is an errno value

struct DirCloser {
    void operator()(DIR* dir) const noexcept { ::closedir(dir); }
};
using DirPtr = std::unique_ptr<DIR, DirCloser>;

struct Walk {
    explicit Walk(const ExportLimits& l) : limits(l), buffer(kBufferSize) {}

    const ExportLimits& limits;
    ExportSummary summary;
    std::uint64_t entries = 0;  // files, directories and symlinks written, for max_files
    std::vector<char> buffer;   // shared by every read/write fallback copy
};

std::string join(const std::string& rel, const std::string& name) {
    return rel.empty() ? name : rel + "/" + name;
}

void skip(Walk& walk, const std::string& rel, std::string reason) {
    walk.summary.skipped.push_back(ExportSkip{rel, std::move(reason)});
}

void skip_errno(Walk& walk, const std::string& rel, int err) {
    skip(walk, rel, std::strerror(err));
}

bool files_limit_reached(Walk& walk, const std::string& rel) {
    if (walk.entries < walk.limits.max_files) return false;
    skip(walk, rel, kLimitFiles);
    return true;
}

// Opens "." afresh rather than reading through a dup, so the listing starts at the beginning no
// matter how far the caller's fd has been read, and leaves the caller's offset alone.
SysResult<std::vector<std::string>> list_names(int dirfd) {
    UniqueFd fd(::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return tl::make_unexpected(errno);
    DirPtr dir(::fdopendir(fd.get()));
    if (!dir) return tl::make_unexpected(errno);
    static_cast<void>(fd.release());  // now owned by `dir`

    std::vector<std::string> names;
    errno = 0;
    while (const dirent* entry = ::readdir(dir.get())) {
        const std::string_view name = entry->d_name;
        if (name != "." && name != "..") names.emplace_back(name);
        errno = 0;
    }
    if (errno != 0) return tl::make_unexpected(errno);
    std::sort(names.begin(), names.end());
    return names;
}

// Removes whatever `name` is in the destination (a symlink is removed, never followed; a directory
// only if empty). Returns 0 when the name is free, else errno.
int remove_dest_entry(int dst_dir, const char* name) {
    struct stat st {};
    if (::fstatat(dst_dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return errno == ENOENT ? 0 : errno;
    const int flags = S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0;
    if (::unlinkat(dst_dir, name, flags) != 0 && errno != ENOENT) return errno;
    return 0;
}

// The name is always freed first and then created exclusively: O_TRUNC on an existing file could
// write through a hard link to a file outside the destination.
SysResult<UniqueFd> create_dest_file(int dst_dir, const char* name) {
    if (const int err = remove_dest_entry(dst_dir, name); err != 0) return tl::make_unexpected(err);
    UniqueFd fd(::openat(dst_dir, name,
                         O_WRONLY | O_CREAT | O_EXCL | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) return tl::make_unexpected(errno);
    return fd;
}

// A directory that already exists is reused; anything else at the name is replaced.
SysResult<UniqueFd> open_dest_dir(int dst_dir, const char* name) {
    struct stat st {};
    if (::fstatat(dst_dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)) {
        if (::unlinkat(dst_dir, name, 0) != 0 && errno != ENOENT) return tl::make_unexpected(errno);
    }
    if (::mkdirat(dst_dir, name, 0700) != 0 && errno != EEXIST) return tl::make_unexpected(errno);
    // O_NOFOLLOW: something may have swapped a symlink in since the checks above.
    UniqueFd fd(::openat(dst_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return tl::make_unexpected(errno);
    // A reused directory may be read-only from an earlier export; it gets its mode back at the end.
    if (::fstat(fd.get(), &st) == 0 && (st.st_mode & S_IRWXU) != S_IRWXU) {
        static_cast<void>(::fchmod(fd.get(), (st.st_mode & 0777) | S_IRWXU));
    }
    return fd;
}

bool write_all(int fd, const char* data, std::size_t len) {
    while (len > 0) {
        const ssize_t n = ::write(fd, data, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data += n;
        len -= static_cast<std::size_t>(n);
    }
    return true;
}

ssize_t copy_chunk_rw(int src, int dst, std::size_t want, std::vector<char>& buffer) {
    ssize_t n = 0;
    do {
        n = ::read(src, buffer.data(), std::min(want, buffer.size()));
    } while (n < 0 && errno == EINTR);
    if (n > 0 && !write_all(dst, buffer.data(), static_cast<std::size_t>(n))) return -1;
    return n;
}

// Copies until EOF but fails with EFBIG once more than `budget` bytes arrive, so a file that grew
// after it was measured cannot push the total past max_bytes.
SysResult<std::uint64_t> copy_content(int src, int dst, std::uint64_t budget, Walk& walk) {
    std::uint64_t copied = 0;
    bool kernel_copy = true;
    for (;;) {
        const std::uint64_t left = budget - copied;
        const std::size_t want =
            left >= kCopyChunk ? kCopyChunk : static_cast<std::size_t>(left + 1);
        ssize_t n = 0;
        if (kernel_copy) {
            n = ::copy_file_range(src, nullptr, dst, nullptr, want, 0);
            // Any failure (EXDEV across filesystems, ENOSYS, ...) and a suspicious first 0 fall
            // back to read/write, which reports the real error if there is one.
            if (n < 0 || (n == 0 && copied == 0)) {
                kernel_copy = false;
                continue;
            }
        } else {
            n = copy_chunk_rw(src, dst, want, walk.buffer);
            if (n < 0) return tl::make_unexpected(errno);
        }
        if (n == 0) return copied;
        copied += static_cast<std::uint64_t>(n);
        if (copied > budget) return tl::make_unexpected(EFBIG);
    }
}

// Opens the source and re-checks its type on the fd, since the name may have been swapped after
// fstatat; O_NONBLOCK keeps a fifo swapped in from blocking the open.
SysResult<UniqueFd> open_source_file(int src_dir, const char* name, struct stat& st) {
    UniqueFd fd(::openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (!fd) return tl::make_unexpected(errno);
    if (::fstat(fd.get(), &st) != 0) return tl::make_unexpected(errno);
    if (!S_ISREG(st.st_mode)) return tl::make_unexpected(EINVAL);
    return fd;
}

void export_file(Walk& walk, int src_dir, int dst_dir, const std::string& name,
                 const std::string& rel) {
    if (files_limit_reached(walk, rel)) return;
    struct stat st {};
    auto src = open_source_file(src_dir, name.c_str(), st);
    if (!src) return skip_errno(walk, rel, src.error());
    const std::uint64_t budget = walk.limits.max_bytes - walk.summary.bytes;
    if (static_cast<std::uint64_t>(st.st_size) > budget) return skip(walk, rel, kLimitBytes);
    auto dst = create_dest_file(dst_dir, name.c_str());
    if (!dst) return skip_errno(walk, rel, dst.error());
    auto copied = copy_content(src->get(), dst->get(), budget, walk);
    if (!copied) {
        ::unlinkat(dst_dir, name.c_str(), 0);  // no partial file left behind
        if (copied.error() == EFBIG) return skip(walk, rel, kLimitBytes);
        return skip_errno(walk, rel, copied.error());
    }
    // Set after the copy so umask cannot narrow it; setuid/setgid/sticky never leave the sandbox.
    static_cast<void>(::fchmod(dst->get(), st.st_mode & 0777));
    walk.summary.bytes += *copied;
    walk.summary.written.push_back(rel);
    ++walk.entries;
}

// The target is copied verbatim: it is only data here and is never resolved.
void export_symlink(Walk& walk, int src_dir, int dst_dir, const std::string& name,
                    const std::string& rel) {
    if (files_limit_reached(walk, rel)) return;
    std::array<char, PATH_MAX + 1> target{};
    const ssize_t n = ::readlinkat(src_dir, name.c_str(), target.data(), target.size());
    if (n < 0) return skip_errno(walk, rel, errno);
    if (static_cast<std::size_t>(n) >= target.size()) return skip_errno(walk, rel, ENAMETOOLONG);
    target[static_cast<std::size_t>(n)] = '\0';
    if (const int err = remove_dest_entry(dst_dir, name.c_str()); err != 0) {
        return skip_errno(walk, rel, err);
    }
    if (::symlinkat(target.data(), dst_dir, name.c_str()) != 0) return skip_errno(walk, rel, errno);
    walk.summary.written.push_back(rel);
    ++walk.entries;
}

void export_tree(Walk& walk, int src_dir, int dst_dir, const std::string& rel, int depth);

// `depth` counts directories below the workspace root; it bounds recursion, and with it the
// stack and the two fds held per level.
void export_subdir(Walk& walk, int src_dir, int dst_dir, const std::string& name,
                   const std::string& rel, int depth) {
    if (depth > walk.limits.max_depth) return skip(walk, rel, kLimitDepth);
    if (files_limit_reached(walk, rel)) return;
    UniqueFd src(::openat(src_dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!src) return skip_errno(walk, rel, errno);
    struct stat st {};
    if (::fstat(src.get(), &st) != 0) return skip_errno(walk, rel, errno);
    auto dst = open_dest_dir(dst_dir, name.c_str());
    if (!dst) return skip_errno(walk, rel, dst.error());
    ++walk.entries;
    export_tree(walk, src.get(), dst->get(), rel, depth);
    // Applied last so that a read-only directory could still be filled. Best effort: the
    // contents are exported either way.
    static_cast<void>(::fchmod(dst->get(), st.st_mode & 0777));
}

void export_entry(Walk& walk, int src_dir, int dst_dir, const std::string& name,
                  const std::string& rel, int depth) {
    struct stat st {};
    if (::fstatat(src_dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        return skip_errno(walk, rel, errno);
    }
    switch (st.st_mode & S_IFMT) {
        case S_IFREG:
            return export_file(walk, src_dir, dst_dir, name, rel);
        case S_IFDIR:
            return export_subdir(walk, src_dir, dst_dir, name, rel, depth + 1);
        case S_IFLNK:
            return export_symlink(walk, src_dir, dst_dir, name, rel);
        case S_IFCHR:
            // Overlayfs marks a deleted lower file with a 0/0 character device.
            if (st.st_rdev == makedev(0, 0)) {
                walk.summary.deleted.push_back(rel);
                return;
            }
            return skip(walk, rel, "device");
        case S_IFBLK:
            return skip(walk, rel, "device");
        case S_IFIFO:
            return skip(walk, rel, "fifo");
        case S_IFSOCK:
            return skip(walk, rel, "socket");
        default:
            return skip(walk, rel, "unknown file type");
    }
}

void export_tree(Walk& walk, int src_dir, int dst_dir, const std::string& rel, int depth) {
    auto names = list_names(src_dir);
    if (!names) return skip_errno(walk, rel.empty() ? "." : rel, names.error());
    for (const std::string& name : *names) {
        export_entry(walk, src_dir, dst_dir, name, join(rel, name), depth);
    }
}

// mkdir -p: an existing component of any type is left to the next mkdir or the final open to
// reject, so a regular file in the way is reported against the full destination path.
Result<UniqueFd> open_dest_root(const fs::path& dest) {
    fs::path prefix;
    for (const fs::path& part : dest) {
        prefix /= part;
        if (part.empty()) continue;
        if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
            return fail(
                Error::from_errno(Step::kExport, "create output directory " + dest.string()));
        }
    }
    UniqueFd fd(::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd)
        return fail(Error::from_errno(Step::kExport, "open output directory " + dest.string()));
    return fd;
}

}  // namespace

Result<ExportSummary> export_changes(int upper_dirfd, const std::filesystem::path& dest,
                                     const ExportLimits& limits) {
    auto root = open_dest_root(dest);
    if (!root) return fail(std::move(root.error()));
    Walk walk(limits);
    export_tree(walk, upper_dirfd, root->get(), "", 0);
    return std::move(walk.summary);
}

}  // namespace nsbox
