// nsbox-probe: runs inside a sandbox and reports what it sees and may do there as one JSON line,
// so integration tests can assert isolation from the inside (like youki's runtimetest).
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

extern char** environ;

namespace {

using nlohmann::json;

// /proc files the probe parses are small; the cap only guards against a hostile mount there.
constexpr std::size_t kMaxSmallFileBytes = std::size_t{1} << 20;
constexpr std::size_t kReadContentBytes = 4096;
// procfs and sysfs report sizes unrelated to what reading yields, so `read:` counts bytes up to
// this much and trusts st_size only beyond it.
constexpr std::uint64_t kMaxCountedBytes = std::uint64_t{16} << 20;
// Keeps seconds-to-timespec conversion far from time_t overflow.
constexpr double kMaxSeconds = 1e7;

// Owns one descriptor so that every early return closes it.
class Fd {
 public:
    explicit Fd(int fd) noexcept : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }

    [[nodiscard]] int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    // Explicit close for writers: a failing close can be the first report of a failed write.
    int close() noexcept { return ::close(std::exchange(fd_, -1)); }

 private:
    int fd_;
};

struct DirCloser {
    void operator()(DIR* dir) const noexcept { ::closedir(dir); }
};
using DirPtr = std::unique_ptr<DIR, DirCloser>;

DirPtr open_dir(const std::string& path) { return DirPtr(::opendir(path.c_str())); }

std::string errno_name(int err) {
    static constexpr std::pair<int, std::string_view> kNames[] = {
        {ENOENT, "ENOENT"},
        {EACCES, "EACCES"},
        {EPERM, "EPERM"},
        {EROFS, "EROFS"},
        {ENOTDIR, "ENOTDIR"},
        {EISDIR, "EISDIR"},
        {EEXIST, "EEXIST"},
        {EINVAL, "EINVAL"},
        {ENOSYS, "ENOSYS"},
        {EBADF, "EBADF"},
        {ENXIO, "ENXIO"},
        {ENOSPC, "ENOSPC"},
        {ELOOP, "ELOOP"},
        {EXDEV, "EXDEV"},
        {ENOTEMPTY, "ENOTEMPTY"},
        {EBUSY, "EBUSY"},
        {ENOTCONN, "ENOTCONN"},
        {ECONNREFUSED, "ECONNREFUSED"},
        {ENETUNREACH, "ENETUNREACH"},
        {EAFNOSUPPORT, "EAFNOSUPPORT"},
        {EPROTONOSUPPORT, "EPROTONOSUPPORT"},
        {ETXTBSY, "ETXTBSY"},
        {E2BIG, "E2BIG"},
        {ENOEXEC, "ENOEXEC"},
        {ESRCH, "ESRCH"},
        {EAGAIN, "EAGAIN"},
        {EINTR, "EINTR"},
        {EIO, "EIO"},
        {ENOMEM, "ENOMEM"},
        {EMFILE, "EMFILE"},
        {ENODEV, "ENODEV"},
        {ENAMETOOLONG, "ENAMETOOLONG"},
        {EOPNOTSUPP, "EOPNOTSUPP"},
        {EDQUOT, "EDQUOT"},
        {EFBIG, "EFBIG"},
    };
    for (const auto& [number, name] : kNames) {
        if (number == err) return std::string(name);
    }
    return "E" + std::to_string(err);
}

json success() { return json{{"ok", true}}; }

json failure(int err) { return json{{"ok", false}, {"errno", errno_name(err)}}; }

