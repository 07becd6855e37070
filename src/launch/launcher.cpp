// Parent side: the launch sequence (plan, clone, supervise, result, deferred reaping).
#include "nsbox/launcher.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <optional>
#include <vector>

#include "launch/child.hpp"
#include "launch/clone.hpp"
#include "launch/failure.hpp"
#include "launch/plan.hpp"
#include "launch/sync.hpp"
#include "limits/cgroup.hpp"
#include "limits/plan.hpp"
#include "ns/userns.hpp"
#include "supervise/supervisor.hpp"
#include "terminal/pty_relay.hpp"
#include "util/log.hpp"
#include "util/sys.hpp"

namespace nsbox {
namespace {

// SIGWINCH too: a payload on nsbox's own terminal has no controlling terminal to hear it from,
// and a payload on a pty of its own learns of it through the pty (PtyRelay::resize).
constexpr int kForwardedSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

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

// Why the run ended: a setup failure first, then the limits nsbox enforced (their kill is
// what the payload died of), then how the payload itself ended.
void fill_outcome(RunResult& result, supervise::Outcome& outcome, const launch::LaunchPlan& plan) {
    const bool out_of_memory = result.usage.oom_kills.value_or(0) > 0;
    const int payload_signal = outcome.payload_status && WIFSIGNALED(*outcome.payload_status)
                                   ? WTERMSIG(*outcome.payload_status)
                                   : 0;
    const bool init_killed =
        !outcome.payload_status && outcome.init_exit && outcome.init_exit->si_code != CLD_EXITED;
    auto limit_stop = [&](Reason reason, int exit_code, int signal) {
        result.reason = reason;
        result.exit_code = exit_code;
        result.signal = signal;
        if (outcome.payload_status) result.payload_status = *outcome.payload_status;
    };
    if (outcome.error) {
        result.reason = Reason::kSetupError;
        result.error = outcome.error;
        result.exit_code = outcome.error->exit_code();
    } else if (outcome.failure) {
        result.reason = Reason::kSetupError;
        result.error = launch::describe_failure(*outcome.failure, plan);
        result.exit_code = result.error->exit_code();
    } else if (outcome.output_exceeded) {
        limit_stop(Reason::kOutputLimit, kExitOutputLimit, SIGKILL);
    } else if (outcome.cpu_time_exceeded || payload_signal == SIGXCPU) {
        limit_stop(Reason::kCpuTime, kExitCpuTime, outcome.cpu_time_exceeded ? SIGKILL : SIGXCPU);
    } else if (outcome.timed_out) {
        limit_stop(Reason::kTimeout, kExitTimeout, SIGKILL);
    } else if (out_of_memory && (payload_signal == SIGKILL || init_killed)) {
        limit_stop(Reason::kOom, kExitOutOfMemory, SIGKILL);
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
        // The init was killed from outside the sandbox.
        const int sig = outcome.init_exit ? outcome.init_exit->si_status : SIGKILL;
        result.reason = Reason::kSignaled;
        result.signal = sig;
        result.exit_code = 128 + sig;
    }
}

// What the run used: the cgroup's counters where there is one, else what the init gathered
// from the processes it reaped.
void fill_usage(RunResult& result, const supervise::Outcome& outcome,
                const limits::SandboxCgroup* cgroup, const supervise::OutputRelay* output,
                const terminal::PtyRelay* terminal) {
    ResourceUsage& usage = result.usage;
    if (outcome.exited) {
        usage.cpu_user_us = static_cast<std::uint64_t>(outcome.exited->cpu_user_us);
        usage.cpu_system_us = static_cast<std::uint64_t>(outcome.exited->cpu_system_us);
        usage.peak_memory_bytes = static_cast<std::uint64_t>(outcome.exited->max_rss_kb) * 1024;
        usage.peak_memory_source = "ru_maxrss";
    }
    if (cgroup) cgroup->read_usage(usage);
    if (output) {
        usage.output_bytes = output->bytes();
        usage.output_truncated = output->exceeded();
    }
    if (terminal) {
        usage.output_bytes = terminal->bytes();
        usage.output_truncated = terminal->exceeded();
    }
}

void export_outputs(const Spec& spec, RunResult& result, const supervise::Outcome& outcome) {
    if (spec.output_dir.empty() || result.reason == Reason::kSetupError) return;
    if (!outcome.upper_fd) {
        result.export_error =
            Error::system(Step::kExport, 0, "the workspace changes were not received");
        return;
    }
    ExportLimits caps;
    if (spec.output_max_files != 0) caps.max_files = spec.output_max_files;
    if (spec.output_max_bytes != 0) caps.max_bytes = spec.output_max_bytes;
    auto summary = export_changes(outcome.upper_fd.get(), spec.output_dir, caps);
    if (summary) {
        result.exported = std::move(*summary);
    } else {
        result.export_error = summary.error();
    }
}

// The pipes whose write ends become the sandbox's stdout/stderr (see OutputRelay).
Result<void> open_output_pipes(launch::LaunchPlan& plan, const limits::LimitsPlan& limits,
                               supervise::OutputRelay& relay, std::vector<UniqueFd>& write_ends) {
    const std::pair<bool, int> streams[] = {{limits.relay_stdout, STDOUT_FILENO},
                                            {limits.relay_stderr, STDERR_FILENO}};
    for (int i = 0; i < supervise::OutputRelay::kStreams; ++i) {
        if (!streams[i].first) continue;
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0)
            return fail(Error::from_errno(Step::kLimits, "create the output pipe"));
        UniqueFd read_end{fds[0]};
        // Only nsbox's end is non-blocking: the sandbox writes as into any pipe.
        if (::fcntl(read_end.get(), F_SETFL, O_NONBLOCK) != 0)
            return fail(Error::from_errno(Step::kLimits, "set up the output pipe"));
        (i == 0 ? plan.stdout_pipe : plan.stderr_pipe) = fds[1];
        plan.output_read_ends[i] = fds[0];
        write_ends.emplace_back(fds[1]);
        relay.add(i, std::move(read_end), streams[i].second);
    }
    return {};
}

// SIGPIPE would kill nsbox when its own reader goes away; the relay sees EPIPE instead and
// passes it on to the sandbox by closing the pipe.
class IgnoreSigpipe {
 public:
    IgnoreSigpipe() {
        struct sigaction ignore {};
        ignore.sa_handler = SIG_IGN;
        ::sigaction(SIGPIPE, &ignore, &previous_);
    }
    IgnoreSigpipe(const IgnoreSigpipe&) = delete;
    IgnoreSigpipe& operator=(const IgnoreSigpipe&) = delete;
    ~IgnoreSigpipe() { ::sigaction(SIGPIPE, &previous_, nullptr); }

