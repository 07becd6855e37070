// Child side: applying MountOps, staging the new root and pivoting into it.
// Everything here runs between clone and exec: no allocation, no exceptions, errno out.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>

#include "ns/mount_plan.hpp"
#include "ns/stage.hpp"
#include "util/sys.hpp"

namespace nsbox::ns {
namespace {

// mkdir -p of every parent of `path`, in a stack buffer.
int make_parents(const char* path) noexcept {
    char buf[PATH_MAX];
    const std::size_t len = std::strlen(path);
    if (len >= sizeof buf) return ENAMETOOLONG;
    std::memcpy(buf, path, len + 1);
    for (std::size_t i = 1; i < len; ++i) {
        if (buf[i] != '/') continue;
        buf[i] = '\0';
        if (::mkdir(buf, 0755) != 0 && errno != EEXIST) return errno;
        buf[i] = '/';
    }
    return 0;
}

int try_make_mount_point(const MountOp& op) noexcept {
    int err = 0;
    if (op.source_is_dir) {
        if (::mkdir(op.target.c_str(), 0755) != 0) err = errno;
    } else {
        const int fd = ::open(op.target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd >= 0) ::close(fd);
        err = fd < 0 ? errno : 0;
    }
    // An existing mount point is fine, also on a read-only filesystem (a precreated one).
    struct stat st {};
    if (err != 0 && err != ENOENT && ::lstat(op.target.c_str(), &st) == 0) return 0;
    return err;
}

// Parents usually exist already (the plan creates them in order), so they are only created
// when the first attempt says they are missing.
int make_mount_point(const MountOp& op) noexcept {
    const int err = try_make_mount_point(op);
    if (err != ENOENT) return err;
    if (const int parent_err = make_parents(op.target.c_str()); parent_err != 0) return parent_err;
    return try_make_mount_point(op);
}

// Adds attributes to a mount (recursively for binds). mount_setattr leaves flags the kernel
// locked in a user namespace alone; the remount fallback must restate them.
int set_attributes(const char* target, unsigned long ms_flags, bool read_only,
                   bool recursive) noexcept {
    mount_attr attr{};
    if (read_only) attr.attr_set |= MOUNT_ATTR_RDONLY;
    if (ms_flags & MS_NOSUID) attr.attr_set |= MOUNT_ATTR_NOSUID;
    if (ms_flags & MS_NODEV) attr.attr_set |= MOUNT_ATTR_NODEV;
    if (ms_flags & MS_NOEXEC) attr.attr_set |= MOUNT_ATTR_NOEXEC;
    if (attr.attr_set == 0) return 0;
    if (sys::mount_setattr(AT_FDCWD, target, recursive ? AT_RECURSIVE : 0, &attr) == 0) return 0;
    if (errno != ENOSYS) return errno;
    struct statvfs st {};
    if (::statvfs(target, &st) != 0) return errno;
    unsigned long flags = MS_BIND | MS_REMOUNT | ms_flags | (read_only ? MS_RDONLY : 0);
    if (st.f_flag & ST_NOSUID) flags |= MS_NOSUID;
    if (st.f_flag & ST_NODEV) flags |= MS_NODEV;
    if (st.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
    if (st.f_flag & ST_RDONLY) flags |= MS_RDONLY;
    return ::mount(nullptr, target, nullptr, flags, nullptr) == 0 ? 0 : errno;
}

int write_file(const MountOp& op) noexcept {
    const int fd =
        ::open(op.target.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, op.mode);
    if (fd < 0) return errno;
    const char* data = op.source.data();
    std::size_t left = op.source.size();
    while (left > 0) {
        const ssize_t n = ::write(fd, data, left);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int err = errno;
            ::close(fd);
            return err;
        }
        data += n;
        left -= static_cast<std::size_t>(n);
    }
    return ::close(fd) == 0 ? 0 : errno;
}

int copy_file(const MountOp& op) noexcept {
    const int in = ::open(op.source.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in < 0) return errno;
    const int out =
        ::open(op.target.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, op.mode);
    if (out < 0) {
        const int err = errno;
        ::close(in);
        return err;
    }
    int err = 0;
    for (;;) {
        const ssize_t n = ::sendfile(out, in, nullptr, 1 << 20);
        if (n == 0) break;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            err = errno;
            break;
        }
    }
    ::close(in);
    ::close(out);
    return err;
}

int do_mount(const char* source, const MountOp& op, const char* fstype) noexcept {
    return ::mount(source, op.target.c_str(), fstype, op.flags,
                   op.data.empty() ? nullptr : op.data.c_str()) == 0
               ? 0
               : errno;
}

int apply_bind(const MountOp& op) noexcept {
    if (::mount(op.source.c_str(), op.target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
        return errno;
    return set_attributes(op.target.c_str(), op.flags, op.read_only, true);
}

// open_tree + mount_setattr(MOUNT_ATTR_IDMAP) + move_mount. A filesystem without idmapped
// mount support falls back to a plain bind: the payload then has only "other" access.
int apply_idmapped_bind(const MountOp& op) noexcept {
    const int tree = sys::open_tree(AT_FDCWD, op.source.c_str(),
                                    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
    if (tree < 0) return errno;
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                    (op.read_only ? MOUNT_ATTR_RDONLY : 0);
    attr.userns_fd = static_cast<std::uint64_t>(op.userns_fd);
    if (sys::mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) != 0) {
        ::close(tree);
        return apply_bind(op);
    }
    const int err =
        sys::move_mount(tree, "", AT_FDCWD, op.target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) == 0
            ? 0
            : errno;
    ::close(tree);
    return err;
}

int apply_mask_dir(const MountOp& op) noexcept {
    return ::mount("tmpfs", op.target.c_str(), "tmpfs",
                   MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0555,size=4k") == 0
               ? 0
               : errno;
}

bool exists(const char* path) noexcept {
    struct stat st {};
    return ::lstat(path, &st) == 0;
}

int run_op(const MountOp& op) noexcept {
    switch (op.kind) {
        case MountKind::kBind:
            return apply_bind(op);
        case MountKind::kTmpfs:
            return do_mount("tmpfs", op, "tmpfs");
        case MountKind::kProc:
            return do_mount("proc", op, "proc");
        case MountKind::kDevpts:
            return do_mount("devpts", op, "devpts");
        case MountKind::kOverlay:
            return do_mount("overlay", op, "overlay");
        case MountKind::kSymlink:
            return ::symlink(op.source.c_str(), op.target.c_str()) == 0 ? 0 : errno;
        case MountKind::kMkdir:
            return ::mkdir(op.target.c_str(), op.mode) == 0 || errno == EEXIST ? 0 : errno;
        case MountKind::kFile:
            return write_file(op);
        case MountKind::kChown:
            return ::chown(op.target.c_str(), op.uid, op.gid) == 0 ? 0 : errno;
        case MountKind::kMaskFile:
            // /dev/null over the file: reads see nothing and writes are discarded, whatever the
            // mount's flags, so no second syscall to change them.
            return ::mount(op.source.c_str(), op.target.c_str(), nullptr, MS_BIND, nullptr) == 0
                       ? 0
                       : errno;
        case MountKind::kMaskDir:
            return apply_mask_dir(op);
        case MountKind::kReadOnly:
            return set_attributes(op.target.c_str(), op.flags, true, op.recursive);
        case MountKind::kIdmappedBind:
            return apply_idmapped_bind(op);
        case MountKind::kCopyFile:
            return copy_file(op);
    }
    return EINVAL;
}

bool needs_mount_point(MountKind kind) noexcept {
    switch (kind) {
        case MountKind::kBind:
        case MountKind::kIdmappedBind:
        case MountKind::kTmpfs:
        case MountKind::kProc:
        case MountKind::kDevpts:
        case MountKind::kOverlay:
            return true;
        default:
            return false;
    }
}

}  // namespace

int apply_mount(const MountOp& op, int* phase) noexcept {
    *phase = 0;
    const bool masks = op.kind == MountKind::kMaskFile || op.kind == MountKind::kMaskDir;
    if ((masks || op.optional) && !exists(op.target.c_str())) return 0;
    if (needs_mount_point(op.kind)) {
        if (const int err = make_mount_point(op); err != 0) return err;
        *phase = 1;
        return run_op(op);
    }
    *phase = 1;
    const int err = run_op(op);
    if (err != ENOENT || op.kind == MountKind::kChown || op.kind == MountKind::kReadOnly)
        return err;
    // A symlink, file or directory whose parent is missing: create the parents, then retry.
    *phase = 0;
    if (const int parent_err = make_parents(op.target.c_str()); parent_err != 0) return parent_err;
    *phase = 1;
    return run_op(op);
}

int stage_root() noexcept {
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return errno;
    if (::mount("tmpfs", kStageDir, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700,size=4m") != 0)
        return errno;
    if (::chdir(kStageDir) != 0) return errno;
    if (::mkdir("newroot", 0755) != 0 || ::mkdir("oldroot", 0755) != 0) return errno;
    // bubblewrap's first pivot: the staging tmpfs becomes / and the host root moves to
    // /oldroot, so bind sources are reachable by one fixed prefix whatever they shadow.
    if (sys::pivot_root(".", "oldroot") != 0) return errno;
    return ::chdir("/") == 0 ? 0 : errno;
}

int enter_new_root() noexcept {
    if (::chdir(kNewRoot) != 0) return errno;
    // pivot_root(".", ".") stacks the old root on top of the new one; detaching it leaves
    // nothing of the host or the staging tmpfs reachable (bubblewrap, minijail).
    if (sys::pivot_root(".", ".") != 0) return errno;
    if (::umount2(".", MNT_DETACH) != 0) return errno;
    return ::chdir("/") == 0 ? 0 : errno;
}

}  // namespace nsbox::ns