// Paths, environment values and file contents are arbitrary bytes, but JSON strings are UTF-8.
std::string to_utf8(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size());
    std::size_t i = 0;
    while (i < bytes.size()) {
        const auto lead = static_cast<unsigned char>(bytes[i]);
        if (lead < 0x80) {
            out += bytes[i++];
            continue;
        }
        std::size_t length = 0;
        std::uint32_t code_point = 0;
        std::uint32_t minimum = 0;
        if ((lead & 0xE0) == 0xC0) {
            length = 2;
            code_point = lead & 0x1F;
            minimum = 0x80;
        } else if ((lead & 0xF0) == 0xE0) {
            length = 3;
            code_point = lead & 0x0F;
            minimum = 0x800;
        } else if ((lead & 0xF8) == 0xF0) {
            length = 4;
            code_point = lead & 0x07;
            minimum = 0x10000;
        }
        bool valid = length != 0 && i + length <= bytes.size();
        for (std::size_t k = 1; valid && k < length; ++k) {
            const auto next = static_cast<unsigned char>(bytes[i + k]);
            valid = (next & 0xC0) == 0x80;
            code_point = (code_point << 6) | (next & 0x3F);
        }
        valid = valid && code_point >= minimum && code_point <= 0x10FFFF &&
                (code_point < 0xD800 || code_point > 0xDFFF);
        if (valid) {
            out.append(bytes.substr(i, length));
            i += length;
        } else {
            out += '?';
            ++i;
        }
    }
    return out;
}

std::string_view trim(std::string_view text) {
    constexpr std::string_view kSpace = " \t\n\r\f\v";
    const auto first = text.find_first_not_of(kSpace);
    if (first == std::string_view::npos) return {};
    const auto last = text.find_last_not_of(kSpace);
    return text.substr(first, last - first + 1);
}

std::vector<std::string_view> split(std::string_view text, char separator) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (;;) {
        const auto end = text.find(separator, start);
        if (end == std::string_view::npos) {
            parts.push_back(text.substr(start));
            return parts;
        }
        parts.push_back(text.substr(start, end - start));
        start = end + 1;
    }
}

template <class T>
std::optional<T> parse_number(std::string_view text) {
    T value{};
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || ptr != end) return std::nullopt;
    return value;
}

ssize_t read_retrying(int fd, char* buffer, std::size_t size) {
    for (;;) {
        const ssize_t n = ::read(fd, buffer, size);
        if (n >= 0 || errno != EINTR) return n;
    }
}

