// Parent side: supervision loop (see supervisor.hpp).
#include "supervise/supervisor.hpp"

#include <poll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "nsbox/launcher.hpp"
#include "util/sys.hpp"

namespace nsbox::supervise {
namespace {

// Every sandbox process is dead when draining starts, so the pipes are at EOF as soon as their
// buffers are relayed; the bound only guards against a destination that stops reading.
constexpr std::chrono::milliseconds kDrainWait{2000};
// After nsbox hangs up the sandbox's terminal its session leader gets SIGHUP; a payload that
// ignores it is killed after this long, so a stopped nsbox never waits on it forever.
constexpr std::chrono::milliseconds kHangupGrace{5000};

bool set_timer(int fd, std::chrono::milliseconds after) {
    itimerspec spec{};
    spec.it_value.tv_sec = static_cast<time_t>(after.count() / 1000);
    spec.it_value.tv_nsec = static_cast<long>((after.count() % 1000) * 1'000'000);
    return ::timerfd_settime(fd, 0, &spec, nullptr) == 0;
}

UniqueFd arm_timer(std::chrono::milliseconds timeout) {
    if (timeout.count() <= 0) return {};
    UniqueFd fd{::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)};
    if (!fd || !set_timer(fd.get(), timeout)) return {};
    return fd;
}

// The next CPU-time check: when the sandbox could have spent what is left of its budget at
// full parallelism, so the overshoot stays within one check interval.
std::chrono::milliseconds next_cpu_check(const Watched& w, std::uint64_t used_us) {
    const auto budget_us = static_cast<std::uint64_t>(w.cpu_budget.count()) * 1000;
    const std::uint64_t left_us = budget_us > used_us ? budget_us - used_us : 0;
    const auto ms = left_us / 1000 / std::max(1U, w.cpu_parallelism);
    return std::chrono::milliseconds(std::clamp<std::uint64_t>(ms, 10, 1000));
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
            out.exited = msg;
            break;
        case launch::MsgKind::kUpperFd:
            out.upper_fd = std::move(received);
            break;
        case launch::MsgKind::kTerminal:
            if (w.terminal && received) {
                if (auto adopted = w.terminal->adopt(std::move(received)); !adopted) {
                    if (!out.error) out.error = adopted.error();
                    sys::pidfd_send_signal(w.pidfd, SIGKILL);
                }
            }
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

void finish_output(const Watched& w, Outcome& out) {
    if (w.output) {
        w.output->drain(kDrainWait);
        out.output_exceeded = out.output_exceeded || w.output->exceeded();
    }
    if (w.terminal) {
        w.terminal->drain(kDrainWait);
        out.output_exceeded = out.output_exceeded || w.terminal->exceeded();
    }
}

// With a terminal of its own the sandbox learns of a resize from the pty, and a request to
// stop also hangs up its terminal: an interactive shell ignores SIGTERM but not SIGHUP.
void forward_signal(const Watched& w) {
    signalfd_siginfo info{};
    if (::read(w.signal_fd, &info, sizeof info) != sizeof info) return;
    const int sig = static_cast<int>(info.ssi_signo);
    if (w.terminal && sig == SIGWINCH) {
        w.terminal->resize();
        return;
    }
    sys::pidfd_send_signal(w.pidfd, sig);
    if (w.terminal && (sig == SIGHUP || sig == SIGTERM)) w.terminal->hang_up();
}

// One message from the caller's control socket. Returns false when the socket is finished
// (closed, or unusable), which stops the sandbox like kStop.
bool handle_control(const Watched& w, Outcome& out, UniqueFd& timer) {
    unsigned char msg[kControlMessageSize] = {};
    const ssize_t n = sys::retry_eintr([&] { return ::recv(w.control_fd, msg, sizeof msg, 0); });
    if (n <= 0) return !(n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK));
    if (msg[0] == static_cast<unsigned char>(ControlCommand::kStart) &&
        n == static_cast<ssize_t>(kControlMessageSize)) {
        const std::uint32_t ms =
            msg[1] | (msg[2] << 8U) | (msg[3] << 16U) | (static_cast<std::uint32_t>(msg[4]) << 24U);
        if (ms > 0) timer = arm_timer(std::chrono::milliseconds(ms));
        if (w.cpu_usage_us) out.cpu_at_start_us = w.cpu_usage_us();
        return true;
    }
    return false;  // kStop, or a message this supervisor does not know: stop rather than guess
}

}  // namespace

