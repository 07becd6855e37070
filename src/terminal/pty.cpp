// Child side of the sandbox's pty (see pty.hpp).
#include "terminal/pty.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace nsbox::terminal {
namespace {

int close_both(int a, int b, int err) noexcept {
    if (a >= 0) ::close(a);
    if (b >= 0) ::close(b);
    return err;
}

}  // namespace

int open_sandbox_pty(const PtySettings& settings, int* master) noexcept {
    *master = -1;
    const int ptm = ::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (ptm < 0) return errno;
    int unlock = 0;
    if (::ioctl(ptm, TIOCSPTLCK, &unlock) != 0) return close_both(ptm, -1, errno);
    // The peer is opened through the master, not by a /dev/pts path another process could
    // swap (runc and crun do the same).
    const int pts = ::ioctl(ptm, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (pts < 0) return close_both(ptm, -1, errno);
    if (settings.size.ws_row != 0 && ::ioctl(ptm, TIOCSWINSZ, &settings.size) != 0)
        return close_both(ptm, pts, errno);
    // tcsetattr is async-signal-safe (POSIX lists it).
    if (settings.copy_modes && ::tcsetattr(pts, TCSANOW, &settings.modes) != 0)
        return close_both(ptm, pts, errno);
    for (int target = 0; target <= 2; ++target) {
        if (::dup2(pts, target) < 0) return close_both(ptm, pts, errno);
    }
    ::close(pts);
    *master = ptm;
    return 0;
}

int take_controlling_terminal() noexcept {
    if (::ioctl(STDIN_FILENO, TIOCSCTTY, 0) != 0) return errno;
    return 0;
}

}  // namespace nsbox::terminal
