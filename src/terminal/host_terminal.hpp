// nsbox's caller's terminal, parent side: what it looks like (modes, window size) and raw mode
// for the length of a pty session.
//
// Raw mode is undone on every way out: the guard's destructor on normal and error returns, and
// a handler for the fatal signals (a crash of nsbox itself, or `kill -SEGV`) that restores the
// modes before the signal takes its course. Termination signals (SIGTERM, SIGHUP, SIGINT,
// SIGQUIT) are taken by the launcher's signalfd during a run and end it in order.
#pragma once

#include <sys/ioctl.h>
#include <termios.h>

#include "nsbox/result.hpp"
#include "terminal/pty.hpp"

namespace nsbox::terminal {

struct HostTerminal {
    bool stdin_is_terminal = false;
    bool have_modes = false;  // `modes` read from stdin
    termios modes{};
    winsize size{};  // from the first of stdin, stdout, stderr that is a terminal; else 24x80
};

HostTerminal inspect_host_terminal() noexcept;

// The sandbox pty's initial size and modes: the caller's, so that keys (erase, ^C) and the
// layout behave as in their own terminal.
PtySettings pty_settings_for(const HostTerminal& host) noexcept;

// The current window size of the caller's terminal, if it has one.
bool host_window_size(winsize* size) noexcept;

class RawMode {
 public:
    RawMode() = default;
    // Puts terminal `fd` in raw mode (no echo, no line editing, no signals from keys, no output
    // processing): every byte goes to the sandbox's terminal, which does all of that itself.
    static Result<RawMode> enter(int fd);
    RawMode(RawMode&& other) noexcept;
    RawMode& operator=(RawMode&& other) noexcept;
    RawMode(const RawMode&) = delete;
    RawMode& operator=(const RawMode&) = delete;
    ~RawMode() { restore(); }

    // Puts the saved modes back (idempotent).
    void restore() noexcept;
    [[nodiscard]] bool active() const noexcept { return fd_ >= 0; }

 private:
    int fd_ = -1;
    termios saved_{};
};

}  // namespace nsbox::terminal