// Returns false with errno set; a partial write is retried because pipes may accept less.
bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return false;
        if (n == 0) {
            errno = EIO;
            return false;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

std::optional<std::string> read_small_file(const std::string& path) {
    const Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return std::nullopt;
    std::string data;
    char buffer[4096];
    while (data.size() < kMaxSmallFileBytes) {
        const ssize_t n = read_retrying(fd.get(), buffer, sizeof buffer);
        if (n < 0) return std::nullopt;
        if (n == 0) break;
        data.append(buffer, static_cast<std::size_t>(n));
    }
    return data;
}

json file_or_null(const std::string& path) {
    const auto content = read_small_file(path);
    if (!content) return nullptr;
    return to_utf8(*content);
}

json trimmed_file_or_null(const std::string& path) {
    const auto content = read_small_file(path);
    if (!content) return nullptr;
    return to_utf8(trim(*content));
}

std::optional<std::string> link_target(const std::string& path) {
    std::string buffer(256, '\0');
    for (;;) {
        const ssize_t n = ::readlink(path.c_str(), buffer.data(), buffer.size());
        if (n < 0) return std::nullopt;
        if (static_cast<std::size_t>(n) < buffer.size()) {
            buffer.resize(static_cast<std::size_t>(n));
            return buffer;
        }
        buffer.resize(buffer.size() * 2);
    }
}

timespec to_timespec(double seconds) {
    seconds = std::clamp(seconds, 0.0, kMaxSeconds);
    const double whole = std::floor(seconds);
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(whole);
    ts.tv_nsec = std::min(static_cast<long>((seconds - whole) * 1e9), 999'999'999L);
    return ts;
}

double monotonic_seconds() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

void sleep_for(double seconds) {
    timespec remaining = to_timespec(seconds);
    while (::nanosleep(&remaining, &remaining) != 0 && errno == EINTR) {
    }
}

void write_ready() { (void)write_all(STDOUT_FILENO, "ready\n"); }

// ---- actions ---------------------------------------------------------------------------------

struct Context {
    json out = json::object();
    std::optional<int> exit_code;
    std::optional<int> raise_signal;
};

struct Request {
    std::string key;  // The action exactly as given, so per-path results cannot collide.
    std::string path;
    double seconds = 0;
    int number = 0;
};

void probe_ids(Context& ctx, const Request& /*req*/) {
    ctx.out["uid"] = ::getuid();
    ctx.out["gid"] = ::getgid();
    ctx.out["euid"] = ::geteuid();
    ctx.out["egid"] = ::getegid();
    json groups = json::array();
    const int count = ::getgroups(0, nullptr);
    if (count > 0) {
        std::vector<gid_t> list(static_cast<std::size_t>(count));
        const int got = ::getgroups(count, list.data());
        for (int i = 0; i < got; ++i) groups.push_back(list[static_cast<std::size_t>(i)]);
    }
    ctx.out["groups"] = std::move(groups);
    ctx.out["uid_map"] = file_or_null("/proc/self/uid_map");
    ctx.out["gid_map"] = file_or_null("/proc/self/gid_map");
    ctx.out["setgroups"] = file_or_null("/proc/self/setgroups");
}

void probe_pid(Context& ctx, const Request& /*req*/) {
    ctx.out["pid"] = ::getpid();
    ctx.out["ppid"] = ::getppid();
    ctx.out["pid1_comm"] = trimmed_file_or_null("/proc/1/comm");
    const DirPtr dir = open_dir("/proc");
    if (!dir) {
        ctx.out["processes"] = nullptr;
        return;
    }
    std::vector<long> pids;
    while (const dirent* entry = ::readdir(dir.get())) {
        if (const auto pid = parse_number<long>(entry->d_name)) pids.push_back(*pid);
    }
    std::sort(pids.begin(), pids.end());
    json processes = json::array();
    for (const long pid : pids) {
        const auto comm = read_small_file("/proc/" + std::to_string(pid) + "/comm");
        if (!comm) continue;  // Exited since the listing; it is no longer a process to report.
        processes.push_back({{"pid", pid}, {"comm", to_utf8(trim(*comm))}});
    }
    ctx.out["processes"] = std::move(processes);
}

void probe_env(Context& ctx, const Request& /*req*/) {
    json env = json::object();
    for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
        const std::string_view text(*entry);
        const auto equals = text.find('=');
        const std::string name = to_utf8(text.substr(0, equals));
        // getenv() answers with the first duplicate, so that is the one a program would see.
        if (env.contains(name)) continue;
        env[name] = equals == std::string_view::npos ? "" : to_utf8(text.substr(equals + 1));
    }
    ctx.out["env"] = std::move(env);
}

void probe_cwd(Context& ctx, const Request& /*req*/) {
    std::string buffer(256, '\0');
    for (;;) {
        if (::getcwd(buffer.data(), buffer.size()) != nullptr) {
            ctx.out["cwd"] = to_utf8(buffer.c_str());
            return;
        }
        if (errno != ERANGE) break;
        buffer.resize(buffer.size() * 2);
    }
    // A cwd outside the sandbox root is reported as ENOENT; tests need to tell that apart.
    ctx.out["cwd"] = nullptr;
    ctx.out["cwd_errno"] = errno_name(errno);
}

void probe_hostname(Context& ctx, const Request& /*req*/) {
    utsname names{};
    if (::uname(&names) != 0) {
        ctx.out["hostname"] = nullptr;
        ctx.out["domainname"] = nullptr;
        return;
    }
    ctx.out["hostname"] = to_utf8(names.nodename);
    ctx.out["domainname"] = to_utf8(names.domainname);
}

std::optional<std::string> format_address(const sockaddr* address) {
    if (address == nullptr) return std::nullopt;
    char text[INET6_ADDRSTRLEN] = {};
    const void* raw = nullptr;
    if (address->sa_family == AF_INET) {
        raw = &reinterpret_cast<const sockaddr_in*>(address)->sin_addr;
    } else if (address->sa_family == AF_INET6) {
        raw = &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr;
    } else {
        return std::nullopt;
    }
    if (::inet_ntop(address->sa_family, raw, text, sizeof text) == nullptr) return std::nullopt;
    return std::string(text);
}

