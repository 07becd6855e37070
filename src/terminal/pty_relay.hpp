// The sandbox's terminal relayed to nsbox's own stdio, parent side.
//
// Keys typed on the caller's terminal (in raw mode while the relay runs) go to the pty's
// master, and what the sandbox writes to its terminal goes to nsbox's stdout, counted against
// the output limit. SIGWINCH copies the caller's window size to the pty (the kernel then
// signals the sandbox's foreground job). Hanging up (nsbox's own terminal went away, or nsbox
// was told to stop) closes the master: the sandbox's session leader gets SIGHUP, as a shell
// does when its terminal closes. Without a terminal on stdin, end of input becomes the pty's
// end-of-file character, so a shell reading commands from a pipe exits at the end.
#pragma once

#include <poll.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>

#include "nsbox/unique_fd.hpp"
#include "terminal/host_terminal.hpp"

namespace nsbox::terminal {

class PtyRelay {
 public:
    static constexpr int kSlots = 3;  // caller's input, the master, caller's output

    PtyRelay(int in_fd, int out_fd, std::uint64_t output_limit);
    PtyRelay(const PtyRelay&) = delete;
    PtyRelay& operator=(const PtyRelay&) = delete;

    // Takes the master the sandbox's init sent; raw mode starts now when stdin is a terminal.
    // A failure to enter raw mode is returned (the session would echo twice and ^C would stop
    // nsbox, not the sandbox's job).
    Result<void> adopt(UniqueFd master);
    [[nodiscard]] bool adopted() const noexcept { return adopted_; }
    // Slots for poll; unused ones get fd -1.
    void fill(pollfd* fds) const;
    // Handles the readiness in `fds` (as filled); true when the output limit was just exceeded.
    bool on_ready(const pollfd* fds);
    // How long the caller's poll may sleep: a short tick while an end of input waits for the
    // sandbox's reader (see on_tick), else -1.
    [[nodiscard]] int poll_timeout_ms() const noexcept;
    void on_tick();
    // SIGWINCH: the caller's terminal changed size.
    void resize() noexcept;
    // Closes the master (SIGHUP to the sandbox's session). When it happened, for the caller's
    // grace period before the sandbox is killed.
    void hang_up() noexcept;
    [[nodiscard]] bool hung_up() const noexcept { return hung_up_; }
    // After the sandbox is gone: relays what is still buffered, until EOF or `max_wait`, and
    // restores the caller's terminal.
    void drain(std::chrono::milliseconds max_wait);

    [[nodiscard]] std::uint64_t bytes() const noexcept { return bytes_; }
    [[nodiscard]] bool exceeded() const noexcept { return exceeded_; }

 private:
    void read_input();
    void write_input();
    bool read_output();  // true when the limit was just exceeded
    void write_output();
    void queue_end_of_file();
    [[nodiscard]] bool input_idle() const noexcept;

    int in_fd_;
    int out_fd_;
    UniqueFd own_out_;  // nsbox's stdout reopened non-blocking, when it is a terminal or pipe
    std::uint64_t limit_;
    bool in_is_terminal_;
    UniqueFd master_;
    RawMode raw_;
    bool adopted_ = false;
    bool input_open_ = true;
    bool master_readable_ = true;  // false once every sandbox process closed the terminal
    bool output_open_ = true;      // false once nsbox's stdout refused a write
    bool hung_up_ = false;
    // End of piped input, passed on as the pty's EOF character once the keys before it are
    // written and the terminal has been quiet for a while, and again (as a person presses ^D
    // until the program leaves) a few times: an interactive shell reads an EOF after an
    // unfinished command as the end of that command, not of its input.
    int eof_sends_left_ = 0;
    char last_key_ = '\n';
    std::chrono::steady_clock::time_point input_written_at_{};
    bool exceeded_ = false;
    std::uint64_t bytes_ = 0;
    std::array<char, 4096> in_buf_{};
    std::size_t in_len_ = 0;
    std::size_t in_pos_ = 0;
    std::array<char, 16384> out_buf_{};
    std::size_t out_len_ = 0;
    std::size_t out_pos_ = 0;
};

}  // namespace nsbox::terminal
