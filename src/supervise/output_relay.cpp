// Output relay (see output_relay.hpp).
#include "supervise/output_relay.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "nsbox/units.hpp"
#include "util/sys.hpp"

namespace nsbox::supervise {

std::string output_limit_marker(std::uint64_t limit, std::string_view newline) {
    return fmt::format("{0}[nsbox: output limit of {1} reached; the sandbox was stopped]{0}",
                       newline, format_size(limit));
}

namespace {

constexpr std::size_t kChunk = 1U << 16;

// Blocking write of everything; false when the destination is gone.
bool write_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t n = sys::retry_eintr([&] { return ::write(fd, data, size); });
        if (n < 0 && errno == EAGAIN) {
            pollfd pfd{fd, POLLOUT, 0};
            ::poll(&pfd, 1, -1);
            continue;
        }
        if (n <= 0) return false;
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

}  // namespace

void OutputRelay::add(int index, UniqueFd from, int to) {
    streams_[index].from = std::move(from);
    streams_[index].to = to;
}

void OutputRelay::fill(pollfd* fds) const {
    for (int i = 0; i < kStreams; ++i) {
        const Stream& s = streams_[i];
        if (!s.from) {
            fds[i] = {-1, 0, 0};
        } else if (s.waiting_for_room) {
            fds[i] = {s.to, POLLOUT, 0};
        } else {
            fds[i] = {s.from.get(), POLLIN, 0};
        }
    }
}

bool OutputRelay::on_ready(int index, short revents) {
    Stream& s = streams_[index];
    if (!s.from || revents == 0) return false;
    if (s.waiting_for_room) {
        s.waiting_for_room = false;  // room, or an error that the next transfer reports
        return false;
    }
    const bool was_exceeded = exceeded_;
    if (!transfer(s)) s.from.reset();
    return exceeded_ && !was_exceeded;
}

bool OutputRelay::mark_exceeded(Stream& s) {
    exceeded_ = true;
    const std::string marker = output_limit_marker(limit_, "\n");
    (void)write_all(s.to, marker.data(), marker.size());
    return true;
}

bool OutputRelay::transfer(Stream& s) {
    char buffer[kChunk];
    if (exceeded_) {
        // Over the budget: swallow until the sandbox is gone.
        return ::read(s.from.get(), buffer, sizeof buffer) > 0;
    }
    const std::uint64_t room = limit_ - bytes_;
    if (room == 0) {
        // Exactly at the budget: only more data is too much.
        const ssize_t n = ::read(s.from.get(), buffer, 1);
        if (n > 0) return mark_exceeded(s);
        return n < 0 && errno == EAGAIN;
    }
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(room, kChunk * 16));
    if (!s.copy) {
        const ssize_t n =
            ::splice(s.from.get(), nullptr, s.to, nullptr, want, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
        if (n > 0) {
            bytes_ += static_cast<std::uint64_t>(n);
            return true;
        }
        if (n == 0) return false;
        if (errno == EAGAIN) {
            s.waiting_for_room = true;
            return true;
        }
        if (errno == EPIPE) return false;  // the reader went away: the sandbox gets EPIPE
        s.copy = true;  // e.g. an O_APPEND file: splice refuses, plain writes work
    }
    const ssize_t n = ::read(s.from.get(), buffer, std::min(want, sizeof buffer));
    if (n <= 0) return n < 0 && errno == EAGAIN;
    bytes_ += static_cast<std::uint64_t>(n);
    return write_all(s.to, buffer, static_cast<std::size_t>(n));
}

void OutputRelay::drain(std::chrono::milliseconds max_wait) {
    const auto deadline = std::chrono::steady_clock::now() + max_wait;
    for (;;) {
        pollfd fds[kStreams];
        bool open = false;
        for (int i = 0; i < kStreams; ++i) {
            streams_[i].waiting_for_room = false;
            fds[i] = {streams_[i].from ? streams_[i].from.get() : -1, POLLIN, 0};
            open = open || streams_[i].from;
        }
        if (!open) return;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return;
        if (::poll(fds, kStreams, static_cast<int>(left.count())) <= 0) return;
        for (int i = 0; i < kStreams; ++i) {
            if (fds[i].revents == 0) continue;
            // Blocking writes now: nothing else is left to supervise.
            streams_[i].copy = true;
            if (!transfer(streams_[i])) streams_[i].from.reset();
        }
    }
}

}  // namespace nsbox::supervise