bool interface_up(const std::string& name) {
    const Fd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock) return false;
    ifreq request{};
    std::memcpy(request.ifr_name, name.data(), std::min(name.size(), sizeof request.ifr_name - 1));
    if (::ioctl(sock.get(), SIOCGIFFLAGS, &request) != 0) return false;
    return (request.ifr_flags & IFF_UP) != 0;
}

std::optional<std::string> interface_ipv4(const std::string& name) {
    const Fd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock) return std::nullopt;
    ifreq request{};
    std::memcpy(request.ifr_name, name.data(), std::min(name.size(), sizeof request.ifr_name - 1));
    if (::ioctl(sock.get(), SIOCGIFADDR, &request) != 0) return std::nullopt;
    return format_address(&request.ifr_addr);
}

void probe_net(Context& ctx, const Request& /*req*/) {
    struct Interface {
        bool up = false;
        bool flags_known = false;
        std::vector<std::string> addresses;
    };
    std::map<std::string, Interface> interfaces;
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) == 0) {
        for (const ifaddrs* item = list; item != nullptr; item = item->ifa_next) {
            Interface& entry = interfaces[item->ifa_name];
            entry.up = (item->ifa_flags & IFF_UP) != 0;
            entry.flags_known = true;
            if (auto address = format_address(item->ifa_addr)) {
                entry.addresses.push_back(std::move(*address));
            }
        }
        ::freeifaddrs(list);
    }
    // getifaddrs fails outright where netlink is unavailable; /proc/net/dev still names links.
    if (const auto dev = read_small_file("/proc/net/dev")) {
        const auto lines = split(*dev, '\n');
        for (std::size_t i = 2; i < lines.size(); ++i) {
            const auto colon = lines[i].find(':');
            if (colon == std::string_view::npos) continue;
            const std::string name(trim(lines[i].substr(0, colon)));
            Interface& entry = interfaces[name];
            if (entry.flags_known) continue;
            entry.up = interface_up(name);
            // The default seccomp policy refuses netlink sockets; ioctl still gives IPv4.
            if (auto address = interface_ipv4(name)) entry.addresses.push_back(std::move(*address));
        }
    }
    json result = json::array();
    for (const auto& [name, entry] : interfaces) {
        result.push_back(
            {{"name", to_utf8(name)}, {"up", entry.up}, {"addresses", entry.addresses}});
    }
    ctx.out["interfaces"] = std::move(result);
}

void probe_fds(Context& ctx, const Request& /*req*/) {
    const DirPtr dir = open_dir("/proc/self/fd");
    if (!dir) {
        ctx.out["fds"] = nullptr;
        return;
    }
    const int listing_fd = ::dirfd(dir.get());
    json fds = json::object();
    while (const dirent* entry = ::readdir(dir.get())) {
        const auto fd = parse_number<int>(entry->d_name);
        if (!fd || *fd == listing_fd) continue;
        const auto target = link_target(std::string("/proc/self/fd/") + entry->d_name);
        fds[std::to_string(*fd)] = target ? json(to_utf8(*target)) : json(nullptr);
    }
    ctx.out["fds"] = std::move(fds);
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_octal(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const bool escaped = text[i] == '\\' && i + 3 < text.size();
        if (escaped && std::all_of(text.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                                   text.begin() + static_cast<std::ptrdiff_t>(i) + 4,
                                   [](char c) { return c >= '0' && c <= '7'; })) {
            out += static_cast<char>(((text[i + 1] - '0') << 6) | ((text[i + 2] - '0') << 3) |
                                     (text[i + 3] - '0'));
            i += 3;
        } else {
            out += text[i];
        }
    }
    return out;
}

