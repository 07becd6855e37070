// Parent side: supervision loop (see supervisor.hpp).
#include "supervise/supervisor.hpp"

#include <poll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "util/sys.hpp"

namespace nsbox::supervise {
namespace {

UniqueFd arm_timer(std::chrono::milliseconds timeout) {
    if (timeout.count() <= 0) return {};
    UniqueFd fd{::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)};
    if (!fd) return {};
    itimerspec spec{};
    spec.it_value.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    spec.it_value.tv_nsec = static_cast<long>((timeout.count() % 1000) * 1'000'000);
    if (::timerfd_settime(fd.get(), 0, &spec, nullptr) != 0) return {};
    return fd;
}

// Handles one message; returns false at EOF.
bool handle_message(const Watched& w, Outcome& out) {
    launch::SyncMsg msg;
    int fd = -1;
    const int r = launch::recv_msg(w.sync_fd, &msg, &fd);
    UniqueFd received{fd};
    if (r <= 0) return false;
    switch (msg.kind) {
        case launch::MsgKind::kFailure:
            if (!out.failure) out.failure = msg;
            break;
        case launch::MsgKind::kExited:
            out.payload_status = msg.value;
            break;
        case launch::MsgKind::kUpperFd:
            out.upper_fd = std::move(received);
            break;
        case launch::MsgKind::kSeccompListener:
            if (w.denials && received) w.denials->adopt(std::move(received));
            break;
        case launch::MsgKind::kUsernsReady: {
            auto mapped = w.on_userns_ready ? w.on_userns_ready() : Result<void>{};
            if (!mapped) {
                if (!out.error) out.error = mapped.error();
                sys::pidfd_send_signal(w.pidfd, SIGKILL);
                break;
            }
            launch::SyncMsg done;
            done.kind = launch::MsgKind::kMapsDone;
            (void)launch::send_msg(w.sync_fd, done);
            break;
        }
        default:
            break;
    }
    return true;
}

void forward_signal(const Watched& w) {
    signalfd_siginfo info{};
    if (::read(w.signal_fd, &info, sizeof info) != sizeof info) return;
    sys::pidfd_send_signal(w.pidfd, static_cast<int>(info.ssi_signo));
}

}  // namespace

Outcome supervise(const Watched& w) {
    Outcome out;
    UniqueFd timer = arm_timer(w.timeout);
    bool sync_open = true;
    for (;;) {
        const int listener = w.denials ? w.denials->fd() : -1;
        pollfd fds[5] = {{w.pidfd, POLLIN, 0},
                         {sync_open ? w.sync_fd : -1, POLLIN, 0},
                         {w.signal_fd, POLLIN, 0},
                         {timer ? timer.get() : -1, POLLIN, 0},
                         {listener, POLLIN, 0}};
        if (::poll(fds, 5, -1) < 0) {
            if (errno == EINTR) continue;
            out.error = Error::from_errno(Step::kSupervise, "poll");
            sys::pidfd_send_signal(w.pidfd, SIGKILL);
        }
        if (listener >= 0 && fds[4].revents != 0) w.denials->on_ready(fds[4].revents);
        if (fds[1].revents & (POLLIN | POLLHUP)) sync_open = handle_message(w, out);
        if (fds[2].revents & POLLIN) forward_signal(w);
        if (timer && (fds[3].revents & POLLIN)) {
            out.timed_out = true;
            sys::pidfd_send_signal(w.pidfd, SIGKILL);
            timer.reset();
        }
        if (fds[0].revents & POLLIN) break;
        // The init reported the payload's status and closed the socket after killing and
        // reaping everything else: what remains is the kernel's namespace teardown.
        if (out.payload_status && !sync_open) {
            out.init_exiting = true;
            return out;
        }
    }
    siginfo_t info{};
    if (sys::retry_eintr(
            [&] { return ::waitid(P_PIDFD, static_cast<id_t>(w.pidfd), &info, WEXITED); }) == 0)
        out.init_exit = info;
    // The init is gone; whatever it or a failed payload wrote is still queued. Blocking reads
    // end at EOF once the last sandbox process holding the socket has died.
    while (sync_open) sync_open = handle_message(w, out);
    return out;
}

}  // namespace nsbox::supervise
