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
};

struct Outcome {
    std::optional<launch::SyncMsg> failure;  // first failure the child reported
    std::optional<int> payload_status;       // wait status the init reported
    std::optional<siginfo_t> init_exit;      // how the init itself ended
    bool timed_out = false;
    bool init_exiting = false;  // returned before the init was reaped (see supervise())
    UniqueFd upper_fd;
    std::optional<Error> error;  // a parent-side failure while supervising
};

// Returns when the init has been reaped, or, earlier, when it has reported the payload's status
// and closed the socket (`init_exiting`): it is then past running any code and only the kernel's
// namespace teardown remains; the caller reaps it later.
Outcome supervise(const Watched& watched);

}  // namespace nsbox::supervise
