// Landlock ruleset planning (parent) and enforcement (child); see landlock.hpp. The constants
// are the kernel's stable UAPI values, defined here because Debian 12's headers stop at ABI 3.
#include "security/landlock.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace nsbox::security {
namespace {

constexpr long kSysCreateRuleset = 444;  // the same number on every architecture
constexpr long kSysAddRule = 445;
constexpr long kSysRestrictSelf = 446;
constexpr unsigned kCreateRulesetVersion = 1U << 0;
constexpr int kRulePathBeneath = 1;

constexpr std::uint64_t kExecute = 1ULL << 0;
constexpr std::uint64_t kWriteFile = 1ULL << 1;
constexpr std::uint64_t kReadFile = 1ULL << 2;
constexpr std::uint64_t kReadDir = 1ULL << 3;
constexpr std::uint64_t kMakeChar = 1ULL << 6;
constexpr std::uint64_t kMakeBlock = 1ULL << 11;
constexpr std::uint64_t kAbi1Fs = (1ULL << 13) - 1;  // EXECUTE .. MAKE_SYM
constexpr std::uint64_t kRefer = 1ULL << 13;         // ABI 2
constexpr std::uint64_t kTruncate = 1ULL << 14;      // ABI 3
constexpr std::uint64_t kIoctlDev = 1ULL << 15;      // ABI 5
constexpr std::uint64_t kFileRights = kExecute | kWriteFile | kReadFile | kTruncate | kIoctlDev;
constexpr std::uint64_t kBindTcp = 1ULL << 0;  // ABI 4
constexpr std::uint64_t kConnectTcp = 1ULL << 1;
constexpr std::uint64_t kScopeAbstractUnix = 1ULL << 0;  // ABI 6
constexpr std::uint64_t kScopeSignal = 1ULL << 1;

struct RulesetAttr {
    std::uint64_t handled_access_fs;
    std::uint64_t handled_access_net;
    std::uint64_t scoped;
};

struct __attribute__((packed)) PathBeneathAttr {
    std::uint64_t allowed_access;
    std::int32_t parent_fd;
};

std::uint64_t handled_fs_for(int abi) {
    std::uint64_t fs = kAbi1Fs;
    if (abi >= 2) fs |= kRefer;
    if (abi >= 3) fs |= kTruncate;
    if (abi >= 5) fs |= kIoctlDev;
    return fs;
}

// What an inherited fd may be reopened with: no more than it was opened for.
std::uint64_t access_for_fd(int fd, std::uint64_t handled) noexcept {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return 0;
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0) return 0;
    const int mode = flags & O_ACCMODE;
    if (S_ISDIR(st.st_mode)) return handled & ~(kMakeChar | kMakeBlock);
    if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode)) return 0;  // pipes, sockets: not paths
    std::uint64_t access = 0;
    if (mode == O_RDONLY || mode == O_RDWR) access |= kReadFile;
    if (mode == O_WRONLY || mode == O_RDWR) access |= kWriteFile | kTruncate;
    if (S_ISCHR(st.st_mode)) access |= kIoctlDev;
    return access & handled & kFileRights;
}

int add_rule(int ruleset, int parent_fd, std::uint64_t access) noexcept {
    if (access == 0) return 0;
    PathBeneathAttr attr{access, parent_fd};
    if (::syscall(kSysAddRule, ruleset, kRulePathBeneath, &attr, 0) != 0) return errno;
    return 0;
}

}  // namespace

int landlock_abi(std::string* why) {
    const long abi = ::syscall(kSysCreateRuleset, nullptr, 0, kCreateRulesetVersion);
    if (abi > 0) return static_cast<int>(abi);
    if (why) {
        *why = errno == EOPNOTSUPP ? "Landlock is disabled at boot (lsm= kernel parameter)"
               : errno == ENOSYS   ? "this kernel is built without Landlock"
                                 : std::string("landlock_create_ruleset: ") + std::strerror(errno);
    }
    return 0;
}

Result<LandlockPlan> plan_landlock(const Spec& spec, int abi, const std::string& why) {
    LandlockPlan plan;
    if (spec.landlock.value == LandlockMode::kOff) {
        plan.state = "off (landlock.mode)";
        return plan;
    }
    if (abi <= 0) {
        if (spec.landlock.value == LandlockMode::kRequired) {
            Error e =
                Error::system(Step::kPlan, 0,
                              "landlock.mode is \"required\" but Landlock is unavailable: " + why);
            return fail(e);
        }
        plan.state = "unavailable (" + why + ")";
        return plan;
    }
    plan.abi = abi;
    plan.state = "ABI " + std::to_string(abi);
    plan.handled_fs = handled_fs_for(abi);
    if (abi >= 4 && spec.network.value == NetMode::kNone && !spec.landlock_allow_tcp.value)
        plan.handled_net = kBindTcp | kConnectTcp;  // no rules: every TCP port is refused
    if (abi >= 6) plan.scoped = kScopeAbstractUnix | kScopeSignal;

    const std::uint64_t read = kReadFile | kReadDir | kExecute;
    const std::uint64_t write = plan.handled_fs & ~(kMakeChar | kMakeBlock);
    const std::uint64_t device = (read | kWriteFile | kTruncate | kIoctlDev) & plan.handled_fs;
    plan.rules.push_back({"/", read});
    plan.rules.push_back({"/dev", device});
    plan.rules.push_back({"/proc", (read | kWriteFile) & plan.handled_fs});
    for (const char* path : {"/tmp", "/dev/shm", kSandboxHome}) plan.rules.push_back({path, write});
    if (spec.workspace_mode.value != WorkspaceMode::kReadOnly)
        plan.rules.push_back({spec.workspace_dest.value, write});
    for (const BindSpec& bind : spec.binds)
        if (!bind.read_only) plan.rules.push_back({bind.dest, write});
    for (const TmpfsSpec& tmpfs : spec.tmpfs) plan.rules.push_back({tmpfs.dest, write});
    return plan;
}

int build_ruleset(const LandlockPlan& plan, const int* fds, std::size_t fd_count, int* ruleset,
                  int* failed_rule) noexcept {
    *failed_rule = -1;
    RulesetAttr attr{plan.handled_fs, plan.handled_net, plan.scoped};
    // Older kernels accept the larger structure as long as the fields they lack are zero.
    const long fd = ::syscall(kSysCreateRuleset, &attr, sizeof attr, 0);
    if (fd < 0) return errno;
    const int rs = static_cast<int>(fd);
    for (std::size_t i = 0; i < plan.rules.size(); ++i) {
        const int dir = ::open(plan.rules[i].path.c_str(), O_PATH | O_CLOEXEC);
        if (dir < 0 && errno == ENOENT) continue;  // nothing there: nothing to allow
        int err = dir < 0 ? errno : add_rule(rs, dir, plan.rules[i].access);
        if (dir >= 0) ::close(dir);
        if (err != 0) {
            *failed_rule = static_cast<int>(i);
            ::close(rs);
            return err;
        }
    }
    for (std::size_t i = 0; i < fd_count; ++i) {
        if (const int err = add_rule(rs, fds[i], access_for_fd(fds[i], plan.handled_fs));
            err != 0) {
            ::close(rs);
            return err;
        }
    }
    *ruleset = rs;
    return 0;
}

int restrict_self(int ruleset) noexcept {
    if (::syscall(kSysRestrictSelf, ruleset, 0) != 0) return errno;
    return 0;
}

}  // namespace nsbox::security
