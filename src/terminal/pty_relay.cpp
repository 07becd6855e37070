// Relay between the sandbox's pty and nsbox's stdio (see pty_relay.hpp).
#include "terminal/pty_relay.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "supervise/output_relay.hpp"

namespace nsbox::terminal {
namespace {

// At most PIPE_BUF per write: after POLLOUT a pipe takes that much without blocking, so a slow
// reader of nsbox's stdout cannot stall the loop that also watches the sandbox.
constexpr std::size_t kWriteChunk = 4096;
// Room kept at the end of the output buffer for the output-limit marker.
constexpr std::size_t kMarkerRoom = 160;
// How long piped input must have been written before its end is passed on: the sandbox's
// reader has then most likely switched its terminal to the mode it reads the end in (an end
// sent in canonical mode and read in raw mode arrives as a NUL byte).
constexpr std::chrono::milliseconds kEofQuiet{100};
constexpr int kTickMs = 50;
constexpr int kEofSends = 3;

bool transient(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

}  // namespace

PtyRelay::PtyRelay(int in_fd, int out_fd, std::uint64_t output_limit)
    : in_fd_(in_fd), out_fd_(out_fd), limit_(output_limit), in_is_terminal_(::isatty(in_fd)) {
    // A terminal takes a write after POLLOUT only as far as it has room, and a stalled one
    // (a frozen emulator, a stuck ssh channel) would block the supervisor's loop: write through
    // a non-blocking description of its own. (Pipes take kWriteChunk after POLLOUT anyway;
    // files must keep their offset, so they are left alone.)
    struct stat st {};
    if (::fstat(out_fd, &st) == 0 && S_ISCHR(st.st_mode)) {
        const std::string path = "/proc/self/fd/" + std::to_string(out_fd);
        own_out_.reset(::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
        if (own_out_) out_fd_ = own_out_.get();
    }
}

Result<void> PtyRelay::adopt(UniqueFd master) {
    if (hung_up_) {
        // Told to stop before the terminal arrived: hang it up at once (SIGHUP to the session).
        adopted_ = true;
        return {};
    }
    const int flags = ::fcntl(master.get(), F_GETFL);
    if (flags < 0 || ::fcntl(master.get(), F_SETFL, flags | O_NONBLOCK) != 0)
        return fail(Error::from_errno(Step::kTerminal, "set up the sandbox's terminal"));
    master_ = std::move(master);
    adopted_ = true;
    if (in_is_terminal_) {
        auto raw = RawMode::enter(in_fd_);
        if (!raw) return fail(raw.error());
        raw_ = std::move(*raw);
    }
    resize();
    return {};
}

void PtyRelay::fill(pollfd* fds) const {
    for (int i = 0; i < kSlots; ++i) fds[i] = {-1, 0, 0};
    if (!adopted_) return;
    if (input_open_ && master_ && in_len_ == 0) fds[0] = {in_fd_, POLLIN, 0};
    if (master_) {
        short events = 0;
        if (master_readable_ && out_len_ == 0) events |= POLLIN;
        if (in_len_ > 0) events |= POLLOUT;
        // A master with no events asked would still report POLLHUP once the sandbox closed
        // its terminal, and spin the loop: leave it out then.
        if (events != 0) fds[1] = {master_.get(), events, 0};
    }
    if (out_len_ > 0) fds[2] = {out_fd_, POLLOUT, 0};
}

bool PtyRelay::on_ready(const pollfd* fds) {
    constexpr short kAny = POLLIN | POLLOUT | POLLHUP | POLLERR;
    bool just_exceeded = false;
    if (fds[0].fd >= 0 && (fds[0].revents & kAny)) read_input();
    if (fds[1].fd >= 0 && (fds[1].revents & kAny) && master_) {
        if (in_len_ > 0 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) write_input();
        if (master_readable_ && out_len_ == 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)))
            just_exceeded = read_output();
    }
    if (fds[2].fd >= 0 && (fds[2].revents & kAny)) write_output();
    return just_exceeded;
}

void PtyRelay::read_input() {
    const ssize_t n = ::read(in_fd_, in_buf_.data(), in_buf_.size());
    if (n > 0) {
        in_len_ = static_cast<std::size_t>(n);
        in_pos_ = 0;
        return;
    }
    if (n < 0 && transient(errno)) return;
    input_open_ = false;
    // A terminal that reads as closed has hung up; a pipe has simply ended.
    if (in_is_terminal_) {
        hang_up();
    } else {
        eof_sends_left_ = kEofSends;
    }
}

bool PtyRelay::input_idle() const noexcept {
    return in_len_ == 0 && std::chrono::steady_clock::now() - input_written_at_ >= kEofQuiet;
}

int PtyRelay::poll_timeout_ms() const noexcept {
    return eof_sends_left_ > 0 && master_ ? kTickMs : -1;
}

void PtyRelay::on_tick() {
    if (eof_sends_left_ > 0 && master_ && input_idle()) queue_end_of_file();
}

// The end of input as a person types it: the terminal's EOF character (^D). In canonical mode
// an unfinished line needs one to end the line and another to read as the end.
void PtyRelay::queue_end_of_file() {
    --eof_sends_left_;
    termios modes{};
    // On a pty master, tcgetattr reports the terminal's (slave side's) modes.
    if (::tcgetattr(master_.get(), &modes) != 0) return;
    const char eof = static_cast<char>(modes.c_cc[VEOF]);
    in_buf_[0] = eof;
    in_len_ = 1;
    if ((modes.c_lflag & ICANON) && last_key_ != '\n') in_buf_[in_len_++] = eof;
    in_pos_ = 0;
}

void PtyRelay::write_input() {
    const ssize_t n = ::write(master_.get(), in_buf_.data() + in_pos_, in_len_ - in_pos_);
    if (n < 0) {
        if (!transient(errno)) in_len_ = in_pos_ = 0;  // the terminal is gone: drop the keys
        return;
    }
    in_pos_ += static_cast<std::size_t>(n);
    last_key_ = in_buf_[in_pos_ - 1];
    input_written_at_ = std::chrono::steady_clock::now();
    if (in_pos_ == in_len_) in_len_ = in_pos_ = 0;
}

bool PtyRelay::read_output() {
    const ssize_t n = ::read(master_.get(), out_buf_.data(), out_buf_.size() - kMarkerRoom);
    if (n < 0 && transient(errno)) return false;
    if (n <= 0) {  // EIO: every sandbox process has closed the terminal
        master_readable_ = false;
        return false;
    }
    auto got = static_cast<std::size_t>(n);
    if (exceeded_ || !output_open_) return false;  // swallowed until the sandbox is gone
    bool just_exceeded = false;
    if (limit_ != 0 && bytes_ + got > limit_) {
        got = static_cast<std::size_t>(limit_ - bytes_);
        const std::string marker = supervise::output_limit_marker(limit_, "\r\n");
        std::copy(marker.begin(), marker.end(), out_buf_.begin() + static_cast<long>(got));
        out_len_ = got + marker.size();
        exceeded_ = just_exceeded = true;
    } else {
        out_len_ = got;
    }
    bytes_ += got;
    out_pos_ = 0;
    return just_exceeded;
}

void PtyRelay::write_output() {
    const std::size_t chunk = std::min(kWriteChunk, out_len_ - out_pos_);
    const ssize_t n = ::write(out_fd_, out_buf_.data() + out_pos_, chunk);
    if (n < 0 && transient(errno)) return;
    if (n <= 0) {
        // Nobody reads nsbox's output any more (a closed terminal or pipe): the session ends
        // as it would for a shell whose terminal went away.
        output_open_ = false;
        out_len_ = out_pos_ = 0;
        hang_up();
        return;
    }
    out_pos_ += static_cast<std::size_t>(n);
    if (out_pos_ == out_len_) out_len_ = out_pos_ = 0;
}

void PtyRelay::resize() noexcept {
    winsize size{};
    if (master_ && host_window_size(&size)) ::ioctl(master_.get(), TIOCSWINSZ, &size);
}

void PtyRelay::hang_up() noexcept {
    if (hung_up_) return;
    hung_up_ = true;
    master_.reset();
    input_open_ = false;
    master_readable_ = false;
    in_len_ = in_pos_ = 0;
}

void PtyRelay::drain(std::chrono::milliseconds max_wait) {
    const auto deadline = std::chrono::steady_clock::now() + max_wait;
    input_open_ = false;  // no more keys: the sandbox is gone
    eof_sends_left_ = 0;
    in_len_ = in_pos_ = 0;
    while ((master_ && master_readable_) || (output_open_ && out_len_ > 0)) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd fds[kSlots];
        fill(fds);
        const int r = ::poll(fds, kSlots, static_cast<int>(left.count()));
        if (r < 0 && errno != EINTR) break;
        if (r > 0) on_ready(fds);
    }
    raw_.restore();
}

}  // namespace nsbox::terminal
