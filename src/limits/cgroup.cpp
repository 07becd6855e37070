// cgroup v2 sites and sandbox cgroups (see cgroup.hpp).
#include "limits/cgroup.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>

#include "limits/systemd_scope.hpp"
#include "nsbox/units.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/sys.hpp"

namespace nsbox::limits {
namespace {

constexpr const char* kLauncherLeaf = "nsbox-launcher";
constexpr const char* kRootSubtree = "nsbox";
constexpr std::size_t kMaxControlFile = 1U << 20;
constexpr auto kEmptyWait = std::chrono::seconds(5);

std::vector<std::string_view> split(std::string_view text, char separator) {
    std::vector<std::string_view> parts;
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto end = text.find(separator, pos);
        if (end == std::string_view::npos) end = text.size();
        parts.push_back(text.substr(pos, end - pos));
        pos = end + 1;
    }
    return parts;
}

std::optional<std::string> read_file(const std::string& path) {
    auto text = util::read_small_file(path, kMaxControlFile);
    if (!text) return std::nullopt;
    return std::move(*text);
}

// Writes one control file; returns 0 or an errno.
int write_file(const std::string& path, std::string_view value) noexcept {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    const ssize_t n = sys::retry_eintr([&] { return ::write(fd, value.data(), value.size()); });
    const int err = n == static_cast<ssize_t>(value.size()) ? 0 : (n < 0 ? errno : EIO);
    ::close(fd);
    return err;
}

struct Controllers {
    bool cpu = false;
    bool memory = false;
    bool pids = false;
    [[nodiscard]] bool any() const { return cpu || memory || pids; }
    [[nodiscard]] std::string enable_line() const {
        std::string line;
        for (const auto& [on, name] :
             {std::pair{cpu, "+cpu"}, {memory, "+memory"}, {pids, "+pids"}})
            if (on) line += (line.empty() ? "" : " ") + std::string(name);
        return line;
    }
};

Controllers controllers_in(const std::string& file) {
    const auto text = read_file(file);
    if (!text) return {};
    return {lists_controller(*text, "cpu"), lists_controller(*text, "memory"),
            lists_controller(*text, "pids")};
}

std::string parent_of(const std::string& path) {
    const auto slash = path.find_last_of('/');
    return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

std::string base_name(const std::string& path) {
    const auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

constexpr const char* kUnifiedFix =
    "boot with the unified cgroup v2 hierarchy (systemd.unified_cgroup_hierarchy=1)";
constexpr const char* kDelegateFix =
    "run nsbox under `systemd-run --user --scope -p Delegate=yes nsbox ...`, or in a systemd "
    "unit with Delegate=yes";

SiteLookup no_site(std::string cause, std::string fix) {
    return SiteLookup{std::nullopt, std::move(cause), std::move(fix)};
}

// A delegated cgroup belongs to this user: systemd chowns it (Delegate=yes) and marks it with a
// delegate xattr, which is what root checks since root may write anywhere.
bool is_delegated(const std::string& dir) {
    if (::geteuid() != 0) {
        struct stat st {};
        return ::stat(dir.c_str(), &st) == 0 && st.st_uid == ::geteuid() &&
               ::access((dir + "/cgroup.procs").c_str(), W_OK) == 0 &&
               ::access((dir + "/cgroup.subtree_control").c_str(), W_OK) == 0;
    }
    for (const char* attr : {"trusted.delegate", "user.delegate"}) {
        char value[8] = {};
        if (::getxattr(dir.c_str(), attr, value, sizeof value - 1) > 0 && value[0] == '1')
            return true;
    }
    return false;
}

// Moves every process of `dir` into its launcher leaf; cgroup v2 allows no processes in a
// cgroup whose children have controllers. Processes forking meanwhile need another pass.
int empty_into_leaf(const std::string& dir, const std::string& leaf) {
    for (int pass = 0; pass < 8; ++pass) {
        const auto procs = read_file(dir + "/cgroup.procs");
        if (!procs) return EIO;
        if (procs->find_first_not_of(" \n") == std::string::npos) return 0;
        for (const std::string_view pid : split(*procs, '\n')) {
            if (pid.empty()) continue;
            const int err = write_file(leaf + "/cgroup.procs", pid);
            if (err != 0 && err != ESRCH) return err;
        }
    }
    return EBUSY;
}

// `how` names where the delegation came from when it is not simply the cgroup nsbox was in.
SiteLookup prepare_delegated(const Cgroup2Mount& mount, const std::string& dir,
                             const std::string& shown, const std::string& how = {}) {
    const Controllers available = controllers_in(dir + "/cgroup.controllers");
    if (!available.any())
        return no_site(fmt::format("the delegated cgroup {} has no cpu, memory or pids "
                                   "controller (its parent does not pass them down)",
                                   shown),
                       "delegate them: Delegate=cpu memory pids in the systemd unit");
    const std::string leaf = dir + "/" + kLauncherLeaf;
    if (::mkdir(leaf.c_str(), 0755) != 0 && errno != EEXIST)
        return no_site(fmt::format("cannot create {}: {}", leaf, std::strerror(errno)),
                       kDelegateFix);
    if (const int err = empty_into_leaf(dir, leaf); err != 0)
        return no_site(fmt::format("cannot move the processes of the delegated cgroup {} into "
                                   "{}: {}",
                                   shown, kLauncherLeaf, std::strerror(err)),
                       kDelegateFix);
    if (const int err = write_file(dir + "/cgroup.subtree_control", available.enable_line());
        err != 0)
        return no_site(fmt::format("cannot enable {} in {}: {}", available.enable_line(), shown,
                                   std::strerror(err)),
                       kDelegateFix);
    const Controllers enabled = controllers_in(dir + "/cgroup.subtree_control");
    return SiteLookup{CgroupSite{mount.point, dir, how.empty() ? "delegated cgroup " + shown : how,
                                 enabled.cpu, enabled.memory, enabled.pids},
                      {},
                      {}};
}

SiteLookup prepare_root_subtree(const Cgroup2Mount& mount, const Controllers& available) {
    const std::string line = available.enable_line();
    if (const int err = write_file(mount.point + "/cgroup.subtree_control", line); err != 0)
        return no_site(
            fmt::format("cannot enable {} in {}: {}", line, mount.point, std::strerror(err)),
            kUnifiedFix);
    const std::string subtree = mount.point + "/" + kRootSubtree;
    if (::mkdir(subtree.c_str(), 0755) != 0 && errno != EEXIST)
        return no_site(fmt::format("cannot create {}: {}", subtree, std::strerror(errno)),
                       kUnifiedFix);
    if (const int err = write_file(subtree + "/cgroup.subtree_control", line); err != 0)
        return no_site(fmt::format("cannot enable {} in {}: {}", line, subtree, std::strerror(err)),
                       kUnifiedFix);
    const Controllers enabled = controllers_in(subtree + "/cgroup.subtree_control");
    return SiteLookup{CgroupSite{mount.point, subtree, "cgroup2 subtree " + subtree, enabled.cpu,
                                 enabled.memory, enabled.pids},
                      {},
                      {}};
}

// This process's cgroup: its path in the hierarchy and its directory under the mount.
struct OwnCgroup {
    std::string path;
    std::string dir;
};

std::optional<OwnCgroup> own_cgroup(const Cgroup2Mount& mount) {
    const auto proc_cgroup = read_file("/proc/self/cgroup");
    auto own = proc_cgroup ? parse_unified_path(*proc_cgroup) : std::nullopt;
    if (!own) return std::nullopt;
    if (mount.root != "/" && own->rfind(mount.root, 0) == 0) own = own->substr(mount.root.size());
    return OwnCgroup{*own, *own == "/" ? mount.point : mount.point + *own};
}

SiteLookup discover() {
    const auto mountinfo = read_file("/proc/self/mountinfo");
    const auto mount = mountinfo ? parse_cgroup2_mount(*mountinfo) : std::nullopt;
    if (!mount) return no_site("no cgroup v2 hierarchy is mounted", kUnifiedFix);
    const Controllers at_root = controllers_in(mount->point + "/cgroup.controllers");
    if (!at_root.any())
        return no_site(fmt::format("the cgroup v2 hierarchy at {} has no cpu, memory or pids "
                                   "controller (this host binds them to cgroup v1)",
                                   mount->point),
                       kUnifiedFix);
    const auto own = own_cgroup(*mount);
    if (!own) return no_site("this process is in no cgroup v2 cgroup", kUnifiedFix);

    // A launcher leaf made by an earlier run in this cgroup: its parent is the site.
    if (base_name(own->dir) == kLauncherLeaf && is_delegated(parent_of(own->dir)))
        return prepare_delegated(*mount, parent_of(own->dir), parent_of(own->path));
    if (own->path != "/" && is_delegated(own->dir))
        return prepare_delegated(*mount, own->dir, own->path);

    if (::geteuid() == 0) return prepare_root_subtree(*mount, at_root);
    // Not delegated: ask the user's systemd manager for a scope that is, and move there.
    const ScopeAttempt scope = join_systemd_scope();
    if (scope.joined) {
        const auto moved = own_cgroup(*mount);
        if (moved && moved->path != own->path && is_delegated(moved->dir))
            return prepare_delegated(*mount, moved->dir, moved->path,
                                     fmt::format("systemd scope {} (Delegate=yes)", scope.unit));
        return no_site(fmt::format("systemd made the scope {}, but nsbox is not in a delegated "
                                   "cgroup there ({})",
                                   scope.unit, moved ? moved->path : "no cgroup"),
                       kDelegateFix);
    }
    struct stat st {};
    const unsigned owner = ::stat(own->dir.c_str(), &st) == 0 ? st.st_uid : 0;
    return no_site(fmt::format("your cgroup {} is not delegated to you (owned by uid {}) and {}",
                               own->path, owner, scope.cause),
                   scope.fix.empty() ? kDelegateFix : scope.fix);
}

std::atomic<unsigned> g_sandbox_counter{0};

// The janitor: outlives the launcher, and removes the sandbox's cgroup unless the launcher
// says it has (one byte on the pipe) before going away. Only async-signal-safe calls: it is
// forked from a possibly multi-threaded process.
[[noreturn]] void janitor_main(int pipe_fd, const char* kill_file, const char* events_file,
                               const char* dir) noexcept {
    ::setsid();
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    for (int sig : {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGPIPE, SIGUSR1, SIGUSR2})
        ::sigaction(sig, &ignore, nullptr);
    // Holding none of the launcher's fds: a caller reading nsbox's output sees EOF when nsbox
    // exits, not when the janitor does.
    const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int fd = 0; fd < 3 && null_fd >= 0; ++fd) ::dup2(null_fd, fd);
    if (::dup2(pipe_fd, 3) != 3) ::_exit(1);
    sys::close_range(4, ~0U, 0);
    char word = 0;
    if (sys::retry_eintr([&] { return ::read(3, &word, 1); }) == 1) ::_exit(0);
    // The launcher died without removing the cgroup: kill what is left, wait, remove it.
    const int kill_fd = ::open(kill_file, O_WRONLY | O_CLOEXEC);
    if (kill_fd >= 0) {
        (void)::write(kill_fd, "1", 1);
        ::close(kill_fd);
    }
    for (int tries = 0; tries < 200; ++tries) {
        char events[256] = {};
        const int fd = ::open(events_file, O_RDONLY | O_CLOEXEC);
        if (fd < 0) break;
        const ssize_t n = ::read(fd, events, sizeof events - 1);
        ::close(fd);
        if (n > 0 && std::strstr(events, "populated 0") != nullptr) break;
        const timespec pause{0, 50'000'000};
        ::nanosleep(&pause, nullptr);
    }
    ::rmdir(dir);
    ::_exit(0);
}

}  // namespace

SiteLookup find_cgroup_site() {
    static const SiteLookup lookup = discover();
    return lookup;
}

Result<SandboxCgroup> SandboxCgroup::create(const CgroupSite& site, const CgroupLimits& limits) {
    SandboxCgroup cg;
    for (int attempt = 0;; ++attempt) {
        cg.path_ = fmt::format("{}/sandbox-{}-{}", site.parent, ::getpid(), g_sandbox_counter++);
        if (::mkdir(cg.path_.c_str(), 0755) == 0) break;
        if (errno != EEXIST || attempt > 100) {
            cg.removed_ = true;
            return fail(Error::from_errno(Step::kCgroup, "create cgroup " + cg.path_));
        }
    }
    // The janitor is a grandchild: it never becomes this process's zombie, and outlives it.
    const std::string kill_file = cg.path_ + "/cgroup.kill";
    const std::string events_file = cg.path_ + "/cgroup.events";
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
        return fail(Error::from_errno(Step::kCgroup, "pipe for the cgroup janitor"));
    UniqueFd read_end{pipe_fds[0]};
    cg.janitor_pipe_.reset(pipe_fds[1]);
    const pid_t middle = ::fork();
    if (middle < 0) return fail(Error::from_errno(Step::kCgroup, "fork the cgroup janitor"));
    if (middle == 0) {
        if (::fork() == 0)
            janitor_main(read_end.get(), kill_file.c_str(), events_file.c_str(), cg.path_.c_str());
        ::_exit(0);
    }
    read_end.reset();
    sys::retry_eintr([&] { return ::waitpid(middle, nullptr, 0); });

    cg.dir_.reset(::open(cg.path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!cg.dir_) return fail(Error::from_errno(Step::kCgroup, "open cgroup " + cg.path_));
    auto set = [&](const char* file, const std::string& value, bool optional) -> Result<void> {
        const int err = write_file(cg.path_ + "/" + file, value);
        if (err == 0 || (optional && err == ENOENT)) return {};
        return fail(Error::system(Step::kCgroup, err,
                                  fmt::format("set {} to {} in {}", file, value, cg.path_)));
    };
    if (limits.memory != 0 && site.memory) {
        if (auto r = set("memory.max", std::to_string(limits.memory), false); !r)
            return fail(r.error());
        // Swap would let the sandbox exceed memory.max; without swap accounting the file is
        // absent and there is nothing to close.
        if (auto r = set("memory.swap.max", "0", true); !r) return fail(r.error());
        // One out-of-memory kill takes the whole sandbox, so nothing half-dead lingers.
        if (auto r = set("memory.oom.group", "1", false); !r) return fail(r.error());
    }
    if (limits.pids != 0 && site.pids) {
        if (auto r = set("pids.max", std::to_string(limits.pids), false); !r)
            return fail(r.error());
    }
    if (limits.cpus_milli != 0 && site.cpu) {
        constexpr std::uint64_t kPeriodUs = 100'000;
        const std::uint64_t quota = limits.cpus_milli * kPeriodUs / 1000;
        if (auto r = set("cpu.max", fmt::format("{} {}", quota, kPeriodUs), false); !r)
            return fail(r.error());
    }
    return cg;
}

SandboxCgroup::SandboxCgroup(SandboxCgroup&& other) noexcept
    : path_(std::move(other.path_)),
      dir_(std::move(other.dir_)),
      janitor_pipe_(std::move(other.janitor_pipe_)),
      removed_(std::exchange(other.removed_, true)) {}

SandboxCgroup::~SandboxCgroup() { destroy(); }

std::optional<std::uint64_t> SandboxCgroup::cpu_usage_us() const {
    const auto stat = read_file(path_ + "/cpu.stat");
    return stat ? flat_key_value(*stat, "usage_usec") : std::nullopt;
}

void SandboxCgroup::read_usage(ResourceUsage& usage) const {
    if (const auto stat = read_file(path_ + "/cpu.stat")) {
        usage.cpu_user_us = flat_key_value(*stat, "user_usec");
        usage.cpu_system_us = flat_key_value(*stat, "system_usec");
        usage.cpu_throttled_us = flat_key_value(*stat, "throttled_usec");
        usage.cpu_throttled_periods = flat_key_value(*stat, "nr_throttled");
    }
    if (const auto peak = read_file(path_ + "/memory.peak")) {
        usage.peak_memory_bytes = parse_count_line(*peak);
        usage.peak_memory_source = "memory.peak";
    }
    if (const auto events = read_file(path_ + "/memory.events"))
        usage.oom_kills = flat_key_value(*events, "oom_kill");
    if (const auto peak = read_file(path_ + "/pids.peak"))
        usage.pids_peak = parse_count_line(*peak);
}

void SandboxCgroup::destroy() noexcept {
    if (removed_) return;
    removed_ = true;
    if (write_file(path_ + "/cgroup.kill", "1") == ENOENT) {
        // Before Linux 5.14: kill the members one by one (the sandbox's init is among them, and
        // its death takes its pid namespace along).
        if (const auto procs = read_file(path_ + "/cgroup.procs")) {
            for (const std::string_view line : split(*procs, '\n'))
                if (const auto pid = parse_count_line(line); pid && *pid > 0)
                    ::kill(static_cast<pid_t>(*pid), SIGKILL);
        }
    }
    // cgroup.events signals POLLPRI when "populated" changes.
    UniqueFd events{::open((path_ + "/cgroup.events").c_str(), O_RDONLY | O_CLOEXEC)};
    const auto deadline = std::chrono::steady_clock::now() + kEmptyWait;
    while (events && std::chrono::steady_clock::now() < deadline) {
        char text[256] = {};
        if (::pread(events.get(), text, sizeof text - 1, 0) <= 0) break;
        if (std::strstr(text, "populated 0") != nullptr) break;
        pollfd pfd{events.get(), POLLPRI, 0};
        ::poll(&pfd, 1, 100);
    }
    dir_.reset();
    if (::rmdir(path_.c_str()) != 0 && errno != ENOENT) {
        // Still populated: the janitor keeps trying after this process is gone.
        log::warn("could not remove cgroup {}: {}", path_, std::strerror(errno));
        janitor_pipe_.reset();
        return;
    }
    if (janitor_pipe_) (void)::write(janitor_pipe_.get(), "d", 1);
    janitor_pipe_.reset();
}

std::optional<Cgroup2Mount> parse_cgroup2_mount(std::string_view mountinfo) {
    // "36 25 0:31 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw": fields before " - ",
    // then the filesystem type.
    for (const std::string_view line : split(mountinfo, '\n')) {
        const auto dash = line.find(" - ");
        if (dash == std::string_view::npos) continue;
        if (line.substr(dash + 3).rfind("cgroup2 ", 0) != 0) continue;
        const std::vector<std::string_view> fields = split(line.substr(0, dash), ' ');
        if (fields.size() < 5) continue;
        return Cgroup2Mount{std::string(fields[4]), std::string(fields[3])};
    }
    return std::nullopt;
}

std::optional<std::string> parse_unified_path(std::string_view proc_cgroup) {
    for (const std::string_view line : split(proc_cgroup, '\n'))
        if (line.rfind("0::", 0) == 0) return std::string(line.substr(3));
    return std::nullopt;
}

std::optional<std::uint64_t> flat_key_value(std::string_view text, std::string_view key) {
    for (const std::string_view line : split(text, '\n')) {
        if (line.size() > key.size() && line.substr(0, key.size()) == key &&
            line[key.size()] == ' ')
            return parse_count_line(line.substr(key.size() + 1));
    }
    return std::nullopt;
}

std::optional<std::uint64_t> parse_count_line(std::string_view text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
    return parse_count(text);
}

bool lists_controller(std::string_view text, std::string_view name) {
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto start = text.find_first_not_of(" \n", pos);
        if (start == std::string_view::npos) return false;
        auto end = text.find_first_of(" \n", start);
        if (end == std::string_view::npos) end = text.size();
        if (text.substr(start, end - start) == name) return true;
        pos = end;
    }
    return false;
}

}  // namespace nsbox::limits