// Per-mount flags come first; super options repeating one of them (typically rw/ro) are dropped.
std::string merge_options(std::string_view mount_options, std::string_view super_options) {
    std::vector<std::string_view> merged;
    for (const auto source : {mount_options, super_options}) {
        for (const auto option : split(source, ',')) {
            if (option.empty()) continue;
            if (std::find(merged.begin(), merged.end(), option) == merged.end()) {
                merged.push_back(option);
            }
        }
    }
    std::string out;
    for (const auto option : merged) {
        if (!out.empty()) out += ',';
        out.append(option);
    }
    return out;
}

void probe_mounts(Context& ctx, const Request& /*req*/) {
    const auto info = read_small_file("/proc/self/mountinfo");
    if (!info) {
        ctx.out["mounts"] = nullptr;
        return;
    }
    json mounts = json::array();
    for (const auto line : split(*info, '\n')) {
        // Split on single spaces, keeping empty fields: an empty mount source is legal.
        const auto fields = split(line, ' ');
        const auto separator = std::find(fields.begin() + std::min<std::size_t>(6, fields.size()),
                                         fields.end(), std::string_view("-"));
        if (separator == fields.end() || fields.end() - separator < 4) continue;
        mounts.push_back({
            {"target", to_utf8(unescape_octal(fields[4]))},
            {"fstype", to_utf8(unescape_octal(separator[1]))},
            {"source", to_utf8(unescape_octal(separator[2]))},
            {"options", to_utf8(merge_options(fields[5], separator[3]))},
        });
    }
    ctx.out["mounts"] = std::move(mounts);
}

void probe_status(Context& ctx, const Request& /*req*/) {
    constexpr std::array<std::string_view, 7> kWanted = {"CapInh", "CapPrm",     "CapEff", "CapBnd",
                                                         "CapAmb", "NoNewPrivs", "Seccomp"};
    json status = json::object();
    if (const auto text = read_small_file("/proc/self/status")) {
        for (const auto line : split(*text, '\n')) {
            const auto colon = line.find(':');
            if (colon == std::string_view::npos) continue;
            const auto name = line.substr(0, colon);
            if (std::find(kWanted.begin(), kWanted.end(), name) == kWanted.end()) continue;
            status[std::string(name)] = to_utf8(trim(line.substr(colon + 1)));
        }
    }
    ctx.out["status"] = std::move(status);
}

json tty_nr() {
    const auto stat = read_small_file("/proc/self/stat");
    if (!stat) return nullptr;
    // comm (field 2) may contain spaces and parentheses; only the last ')' ends it reliably.
    const auto close = stat->rfind(')');
    if (close == std::string::npos) return nullptr;
    const auto fields = split(trim(std::string_view(*stat).substr(close + 1)), ' ');
    // fields[0] is field 3 (state), so field 7 (tty_nr) is fields[4].
    if (fields.size() < 5) return nullptr;
    const auto value = parse_number<long long>(fields[4]);
    if (!value) return nullptr;
    return *value;
}

void probe_session(Context& ctx, const Request& /*req*/) {
    ctx.out["sid"] = ::getsid(0);
    ctx.out["pgid"] = ::getpgrp();
    ctx.out["tty_nr"] = tty_nr();
    ctx.out["isatty"] = {::isatty(STDIN_FILENO) == 1, ::isatty(STDOUT_FILENO) == 1,
                         ::isatty(STDERR_FILENO) == 1};
    const Fd tty(::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC));
    ctx.out["dev_tty"] = tty ? success() : failure(errno);
}