Outcome supervise(const Watched& w) {
    Outcome out;
    UniqueFd timer = arm_timer(w.timeout);
    UniqueFd cpu_timer =
        w.cpu_budget.count() > 0 && w.cpu_usage_us ? arm_timer(next_cpu_check(w, 0)) : UniqueFd{};
    UniqueFd hangup_timer;
    bool sync_open = true;
    bool control_open = w.control_fd >= 0;
    auto kill_sandbox = [&] { sys::pidfd_send_signal(w.pidfd, SIGKILL); };
    constexpr int kOutputSlot = 6;
    constexpr int kTerminalSlot = kOutputSlot + OutputRelay::kStreams;
    constexpr int kHangupSlot = kTerminalSlot + terminal::PtyRelay::kSlots;
    constexpr int kControlSlot = kHangupSlot + 1;
    constexpr int kSlots = kControlSlot + 1;
    for (;;) {
        const int listener = w.denials ? w.denials->fd() : -1;
        pollfd fds[kSlots] = {
            {w.pidfd, POLLIN, 0},     {sync_open ? w.sync_fd : -1, POLLIN, 0},
            {w.signal_fd, POLLIN, 0}, {timer ? timer.get() : -1, POLLIN, 0},
            {listener, POLLIN, 0},    {cpu_timer ? cpu_timer.get() : -1, POLLIN, 0}};
        for (int i = kOutputSlot; i < kSlots; ++i) fds[i] = {-1, 0, 0};
        if (w.output) w.output->fill(&fds[kOutputSlot]);
        if (w.terminal) w.terminal->fill(&fds[kTerminalSlot]);
        if (hangup_timer) fds[kHangupSlot] = {hangup_timer.get(), POLLIN, 0};
        if (control_open) fds[kControlSlot] = {w.control_fd, POLLIN, 0};
        if (::poll(fds, kSlots, w.terminal ? w.terminal->poll_timeout_ms() : -1) < 0) {
            if (errno == EINTR) continue;
            out.error = Error::from_errno(Step::kSupervise, "poll");
            kill_sandbox();
        }
        if (listener >= 0 && fds[4].revents != 0) w.denials->on_ready(fds[4].revents);
        if (fds[1].revents & (POLLIN | POLLHUP)) sync_open = handle_message(w, out);
        if (fds[2].revents & POLLIN) forward_signal(w);
        if (timer && (fds[3].revents & POLLIN)) {
            out.timed_out = true;
            kill_sandbox();
            timer.reset();
        }
        if (cpu_timer && (fds[5].revents & POLLIN)) {
            std::uint64_t expirations = 0;
            (void)::read(cpu_timer.get(), &expirations, sizeof expirations);
            const std::uint64_t used = w.cpu_usage_us().value_or(0);
            if (used >= static_cast<std::uint64_t>(w.cpu_budget.count()) * 1000) {
                out.cpu_time_exceeded = true;
                kill_sandbox();
                cpu_timer.reset();
            } else {
                set_timer(cpu_timer.get(), next_cpu_check(w, used));
            }
        }
        for (int i = 0; w.output && i < OutputRelay::kStreams; ++i) {
            if (w.output->on_ready(i, fds[kOutputSlot + i].revents)) {
                out.output_exceeded = true;
                kill_sandbox();
            }
        }
        if (w.terminal && w.terminal->on_ready(&fds[kTerminalSlot])) {
            out.output_exceeded = true;
            kill_sandbox();
        }
        if (w.terminal) w.terminal->on_tick();
        if (w.terminal && w.terminal->hung_up() && !hangup_timer && !out.hangup_grace_used) {
            hangup_timer = arm_timer(kHangupGrace);
            out.hangup_grace_used = true;
        }
        if (hangup_timer && (fds[kHangupSlot].revents & POLLIN)) {
            kill_sandbox();
            hangup_timer.reset();
        }
        if (control_open && fds[kControlSlot].revents != 0 && !handle_control(w, out, timer)) {
            control_open = false;
            out.stopped_by_caller = true;
            kill_sandbox();
        }
        if (fds[0].revents & POLLIN) break;
        // The init reported the payload's status and closed the socket after killing and
        // reaping everything else: what remains is the kernel's namespace teardown.
        if (out.payload_status && !sync_open) {
            out.init_exiting = true;
            finish_output(w, out);
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
    finish_output(w, out);
    return out;
}

}  // namespace nsbox::supervise
