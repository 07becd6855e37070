// The compiled-filter cache (see seccomp_cache.hpp).
#include "security/seccomp_cache.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <seccomp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>

#include "nsbox/unique_fd.hpp"
#include "util/sys.hpp"

namespace nsbox::security {
namespace {

constexpr std::string_view kMagic = "nsbox-seccomp-cache 1\n";
constexpr std::size_t kMaxEntry = 1U << 20;

// Private to this user: owned by it, and nobody else may read, write or enter.
bool private_to_me(const struct stat& st) {
    return st.st_uid == ::geteuid() && (st.st_mode & 077) == 0;
}

bool private_dir(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && private_to_me(st);
}

std::string header(const std::string& key) { return std::string(kMagic) + key + '\0'; }

std::string entry_path(const std::string& dir, const std::string& key) {
    return fmt::format("{}/seccomp-{:016x}.bpf", dir, std::hash<std::string>{}(key));
}

}  // namespace

std::string filter_cache_key(const SeccompPolicy& policy, bool notify) {
    const scmp_version* version = seccomp_version();
    struct stat self {};
    (void)::stat("/proc/self/exe", &self);
    std::string key =
        fmt::format("libseccomp {}.{}.{} arch {:x} nsbox {} {}:{} {} {}.{} action {} notify {}\n",
                    version->major, version->minor, version->micro, seccomp_arch_native(),
                    NSBOX_VERSION, self.st_dev, self.st_ino, self.st_size, self.st_mtim.tv_sec,
                    self.st_mtim.tv_nsec, static_cast<int>(policy.action), notify ? 1 : 0);
    for (const SyscallRule& rule : policy.rules)
        key += fmt::format("{} {} {} {}\n", rule.name, static_cast<int>(rule.verdict),
                           static_cast<int>(rule.condition), rule.err);
    return key;
}

std::optional<std::string> filter_cache_dir() {
    std::string base;
    if (::geteuid() == 0) {
        base = "/run";
    } else if (const char* runtime = std::getenv("XDG_RUNTIME_DIR");
               runtime != nullptr && runtime[0] == '/') {
        base = runtime;
        if (!private_dir(base)) return std::nullopt;
    } else {
        return std::nullopt;
    }
    const std::string dir = base + "/nsbox";
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return std::nullopt;
    if (!private_dir(dir)) return std::nullopt;
    return dir;
}

std::optional<std::vector<sock_filter>> load_cached_filter(const std::string& dir,
                                                           const std::string& key) {
    UniqueFd fd{::open(entry_path(dir, key).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)};
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || !private_to_me(st) ||
        st.st_size <= 0 || static_cast<std::size_t>(st.st_size) > kMaxEntry)
        return std::nullopt;
    std::string data(static_cast<std::size_t>(st.st_size), '\0');
    if (::pread(fd.get(), data.data(), data.size(), 0) != st.st_size) return std::nullopt;
    const std::string expected = header(key);
    if (data.compare(0, expected.size(), expected) != 0) return std::nullopt;
    const std::size_t bytes = data.size() - expected.size();
    if (bytes == 0 || bytes % sizeof(sock_filter) != 0 ||
        bytes / sizeof(sock_filter) > BPF_MAXINSNS)
        return std::nullopt;
    std::vector<sock_filter> program(bytes / sizeof(sock_filter));
    std::memcpy(program.data(), data.data() + expected.size(), bytes);
    return program;
}

void store_cached_filter(const std::string& dir, const std::string& key,
                         const std::vector<sock_filter>& program) {
    const std::string path = entry_path(dir, key);
    const std::string temp = fmt::format("{}.{}.tmp", path, ::getpid());
    UniqueFd fd{::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)};
    if (!fd) return;
    std::string data = header(key);
    data.append(reinterpret_cast<const char*>(program.data()),
                program.size() * sizeof(sock_filter));
    const ssize_t n = sys::retry_eintr([&] { return ::write(fd.get(), data.data(), data.size()); });
    fd.reset();
    // rename() makes the entry appear whole or not at all to concurrent launches.
    if (n != static_cast<ssize_t>(data.size()) || ::rename(temp.c_str(), path.c_str()) != 0)
        ::unlink(temp.c_str());
}

}  // namespace nsbox::security
