// Parent side: the launch sequence (plan, clone, supervise, result, deferred reaping).
#include "nsbox/launcher.hpp"

#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <csignal>
#include <vector>

#include "launch/child.hpp"
#include "launch/clone.hpp"
#include "launch/failure.hpp"
#include "launch/plan.hpp"
#include "launch/sync.hpp"
#include "ns/userns.hpp"
#include "supervise/supervisor.hpp"
#include "util/log.hpp"
#include "util/sys.hpp"

namespace nsbox {
namespace {

constexpr int kForwardedSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

// Blocks the forwarded signals for the life of the run and reads them from a signalfd;
// restores the previous mask afterwards.
class SignalForwarding {
 public:
    static Result<SignalForwarding> start() {
        SignalForwarding s;
        sigset_t set;
        sigemptyset(&set);
        for (int sig : kForwardedSignals) sigaddset(&set, sig);
        if (::sigprocmask(SIG_BLOCK, &set, &s.previous_) != 0)
            return fail(Error::from_errno(Step::kSupervise, "block signals"));
        s.active_ = true;
        s.fd_.reset(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
        if (!s.fd_) return fail(Error::from_errno(Step::kSupervise, "signalfd"));
        return s;
    }
    SignalForwarding(SignalForwarding&& other) noexcept
        : fd_(std::move(other.fd_)),
          previous_(other.previous_),
          active_(std::exchange(other.active_, false)) {}
    SignalForwarding& operator=(SignalForwarding&&) = delete;
    ~SignalForwarding() {
        if (active_) ::sigprocmask(SIG_SETMASK, &previous_, nullptr);
    }
    [[nodiscard]] int fd() const noexcept { return fd_.get(); }

 private:
    SignalForwarding() = default;
    UniqueFd fd_;
    sigset_t previous_{};
    bool active_ = false;
};

// Kills and reaps the init if the launch unwinds before supervision reaped it.
class ChildGuard {
 public:
    explicit ChildGuard(int pidfd) : pidfd_(pidfd) {}
    ChildGuard(const ChildGuard&) = delete;
    ChildGuard& operator=(const ChildGuard&) = delete;
    ~ChildGuard() {
        if (pidfd_ < 0) return;
        sys::pidfd_send_signal(pidfd_, SIGKILL);
        siginfo_t info{};
        sys::retry_eintr(
            [&] { return ::waitid(P_PIDFD, static_cast<id_t>(pidfd_), &info, WEXITED); });
    }
    void reaped() noexcept { pidfd_ = -1; }

