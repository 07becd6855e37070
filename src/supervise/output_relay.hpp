// The sandbox's stdout and stderr, relayed from pipes to nsbox's own and counted against one
// budget. Past the budget the stream gets a one-line marker and the supervisor stops the
// sandbox. Data moves with splice (no copy through nsbox) where the destination allows it.
#pragma once

#include <poll.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "nsbox/unique_fd.hpp"

namespace nsbox::supervise {

// The line that ends a stream cut at the output limit; `newline` is "\n" for pipes, "\r\n" for
// a terminal in raw mode.
std::string output_limit_marker(std::uint64_t limit, std::string_view newline);

class OutputRelay {
 public:
    static constexpr int kStreams = 2;  // stdout, stderr

    explicit OutputRelay(std::uint64_t limit) : limit_(limit) {}

    // Relays stream `index` from the pipe's read end to `to`.
    void add(int index, UniqueFd from, int to);
    // One pollfd per stream: the pipe for POLLIN, or the destination for POLLOUT while it is
    // full. Unused slots get fd -1.
    void fill(pollfd* fds) const;
    // Handles readiness of slot `index`; true when the budget has just been exceeded.
    bool on_ready(int index, short revents);
    // After the sandbox is gone: relays what is still buffered, until EOF or `max_wait`.
    void drain(std::chrono::milliseconds max_wait);

    [[nodiscard]] std::uint64_t bytes() const noexcept { return bytes_; }
    [[nodiscard]] bool exceeded() const noexcept { return exceeded_; }

 private:
    struct Stream {
        UniqueFd from;
        int to = -1;
        bool waiting_for_room = false;  // `to` is full: poll it for POLLOUT
        bool copy = false;              // splice is not possible into `to`: read and write
    };
    bool transfer(Stream& s);  // false: the stream is finished
    bool mark_exceeded(Stream& s);

    std::array<Stream, kStreams> streams_;
    std::uint64_t limit_;
    std::uint64_t bytes_ = 0;
    bool exceeded_ = false;
};

}  // namespace nsbox::supervise