void probe_read(Context& ctx, const Request& req) {
    const Fd fd(::open(req.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        ctx.out[req.key] = failure(errno);
        return;
    }
    std::string content;
    char buffer[kReadContentBytes];
    bool at_eof = false;
    while (content.size() < kReadContentBytes) {
        const ssize_t n = read_retrying(fd.get(), buffer, kReadContentBytes - content.size());
        if (n < 0) {
            ctx.out[req.key] = failure(errno);
            return;
        }
        if (n == 0) {
            at_eof = true;
            break;
        }
        content.append(buffer, static_cast<std::size_t>(n));
    }
    std::uint64_t size = content.size();
    struct stat info {};
    // Only regular files are read past the content: devices and pipes may never end or block.
    if (!at_eof && ::fstat(fd.get(), &info) == 0 && S_ISREG(info.st_mode)) {
        for (;;) {
            const ssize_t n = read_retrying(fd.get(), buffer, sizeof buffer);
            if (n <= 0) break;
            size += static_cast<std::uint64_t>(n);
            if (size >= kMaxCountedBytes) {
                size = std::max(size, static_cast<std::uint64_t>(info.st_size));
                break;
            }
        }
    }
    ctx.out[req.key] = {{"ok", true}, {"content", to_utf8(content)}, {"size", size}};
}

json write_marker(const std::string& path, int flags) {
    Fd fd(::open(path.c_str(), flags | O_CLOEXEC, 0644));
    if (!fd) return failure(errno);
    if (!write_all(fd.get(), "probe\n")) return failure(errno);
    if (fd.close() != 0) return failure(errno);
    return success();
}

void probe_write(Context& ctx, const Request& req) {
    ctx.out[req.key] = write_marker(req.path, O_WRONLY | O_CREAT | O_TRUNC);
}

void probe_append(Context& ctx, const Request& req) {
    ctx.out[req.key] = write_marker(req.path, O_WRONLY | O_CREAT | O_APPEND);
}

void probe_ls(Context& ctx, const Request& req) {
    const DirPtr dir = open_dir(req.path);
    if (!dir) {
        ctx.out[req.key] = failure(errno);
        return;
    }
    std::vector<std::string> names;
    for (;;) {
        errno = 0;
        const dirent* entry = ::readdir(dir.get());
        if (entry == nullptr) break;
        const std::string_view name(entry->d_name);
        if (name != "." && name != "..") names.push_back(to_utf8(name));
    }
    if (errno != 0) {
        ctx.out[req.key] = failure(errno);
        return;
    }
    std::sort(names.begin(), names.end());
    ctx.out[req.key] = {{"ok", true}, {"entries", names}};
}

std::string_view file_type(mode_t mode) {
    if (S_ISREG(mode)) return "file";
    if (S_ISDIR(mode)) return "dir";
    if (S_ISLNK(mode)) return "symlink";
    if (S_ISCHR(mode)) return "char";
    if (S_ISBLK(mode)) return "block";
    if (S_ISFIFO(mode)) return "fifo";
    if (S_ISSOCK(mode)) return "socket";
    return "unknown";
}

void probe_stat(Context& ctx, const Request& req) {
    struct stat info {};
    if (::lstat(req.path.c_str(), &info) != 0) {
        ctx.out[req.key] = failure(errno);
        return;
    }
    ctx.out[req.key] = {{"ok", true},
                        {"uid", info.st_uid},
                        {"gid", info.st_gid},
                        {"mode", info.st_mode & 07777},
                        {"type", file_type(info.st_mode)}};
}

void probe_mkdir(Context& ctx, const Request& req) {
    ctx.out[req.key] = ::mkdir(req.path.c_str(), 0755) == 0 ? success() : failure(errno);
}

void probe_unlink(Context& ctx, const Request& req) {
    ctx.out[req.key] = ::unlink(req.path.c_str()) == 0 ? success() : failure(errno);
}

json limit_pair(int resource) {
    rlimit limit{};
    if (::getrlimit(resource, &limit) != 0) return nullptr;
    const auto value = [](rlim_t raw) -> std::int64_t {
        return raw == RLIM_INFINITY ? -1 : static_cast<std::int64_t>(raw);
    };
    return {value(limit.rlim_cur), value(limit.rlim_max)};
}

void probe_rlimits(Context& ctx, const Request& /*req*/) {
    ctx.out["rlimits"] = {{"nofile", limit_pair(RLIMIT_NOFILE)},
                          {"nproc", limit_pair(RLIMIT_NPROC)},
                          {"as", limit_pair(RLIMIT_AS)},
                          {"core", limit_pair(RLIMIT_CORE)}};
}

// The signals `wait-signal` catches; a spawned child must not keep a handler for them.
constexpr std::array kCaughtSignals = {SIGINT, SIGTERM, SIGHUP, SIGUSR1};

void probe_spawn(Context& ctx, const Request& req) {
    // Nothing is buffered yet, but the child must never be able to emit the parent's output.
    std::cout.flush();
    const pid_t child = ::fork();
    if (child == 0) {
        // The child keeps stdout open on purpose: a harness reading to EOF then notices when
        // the sandbox lets it outlive the probe. Default dispositions let test signals kill it.
        for (const int signo : kCaughtSignals) ::signal(signo, SIG_DFL);
        sigset_t none;
        ::sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::setsid();
        sleep_for(req.seconds);
        ::_exit(0);
    }
    if (child < 0) {
        ctx.out["spawned"] = nullptr;
        ctx.out["spawn_errno"] = errno_name(errno);
        return;
    }
    ctx.out["spawned"] = child;
}

void probe_sleep(Context& /*ctx*/, const Request& req) { sleep_for(req.seconds); }

void probe_ready(Context& /*ctx*/, const Request& /*req*/) { write_ready(); }

volatile sig_atomic_t g_caught_signal = 0;

void record_signal(int signo) {
    if (g_caught_signal == 0) g_caught_signal = signo;
}

void probe_wait_signal(Context& ctx, const Request& req) {
    sigset_t caught;
    ::sigemptyset(&caught);
    for (const int signo : kCaughtSignals) ::sigaddset(&caught, signo);
    // Blocked until ppoll() unblocks them atomically, so a signal sent right after "ready" cannot
    // slip in between checking the flag and starting to wait.
    sigset_t previous_mask;
    ::sigprocmask(SIG_BLOCK, &caught, &previous_mask);
    std::array<struct sigaction, kCaughtSignals.size()> previous_actions{};
    struct sigaction action {};
    action.sa_handler = record_signal;
    ::sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // No SA_RESTART: delivery must end the wait.
    for (std::size_t i = 0; i < kCaughtSignals.size(); ++i) {
        ::sigaction(kCaughtSignals[i], &action, &previous_actions[i]);
    }
    g_caught_signal = 0;
    write_ready();

    sigset_t waiting = previous_mask;
    for (const int signo : kCaughtSignals) ::sigdelset(&waiting, signo);
    const double deadline = monotonic_seconds() + std::min(req.seconds, kMaxSeconds);
    while (g_caught_signal == 0) {
        const double remaining = deadline - monotonic_seconds();
        if (remaining <= 0) break;
        const timespec timeout = to_timespec(remaining);
        ::ppoll(nullptr, 0, &timeout, &waiting);
    }
    ctx.out["signal"] = static_cast<int>(g_caught_signal);

    // Repeats that arrived during the wait belong to it; after it, the old dispositions apply.
    const timespec no_wait{};
    while (::sigtimedwait(&caught, nullptr, &no_wait) > 0) {
    }
    for (std::size_t i = 0; i < kCaughtSignals.size(); ++i) {
        ::sigaction(kCaughtSignals[i], &previous_actions[i], nullptr);
    }
    ::sigprocmask(SIG_SETMASK, &previous_mask, nullptr);
}

void probe_exit(Context& ctx, const Request& req) { ctx.exit_code = req.number; }

void probe_raise(Context& ctx, const Request& req) { ctx.raise_signal = req.number; }

void probe_ping(Context& ctx, const Request& /*req*/) { ctx.out["pong"] = true; }

// ---- dispatch --------------------------------------------------------------------------------

enum class Arg { kNone, kPath, kSeconds, kExitCode, kSignal };

struct Action {
    std::string_view name;
    Arg arg;
    void (*run)(Context&, const Request&);
};

constexpr Action kActions[] = {
    {"ids", Arg::kNone, probe_ids},           {"pid", Arg::kNone, probe_pid},
    {"env", Arg::kNone, probe_env},           {"cwd", Arg::kNone, probe_cwd},
    {"hostname", Arg::kNone, probe_hostname}, {"net", Arg::kNone, probe_net},
    {"fds", Arg::kNone, probe_fds},           {"mounts", Arg::kNone, probe_mounts},
    {"status", Arg::kNone, probe_status},     {"session", Arg::kNone, probe_session},
    {"read", Arg::kPath, probe_read},         {"write", Arg::kPath, probe_write},
    {"append", Arg::kPath, probe_append},     {"ls", Arg::kPath, probe_ls},
    {"stat", Arg::kPath, probe_stat},         {"mkdir", Arg::kPath, probe_mkdir},
    {"unlink", Arg::kPath, probe_unlink},     {"rlimits", Arg::kNone, probe_rlimits},
    {"spawn", Arg::kSeconds, probe_spawn},    {"sleep", Arg::kSeconds, probe_sleep},
    {"ready", Arg::kNone, probe_ready},       {"wait-signal", Arg::kSeconds, probe_wait_signal},
    {"exit", Arg::kExitCode, probe_exit},     {"raise", Arg::kSignal, probe_raise},
    {"ping", Arg::kNone, probe_ping},
};

struct Step {
    const Action* action;
    Request request;
};

bool parse_argument(Arg kind, std::string_view text, Request& request) {
    switch (kind) {
        case Arg::kNone:
            return true;
        case Arg::kPath:
            request.path = std::string(text);
            return true;
        case Arg::kSeconds: {
            const auto seconds = parse_number<double>(text);
            if (!seconds || !std::isfinite(*seconds) || *seconds < 0) return false;
            request.seconds = *seconds;
            return true;
        }
        case Arg::kExitCode: {
            const auto code = parse_number<int>(text);
            if (!code || *code < 0 || *code > 255) return false;
            request.number = *code;
            return true;
        }
        case Arg::kSignal: {
            const auto signo = parse_number<int>(text);
            if (!signo || *signo < 1 || *signo >= NSIG) return false;
            request.number = *signo;
            return true;
        }
    }
    return false;
}

// All actions are checked before any runs, so a typo cannot leave half the side effects done.
std::optional<Step> parse_step(std::string_view text) {
    const auto colon = text.find(':');
    const auto name = text.substr(0, colon);
    for (const Action& action : kActions) {
        if (action.name != name) continue;
        if ((action.arg == Arg::kNone) != (colon == std::string_view::npos)) return std::nullopt;
        Step step{&action, Request{to_utf8(text), {}, 0, 0}};
        const auto argument = colon == std::string_view::npos ? "" : text.substr(colon + 1);
        if (!parse_argument(action.arg, argument, step.request)) return std::nullopt;
        return step;
    }
    return std::nullopt;
}

void print_line(const json& object) {
    std::cout << object.dump(-1, ' ', false, json::error_handler_t::replace) << '\n' << std::flush;
}

int finish(const Context& ctx) {
    if (ctx.raise_signal) {
        const int signo = *ctx.raise_signal;
        ::signal(signo, SIG_DFL);
        sigset_t only;
        ::sigemptyset(&only);
        ::sigaddset(&only, signo);
        ::sigprocmask(SIG_UNBLOCK, &only, nullptr);
        ::raise(signo);
        ::_exit(99);
    }
    return ctx.exit_code.value_or(0);
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<Step> steps;
    for (int i = 1; i < argc; ++i) {
        auto step = parse_step(argv[i]);
        if (!step) {
            print_line({{"error", "unknown action " + to_utf8(argv[i])}});
            return 2;
        }
        steps.push_back(std::move(*step));
    }
    Context ctx;
    for (const Step& step : steps) step.action->run(ctx, step.request);
    print_line(ctx.out);
    return finish(ctx);
}
