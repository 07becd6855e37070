// Parent side: the one poll loop over the init's pidfd, the sync socket, a signalfd and a
// timerfd. No threads: forwarding, the timeout and the child's messages are all events here.
#pragma once

#include <sys/types.h>
#include <sys/wait.h>

#include <chrono>
#include <functional>
#include <optional>

#include "launch/sync.hpp"
#include "nsbox/result.hpp"
#include "nsbox/unique_fd.hpp"
#include "security/seccomp_notify.hpp"
#include "supervise/output_relay.hpp"
#include "terminal/pty_relay.hpp"

namespace nsbox::supervise {

struct Watched {
    pid_t pid = -1;
    int pidfd = -1;
    int sync_fd = -1;
    int signal_fd = -1;  // signalfd of the signals to forward
    std::chrono::milliseconds timeout{0};
    // Called when the child asks for its id maps (root's late user namespace).
    std::function<Result<void>()> on_userns_ready;
    // Receives the payload's seccomp listener and answers denied calls; may be null.
    security::DenialMonitor* denials = nullptr;
    // Relays and counts the sandbox's stdout/stderr; may be null (passed through).
    OutputRelay* output = nullptr;
    // Relays the sandbox's own terminal (--tty); may be null. It receives the master from the
    // init, takes SIGWINCH, and hangs up on SIGHUP and SIGTERM.
    terminal::PtyRelay* terminal = nullptr;
    // A whole-sandbox CPU-time budget, checked on a timer against `cpu_usage_us` (the
    // cgroup's count); `cpu_parallelism` is how many CPUs can spend it at once.
    std::chrono::milliseconds cpu_budget{0};
    std::function<std::optional<std::uint64_t>()> cpu_usage_us;
    unsigned cpu_parallelism = 1;
    // The caller's control socket (Spec::control_fd), or -1.
    int control_fd = -1;
};

struct Outcome {
    std::optional<launch::SyncMsg> failure;  // first failure the child reported
    std::optional<int> payload_status;       // wait status the init reported
    std::optional<siginfo_t> init_exit;      // how the init itself ended
    bool timed_out = false;
    bool cpu_time_exceeded = false;
    bool output_exceeded = false;
    bool hangup_grace_used = false;         // the sandbox's terminal was hung up (see kHangupGrace)
    std::optional<launch::SyncMsg> exited;  // the init's kExited report, with usage
    bool init_exiting = false;              // returned before the init was reaped (see supervise())
    bool stopped_by_caller = false;         // kStop, or the control socket closed
    std::optional<std::uint64_t> cpu_at_start_us;  // the CPU count at the caller's kStart
    UniqueFd upper_fd;
    std::optional<Error> error;  // a parent-side failure while supervising
};

// Returns when the init has been reaped, or, earlier, when it has reported the payload's status
// and closed the socket (`init_exiting`): it is then past running any code and only the kernel's
// namespace teardown remains; the caller reaps it later.
Outcome supervise(const Watched& watched);

}  // namespace nsbox::supervise
