// The sandbox's own pseudo-terminal, child side (async-signal-safe, see launch/child.hpp).
//
// The pty is created in the sandbox's devpts instance by the init, after pivot_root and once it
// runs as the sandbox user, so the payload's terminal is a device of the sandbox (ttyname()
// names /dev/pts/N inside) owned by the sandbox user. The init sends the master to nsbox,
// which relays it to its own stdio (pty_relay.hpp): no fd of the caller's terminal ever
// enters the sandbox, so TIOCSTI and similar ioctls have nothing outside to reach.
#pragma once

#include <sys/ioctl.h>
#include <termios.h>

namespace nsbox::terminal {

struct PtySettings {
    bool enabled = false;
    winsize size{};   // the caller's window size, or 24x80
    termios modes{};  // the caller's terminal modes, copied so keys behave the same
    bool copy_modes = false;
};

// Opens a pty in the sandbox's /dev/ptmx, sets its size and modes, and makes its peer stdin,
// stdout and stderr of this process (the payload inherits them). `*master` receives the
// master (close-on-exec). Returns 0 or an errno.
int open_sandbox_pty(const PtySettings& settings, int* master) noexcept;

// In the payload, after setsid(): the pty on stdin becomes the controlling terminal, so job
// control and ^C work inside. Returns 0 or an errno.
int take_controlling_terminal() noexcept;

}  // namespace nsbox::terminal
