// The caller's terminal: inspection and raw mode (see host_terminal.hpp).
#include "terminal/host_terminal.hpp"

#include <unistd.h>

#include <csignal>
#include <utility>

namespace nsbox::terminal {
namespace {

constexpr int kFatalSignals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS};

// The one terminal in raw mode, for the fatal-signal handler: only plain data it can read
// without locks. A process has one controlling terminal, so one slot is enough.
volatile sig_atomic_t g_raw_fd = -1;
termios g_raw_saved{};
struct sigaction g_previous[std::size(kFatalSignals)]{};

void on_fatal_signal(int sig, siginfo_t* info, void* /*context*/) {
    const int fd = g_raw_fd;
    if (fd >= 0) ::tcsetattr(fd, TCSANOW, &g_raw_saved);
    g_raw_fd = -1;
    for (std::size_t i = 0; i < std::size(kFatalSignals); ++i) {
        if (kFatalSignals[i] == sig) ::sigaction(sig, &g_previous[i], nullptr);
    }
    // A fault re-executes the faulting instruction and meets the previous disposition; a signal
    // sent with kill(), a trap or a seccomp SIGSYS does not recur by itself, so it is sent again
    // (delivered once this handler returns, as the signal is blocked while it runs).
    const bool recurs = info->si_code > 0 && sig != SIGTRAP && sig != SIGSYS;
    if (!recurs) ::raise(sig);
}

void install_fatal_handlers() noexcept {
    struct sigaction action {};
    action.sa_sigaction = on_fatal_signal;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    for (std::size_t i = 0; i < std::size(kFatalSignals); ++i)
        ::sigaction(kFatalSignals[i], &action, &g_previous[i]);
}

void remove_fatal_handlers() noexcept {
    for (std::size_t i = 0; i < std::size(kFatalSignals); ++i)
        ::sigaction(kFatalSignals[i], &g_previous[i], nullptr);
}

}  // namespace

bool host_window_size(winsize* size) noexcept {
    for (const int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) {
        if (::isatty(fd) && ::ioctl(fd, TIOCGWINSZ, size) == 0 && size->ws_row != 0) return true;
    }
    return false;
}

HostTerminal inspect_host_terminal() noexcept {
    HostTerminal host;
    host.stdin_is_terminal = ::isatty(STDIN_FILENO) != 0;
    host.have_modes = host.stdin_is_terminal && ::tcgetattr(STDIN_FILENO, &host.modes) == 0;
    if (!host_window_size(&host.size)) {
        host.size = winsize{};
        host.size.ws_row = 24;
        host.size.ws_col = 80;
    }
    return host;
}

PtySettings pty_settings_for(const HostTerminal& host) noexcept {
    PtySettings settings;
    settings.enabled = true;
    settings.size = host.size;
    settings.copy_modes = host.have_modes;
    settings.modes = host.modes;
    return settings;
}

Result<RawMode> RawMode::enter(int fd) {
    RawMode mode;
    if (::tcgetattr(fd, &mode.saved_) != 0)
        return fail(Error::from_errno(Step::kTerminal, "read the terminal's modes"));
    termios raw = mode.saved_;
    ::cfmakeraw(&raw);
    g_raw_saved = mode.saved_;
    g_raw_fd = fd;
    install_fatal_handlers();
    mode.fd_ = fd;
    if (::tcsetattr(fd, TCSANOW, &raw) != 0)
        return fail(Error::from_errno(Step::kTerminal, "put the terminal in raw mode"));
    return mode;
}

RawMode::RawMode(RawMode&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), saved_(other.saved_) {}

RawMode& RawMode::operator=(RawMode&& other) noexcept {
    if (this != &other) {
        restore();
        fd_ = std::exchange(other.fd_, -1);
        saved_ = other.saved_;
    }
    return *this;
}

void RawMode::restore() noexcept {
    if (fd_ < 0) return;
    // TCSANOW, not TCSADRAIN: a terminal whose reader has gone would never drain. Input still
    // queued is dropped: answers the terminal sent to the sandbox's last queries (cursor
    // position, colours) would otherwise be read by the caller's shell as typed text.
    ::tcsetattr(fd_, TCSANOW, &saved_);
    ::tcflush(fd_, TCIFLUSH);
    g_raw_fd = -1;
    remove_fatal_handlers();
    fd_ = -1;
}

}  // namespace nsbox::terminal