 private:
    int pidfd_;
};

// Inits that reported their result and were left in the kernel's namespace teardown. They are
// reaped without blocking at the next launch; at process exit the kernel hands any left to the
// caller's reaper.
std::vector<UniqueFd>& exiting_inits() {
    static std::vector<UniqueFd> inits;
    return inits;
}

void reap_exited_inits() {
    std::erase_if(exiting_inits(), [](const UniqueFd& pidfd) {
        siginfo_t info{};
        const int r = ::waitid(P_PIDFD, static_cast<id_t>(pidfd.get()), &info, WEXITED | WNOHANG);
        return r != 0 || info.si_pid != 0;
    });
}

void fill_outcome(RunResult& result, supervise::Outcome& outcome, const launch::LaunchPlan& plan) {
    if (outcome.error) {
        result.reason = Reason::kSetupError;
        result.error = outcome.error;
        result.exit_code = outcome.error->exit_code();
    } else if (outcome.failure) {
        result.reason = Reason::kSetupError;
        result.error = launch::describe_failure(*outcome.failure, plan);
        result.exit_code = result.error->exit_code();
    } else if (outcome.timed_out) {
        result.reason = Reason::kTimeout;
        result.signal = SIGKILL;
        result.exit_code = kExitTimeout;
    } else if (outcome.payload_status) {
        const int status = *outcome.payload_status;
        result.payload_status = status;
        result.reason = WIFSIGNALED(status) ? Reason::kSignaled : Reason::kExited;
        result.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        result.exit_code = exit_code_for_status(status);
    } else if (outcome.init_exit && outcome.init_exit->si_code == CLD_EXITED) {
        result.reason = Reason::kSetupError;
        result.error = Error::system(Step::kSupervise, 0,
                                     "the sandbox init exited with status " +
                                         std::to_string(outcome.init_exit->si_status) +
                                         " before the payload finished");
        result.exit_code = kExitLauncherError;
    } else {
        // The init was killed from outside the sandbox (e.g. by the OOM killer).
        const int sig = outcome.init_exit ? outcome.init_exit->si_status : SIGKILL;
        result.reason = Reason::kSignaled;
        result.signal = sig;
        result.exit_code = 128 + sig;
    }
}

void export_outputs(const Spec& spec, RunResult& result, const supervise::Outcome& outcome) {
    if (spec.output_dir.empty() || result.reason == Reason::kSetupError) return;
    if (!outcome.upper_fd) {
        result.export_error =
            Error::system(Step::kExport, 0, "the workspace changes were not received");
        return;
    }
    auto summary = export_changes(outcome.upper_fd.get(), spec.output_dir, ExportLimits{});
    if (summary) {
        result.exported = std::move(*summary);
    } else {
        result.export_error = summary.error();
    }
}

Result<RunResult> launch_and_supervise(const Spec& spec, const launch::LaunchPlan& plan,
                                       int signal_fd) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
        return fail(Error::from_errno(Step::kClone, "socketpair"));
    UniqueFd parent_end{pair[0]};
    UniqueFd child_end{pair[1]};
    RunResult result;
    result.privileged_setup = plan.privileged_setup;
    result.host_uid = plan.host_uid;
    result.host_gid = plan.host_gid;
    result.started_at = std::chrono::system_clock::now();
    const auto start = std::chrono::steady_clock::now();

    launch::ChildArgs args{&plan, child_end.get()};
    auto child = launch::clone_sandbox(plan.clone_flags, launch::child_main, &args);
    if (!child) return fail(child.error());
    ChildGuard guard(child->pidfd.get());
    child_end.reset();

    // Rootless children map their own ids; root's child asks once it has entered its late
    // user namespace (kUsernsReady).
    auto write_maps = [&] {
        return ns::write_id_maps(child->pid, child->pidfd.get(), plan.host_uid, plan.host_gid);
    };

    security::DenialMonitor denials(plan.security.seccomp, child->pidfd.get());
    supervise::Watched watched{child->pid,         child->pidfd.get(), parent_end.get(), signal_fd,
                               spec.timeout.value, write_maps,         &denials};
    supervise::Outcome outcome = supervise::supervise(watched);
    guard.reaped();
    if (outcome.init_exiting) exiting_inits().push_back(std::move(child->pidfd));
    result.ended_at = std::chrono::system_clock::now();
    result.wall_time = std::chrono::steady_clock::now() - start;
    fill_outcome(result, outcome, plan);
    result.layers = plan.security.layers;
    result.denials = denials.denials();
    if (denials.killed_by() && result.reason != Reason::kSetupError) {
        // The init was killed for the payload's forbidden call: report it as the kernel's own
        // seccomp kill would be, by SIGSYS.
        result.seccomp_kill = denials.killed_by();
        result.reason = Reason::kSignaled;
        result.signal = SIGSYS;
        result.exit_code = 128 + SIGSYS;
    }
    export_outputs(spec, result, outcome);
    return result;
}

}  // namespace

Result<RunResult> run_sandbox(const Spec& spec) {
    reap_exited_inits();
    auto plan = launch::plan_launch(spec);
    if (!plan) return fail(plan.error());
    log::debug("setup mode: {}, {} mount steps",
               plan->privileged_setup ? "privileged (root, late user namespace)" : "rootless",
               plan->mounts.size());
    auto signals = SignalForwarding::start();
    if (!signals) return fail(signals.error());
    return launch_and_supervise(spec, *plan, signals->fd());
}

}  // namespace nsbox