 private:
    struct sigaction previous_ {};
};

Result<RunResult> launch_and_supervise(const Spec& spec, launch::LaunchPlan& plan,
                                       const limits::LimitsPlan& limits_plan,
                                       limits::SandboxCgroup* cgroup, int signal_fd) {
    supervise::OutputRelay relay(limits_plan.output_limit);
    std::vector<UniqueFd> output_write_ends;
    if (auto r = open_output_pipes(plan, limits_plan, relay, output_write_ends); !r)
        return fail(r.error());
    const bool relaying = !output_write_ends.empty();
    std::optional<terminal::PtyRelay> pty_relay;
    if (plan.pty.enabled) pty_relay.emplace(STDIN_FILENO, STDOUT_FILENO, limits_plan.output_limit);
    IgnoreSigpipe ignore_sigpipe;
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
    auto child = launch::clone_sandbox(plan.clone_flags, launch::child_main, &args,
                                       cgroup ? cgroup->fd() : -1);
    if (!child) return fail(child.error());
    ChildGuard guard(child->pidfd.get());
    child_end.reset();
    output_write_ends.clear();

    // Rootless children map their own ids; root's child asks once it has entered its late
    // user namespace (kUsernsReady).
    auto write_maps = [&] {
        return ns::write_id_maps(child->pid, child->pidfd.get(), plan.host_uid, plan.host_gid);
    };

    security::DenialMonitor denials(plan.security.seccomp, child->pidfd.get());
    supervise::Watched watched;
    watched.pid = child->pid;
    watched.pidfd = child->pidfd.get();
    watched.sync_fd = parent_end.get();
    watched.signal_fd = signal_fd;
    watched.timeout = spec.timeout.value;
    watched.on_userns_ready = write_maps;
    watched.denials = &denials;
    if (relaying) watched.output = &relay;
    if (pty_relay) watched.terminal = &*pty_relay;
    watched.control_fd = spec.control_fd;
    if (cgroup) watched.cpu_usage_us = [cgroup] { return cgroup->cpu_usage_us(); };
    if (cgroup && limits_plan.cpu_time.count() > 0) {
        watched.cpu_budget = limits_plan.cpu_time;
        const long online = ::sysconf(_SC_NPROCESSORS_ONLN);
        const auto by_quota = static_cast<unsigned>((spec.limits.cpus.value + 999) / 1000);
        watched.cpu_parallelism = std::max(1U, by_quota != 0 && (online <= 0 || by_quota < online)
                                                   ? by_quota
                                                   : static_cast<unsigned>(std::max(1L, online)));
    }
    supervise::Outcome outcome = supervise::supervise(watched);
    guard.reaped();
    if (outcome.init_exiting) exiting_inits().push_back(std::move(child->pidfd));
    result.ended_at = std::chrono::system_clock::now();
    result.wall_time = std::chrono::steady_clock::now() - start;
    fill_usage(result, outcome, cgroup, relaying ? &relay : nullptr,
               pty_relay ? &*pty_relay : nullptr);
    fill_outcome(result, outcome, plan);
    result.stopped_by_caller = outcome.stopped_by_caller;
    result.cpu_at_start_us = outcome.cpu_at_start_us;
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
    limits::HostFacts facts = limits::host_facts(spec.limits);
    facts.pty = spec.use_pty;
    const limits::LimitsPlan limits_plan = limits::plan_limits(spec.limits, facts);
    if (auto r = limits::check_strict(spec.limits, limits_plan); !r) return fail(r.error());
    // A person at a terminal learns it before a long run; in logs it goes after the run, so a
    // launch error stays the only line.
    std::string warning = limits::unenforced_summary(limits_plan);
    if (!warning.empty() && ::isatty(STDERR_FILENO)) {
        log::warn("{}", warning);
        warning.clear();
    }
    plan->rlimits = limits_plan.rlimits;
    std::optional<limits::SandboxCgroup> cgroup;
    if (limits_plan.site) {
        auto created = limits::SandboxCgroup::create(*limits_plan.site, limits_plan.cgroup);
        if (!created) return fail(created.error());
        cgroup.emplace(std::move(*created));
        plan->clone_flags &= ~static_cast<unsigned long>(CLONE_NEWCGROUP);
        plan->unshare_cgroupns = true;
        log::debug("cgroup {} ({})", cgroup->path(), limits_plan.site->source);
    }
    auto signals = SignalForwarding::start();
    if (!signals) return fail(signals.error());
    auto result =
        launch_and_supervise(spec, *plan, limits_plan, cgroup ? &*cgroup : nullptr, signals->fd());
    if (cgroup) cgroup->destroy();
    if (!result) return result;
    result->limits = limits_plan.statuses;
    result->limits_warning = std::move(warning);
    result->limits_mode = std::string(limits_mode_name(spec.limits.mode.value));
    result->cgroup.used = cgroup.has_value();
    result->cgroup.path = cgroup ? cgroup->path() : std::string();
    result->cgroup.source = limits_plan.site ? limits_plan.site->source : std::string();
    result->cgroup.why_not = limits_plan.cgroup_cause;
    return result;
}

}  // namespace nsbox
