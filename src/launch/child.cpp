// Child side: clone -> setup steps -> fork payload -> exec (see child.hpp for the rules).
#include "launch/child.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <linux/limits.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <string_view>

#include "launch/sync.hpp"
#include "ns/stage.hpp"
#include "security/caps.hpp"
#include "security/landlock.hpp"
#include "security/seccomp_install.hpp"
#include "terminal/pty.hpp"
#include "util/sys.hpp"

namespace nsbox::launch {
namespace {

// The payload starts on a stack of its own (g_payload_stack); AddressSanitizer cannot follow
// that switch and warns before every noreturn call, so those functions are not instrumented.
#define NSBOX_ON_PAYLOAD_STACK __attribute__((no_sanitize("address")))

constexpr std::string_view kDenySetgroups = "deny\n";

[[noreturn]] NSBOX_ON_PAYLOAD_STACK void report_and_exit(int sync_fd, Step step, int err,
                                                         int index = -1, int phase = 0) noexcept {
    SyncMsg msg;
    msg.kind = MsgKind::kFailure;
    msg.step = step;
    msg.err = err;
    msg.index = index;
    msg.phase = phase;
    (void)send_msg(sync_fd, msg);
    ::_exit(125);
}

// Blocks until the parent sends `expected`; EOF means the parent is gone.
int wait_for(int sync_fd, MsgKind expected) noexcept {
    SyncMsg msg;
    int fd = -1;
    const int r = recv_msg(sync_fd, &msg, &fd);
    if (fd >= 0) ::close(fd);
    if (r == 0) ::_exit(125);
    if (r < 0) return -r;
    return msg.kind == expected ? 0 : EPROTO;
}

// The parent's end of the socket closes only when the parent dies. Checked after arming the
// parent-death signal, which would not fire for a parent that died before.
void exit_if_parent_gone(int sync_fd) noexcept {
    char byte;
    if (::recv(sync_fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0) ::_exit(125);
}

int write_proc_self(const char* file, std::string_view content) noexcept {
    const int fd = ::open(file, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    const ssize_t n = ::write(fd, content.data(), content.size());
    const int err = n == static_cast<ssize_t>(content.size()) ? 0 : (n < 0 ? errno : EIO);
    ::close(fd);
    return err;
}

// Rootless: the creator of a user namespace may map its own uid and gid into it (setgroups
// denied first), so the child does it without a round trip to the parent.
int map_own_ids(const LaunchPlan& plan) noexcept {
    if (plan.privileged_setup) return 0;
    if (const int err = write_proc_self("/proc/self/setgroups", kDenySetgroups); err != 0)
        return err;
    if (const int err = write_proc_self("/proc/self/uid_map", plan.uid_map); err != 0) return err;
    return write_proc_self("/proc/self/gid_map", plan.gid_map);
}

// The sandbox writes into nsbox's pipes, which the parent relays and counts.
int redirect_output(const LaunchPlan& plan) noexcept {
    for (const int read_end : plan.output_read_ends)
        if (read_end >= 0) ::close(read_end);
    const std::pair<int, int> streams[] = {{plan.stdout_pipe, STDOUT_FILENO},
                                           {plan.stderr_pipe, STDERR_FILENO}};
    for (const auto& [pipe_fd, target] : streams) {
        if (pipe_fd < 0) continue;
        if (pipe_fd == target) {  // nsbox started with that stream closed
            if (::fcntl(target, F_SETFD, 0) != 0) return errno;
            continue;
        }
        if (::dup2(pipe_fd, target) < 0) return errno;
        ::close(pipe_fd);
    }
    return 0;
}

int apply_mounts(const LaunchPlan& plan, int sync_fd) noexcept {
    if (const int err = ns::stage_root(); err != 0) report_and_exit(sync_fd, Step::kStageRoot, err);
    for (std::size_t i = 0; i < plan.mounts.size(); ++i) {
        int phase = 0;
        if (const int err = ns::apply_mount(plan.mounts[i], &phase); err != 0)
            report_and_exit(sync_fd, Step::kMounts, err, static_cast<int>(i), phase);
    }
    // The idmap namespace fd is only needed by the mounts above; the init must not keep it.
    if (plan.workspace_idmap) ::close(plan.workspace_idmap.get());
    if (plan.send_upper_fd) {
        const int upper = ::open(ns::kUpperDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (upper < 0) return errno;
        SyncMsg msg;
        msg.kind = MsgKind::kUpperFd;
        const int err = send_msg_with_fd(sync_fd, msg, upper);
        ::close(upper);
        return err;
    }
    return 0;
}

// Root's sandbox: everything above ran as real root; now enter a user namespace in which the
// sandbox user maps to an unprivileged host id, so the payload is never host root.
int enter_userns(const LaunchPlan& plan, int sync_fd) noexcept {
    if (!plan.privileged_setup) return 0;
    if (::setgroups(0, nullptr) != 0) return errno;
    if (::unshare(CLONE_NEWUSER) != 0) return errno;
    SyncMsg ready;
    ready.kind = MsgKind::kUsernsReady;
    if (const int err = send_msg(sync_fd, ready); err != 0) return err;
    return wait_for(sync_fd, MsgKind::kMapsDone);
}

int become_sandbox_user(int sync_fd) noexcept {
    if (::setresgid(kSandboxGid, kSandboxGid, kSandboxGid) != 0) return errno;
    if (::setresuid(kSandboxUid, kSandboxUid, kSandboxUid) != 0) return errno;
    // Changing credentials clears the parent-death signal: re-arm it, then make sure the
    // parent did not die in between (the socket would be at EOF).
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return errno;
    exit_if_parent_gone(sync_fd);
    return 0;
}

// After pivot_root the working directory must be the workspace inside the new root: a
// directory fd or cwd inherited from the host would otherwise be a way out (CVE-2024-21626).
int enter_workspace(const LaunchPlan& plan) noexcept {
    if (::chdir(plan.cwd.c_str()) != 0) return errno;
    char cwd[PATH_MAX];  // workspace.at = "same" makes long paths ordinary
    if (::getcwd(cwd, sizeof cwd) == nullptr) return errno;  // "(unreachable)" fails as ENOENT
    if (std::string_view(cwd) != plan.cwd) return EXDEV;
    return 0;
}

// Created as the sandbox user in the sandbox's devpts, so the slave belongs to the sandbox;
// nsbox gets the master, the init keeps nothing of it but the slave on 0-2 (closed at exit).
int open_terminal(const LaunchPlan& plan, int sync_fd) noexcept {
    if (!plan.pty.enabled) return 0;
    int master = -1;
    if (const int err = terminal::open_sandbox_pty(plan.pty, &master); err != 0) return err;
    SyncMsg msg;
    msg.kind = MsgKind::kTerminal;
    const int err = send_msg_with_fd(sync_fd, msg, master);
    ::close(master);
    return err;
}

// The init is a copy of the launcher: blank the launcher's argv and environment strings in its
// memory so /proc/1/cmdline (readable by anyone who sees the process) names only the init.
void scrub_own_strings(const LaunchPlan& plan) noexcept {
    constexpr char kName[] = "nsbox-init";
    if (const auto& env = plan.own_environ; env.begin)
        std::memset(env.begin, 0, env.end - env.begin);
    const auto& args = plan.own_args;
    if (!args.begin) return;
    std::memset(args.begin, 0, args.end - args.begin);
    if (static_cast<std::size_t>(args.end - args.begin) > sizeof kName)
        std::memcpy(args.begin, kName, sizeof kName);
}

int lock_down_init() noexcept {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
    // Non-dumpable: /proc/1 of the init is then owned by root inside and the payload cannot
    // open its fds, memory or /proc/1/exe (nsbox's own binary).
    if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return errno;
    // Only 0-2 and the sync socket (close-on-exec) may stay open; anything nsbox inherited
    // from its own caller is closed so it can never reach the payload.
    if (sys::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) return errno;
    return 0;
}

NSBOX_ON_PAYLOAD_STACK void reset_signals() noexcept {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) {
        if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

// Last before exec. The listener fd goes to the parent, which answers every denied call.
NSBOX_ON_PAYLOAD_STACK void install_seccomp(const LaunchPlan& plan, int sync_fd) noexcept {
    const security::CompiledFilter& filter = plan.security.seccomp;
    int listener = -1;
    if (const int err = security::install_filter(filter.program.data(), filter.program.size(),
                                                 filter.notify, &listener);
        err != 0)
        report_and_exit(sync_fd, Step::kSeccomp, err);
    if (listener < 0) return;
    SyncMsg msg;
    msg.kind = MsgKind::kSeccompListener;
    const int err = send_msg_with_fd(sync_fd, msg, listener);
    ::close(listener);
    if (err != 0) report_and_exit(sync_fd, Step::kSeccomp, err);
}

NSBOX_ON_PAYLOAD_STACK void apply_rlimits(const LaunchPlan& plan, int sync_fd) noexcept {
    for (const limits::RlimitSetting& setting : plan.rlimits) {
        const rlimit value{setting.soft, setting.hard};
        if (::setrlimit(setting.resource, &value) != 0)
            report_and_exit(sync_fd, Step::kLimits, errno, setting.resource);
    }
}

[[noreturn]] NSBOX_ON_PAYLOAD_STACK void exec_payload(const LaunchPlan& plan, int sync_fd,
                                                      int landlock_ruleset) noexcept {
    reset_signals();
    apply_rlimits(plan, sync_fd);
    if (::setsid() < 0) report_and_exit(sync_fd, Step::kSession, errno);
    if (plan.pty.enabled) {
        if (const int err = terminal::take_controlling_terminal(); err != 0)
            report_and_exit(sync_fd, Step::kTerminal, err);
    }
    // Everything above 2 was marked close-on-exec in the init; the user's --pass-fd grants are
    // the only exceptions (this is the payload's own copy of the fd table).
    for (const int fd : plan.pass_fds) {
        if (::fcntl(fd, F_SETFD, 0) != 0) report_and_exit(sync_fd, Step::kFdsCloexec, errno);
    }
    if (landlock_ruleset >= 0) {
        if (const int err = security::restrict_self(landlock_ruleset); err != 0)
            report_and_exit(sync_fd, Step::kLandlock, err);
    }
    install_seccomp(plan, sync_fd);
    int first_error = ENOENT;
    for (char* const* candidate = plan.exec_candidates.data(); *candidate != nullptr; ++candidate) {
        ::execve(*candidate, plan.argv.data(), plan.envp.data());
        // As execvp does: keep looking after ENOENT/ENOTDIR, remember a permission problem.
        if (errno == EACCES) {
            first_error = EACCES;
        } else if (errno != ENOENT && errno != ENOTDIR) {
            first_error = errno;
            break;
        }
    }
    report_and_exit(sync_fd, Step::kExec, first_error);
}

struct PayloadArgs {
    const LaunchPlan* plan;
    int sync_fd;
    int landlock_ruleset;  // -1: none
};

NSBOX_ON_PAYLOAD_STACK int payload_entry(void* raw) noexcept {
    const auto* args = static_cast<const PayloadArgs*>(raw);
    exec_payload(*args->plan, args->sync_fd, args->landlock_ruleset);
}

// The payload's stack while it shares the init's memory: static, because the child side
// may not allocate.
alignas(64) char g_payload_stack[64 * 1024];

// posix_spawn's technique: CLONE_VM | CLONE_VFORK copies no page tables and suspends the init
// until the payload has exec'd (or died), so nothing else touches the shared memory meanwhile.
pid_t spawn_payload(const LaunchPlan& plan, int sync_fd, int landlock_ruleset) noexcept {
    PayloadArgs args{&plan, sync_fd, landlock_ruleset};
    return ::clone(payload_entry, g_payload_stack + sizeof g_payload_stack,
                   CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
}

}  // namespace

[[noreturn]] void child_main(void* raw) noexcept {
    const auto* args = static_cast<const ChildArgs*>(raw);
    const LaunchPlan& plan = *args->plan;
    const int sync_fd = args->sync_fd;
    sigset_t all;
    sigfillset(&all);
    ::sigprocmask(SIG_BLOCK, &all, nullptr);
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) report_and_exit(sync_fd, Step::kSync, errno);
    exit_if_parent_gone(sync_fd);
    if (const int err = redirect_output(plan); err != 0)
        report_and_exit(sync_fd, Step::kLimits, err);
    // Cloned straight into the sandbox's cgroup: a cgroup namespace made now is rooted there.
    if (plan.unshare_cgroupns && ::unshare(CLONE_NEWCGROUP) != 0)
        report_and_exit(sync_fd, Step::kCgroup, errno);
    if (const int err = map_own_ids(plan); err != 0) report_and_exit(sync_fd, Step::kIdMaps, err);
    if (::setsid() < 0) report_and_exit(sync_fd, Step::kSession, errno);
    if (const int err = apply_mounts(plan, sync_fd); err != 0)
        report_and_exit(sync_fd, Step::kMounts, err);
    if (::sethostname(plan.hostname.data(), plan.hostname.size()) != 0)
        report_and_exit(sync_fd, Step::kHostname, errno);
    if (plan.new_net) {
        if (const int err = ns::bring_up_loopback(); err != 0)
            report_and_exit(sync_fd, Step::kLoopback, err);
    }
    if (const int err = ns::enter_new_root(); err != 0)
        report_and_exit(sync_fd, Step::kPivotRoot, err);
    if (const int err = enter_userns(plan, sync_fd); err != 0)
        report_and_exit(sync_fd, Step::kUserns, err);
    if (const int err = security::apply_bounding_and_securebits(plan.security.caps); err != 0)
        report_and_exit(sync_fd, Step::kCapabilities, err);
    if (const int err = become_sandbox_user(sync_fd); err != 0)
        report_and_exit(sync_fd, Step::kCredentials, err);
    if (const int err = security::apply_empty_caps(plan.security.caps); err != 0)
        report_and_exit(sync_fd, Step::kCapabilities, err);
    if (const int err = enter_workspace(plan); err != 0)
        report_and_exit(sync_fd, Step::kChdir, err);
    if (const int err = open_terminal(plan, sync_fd); err != 0)
        report_and_exit(sync_fd, Step::kTerminal, err);
    if (const int err = lock_down_init(); err != 0)
        report_and_exit(sync_fd, Step::kNoNewPrivs, err);
    scrub_own_strings(plan);
    int ruleset = -1;
    if (plan.security.landlock.abi > 0) {
        int failed_rule = -1;
        if (const int err =
                security::build_ruleset(plan.security.landlock, plan.inherited_fds.data(),
                                        plan.inherited_fds.size(), &ruleset, &failed_rule);
            err != 0)
            report_and_exit(sync_fd, Step::kLandlock, err, failed_rule);
    }
    const pid_t payload = spawn_payload(plan, sync_fd, ruleset);
    if (payload < 0) report_and_exit(sync_fd, Step::kExec, errno);
    if (ruleset >= 0) ::close(ruleset);
    run_init(payload, sync_fd);
}

}  // namespace nsbox::launch
