// TerminalSession (see terminal_session.hpp).
#include "terminal_session.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <regex>
#include <sstream>

#include "harness.hpp"

namespace nsbox::test {
namespace fs = std::filesystem;

namespace {

constexpr const char* kWrapper =
    "before=$1; after=$2; shift 2; stty -g > \"$before\"; \"$@\"; echo \"nsbox-exit=$?\"; "
    "stty -g > \"$after\"; line=; read -r -t 1 line; echo \"outer-read=[$line]\"";

std::vector<pid_t> children_of(pid_t pid) {
    std::vector<pid_t> out;
    std::istringstream in(
        read_text("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children"));
    pid_t child = 0;
    while (in >> child) out.push_back(child);
    return out;
}

}  // namespace

TerminalSession::TerminalSession(const std::vector<std::string>& nsbox_args,
                                 const TerminalOptions& options) {
    const std::string marker = unique_marker("stty");
    before_ = fs::temp_directory_path() / (marker + ".before");
    after_ = fs::temp_directory_path() / (marker + ".after");
    std::vector<std::string> args = {
        "/bin/bash", "-c", kWrapper, "wrapper", before_.string(), after_.string(), nsbox_bin()};
    args.insert(args.end(), nsbox_args.begin(), nsbox_args.end());
    std::map<std::string, std::string> env = {{"PATH", "/usr/local/bin:/usr/bin:/bin"},
                                              {"TERM", "xterm"}};
    for (const char* name : {"HOME", "XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS"})
        if (const char* value = std::getenv(name)) env[name] = value;
    for (const auto& [k, v] : options.env) env[k] = v;
    std::vector<std::string> env_strings;
    for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);

    winsize size{};
    size.ws_row = options.rows;
    size.ws_col = options.cols;
    pid_ = ::forkpty(&master_, nullptr, nullptr, &size);
    if (pid_ < 0) std::abort();
    if (pid_ == 0) {
        if (!options.cwd.empty() && ::chdir(options.cwd.c_str()) != 0) ::_exit(121);
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        std::vector<char*> envp;
        for (auto& e : env_strings) envp.push_back(e.data());
        envp.push_back(nullptr);
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(122);
    }
    ::fcntl(master_, F_SETFD, FD_CLOEXEC);
}

TerminalSession::~TerminalSession() {
    if (!reaped_ && pid_ > 0) {
        if (auto nsbox = nsbox_pid()) ::kill(*nsbox, SIGKILL);
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    if (master_ >= 0) ::close(master_);
    std::error_code ec;
    fs::remove(before_, ec);
    fs::remove(after_, ec);
}

bool TerminalSession::pump(std::chrono::steady_clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd fd{master_, POLLIN, 0};
    if (::poll(&fd, 1, static_cast<int>(std::min<long>(left.count(), 200))) <= 0) return true;
    char buffer[4096];
    const ssize_t n = ::read(master_, buffer, sizeof buffer);
    if (n <= 0) return false;  // EIO: the wrapper and everything on the terminal are gone
    screen_.append(buffer, static_cast<std::size_t>(n));
    return true;
}

bool TerminalSession::wait_for(const std::string& text, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        const auto at = screen_.find(text, matched_);
        if (at != std::string::npos) {
            matched_ = at + text.size();
            return true;
        }
        if (!pump(deadline)) return false;
    }
}

void TerminalSession::type(const std::string& keys) const {
    (void)!::write(master_, keys.data(), keys.size());
}

void TerminalSession::resize(unsigned short rows, unsigned short cols) const {
    winsize size{};
    size.ws_row = rows;
    size.ws_col = cols;
    ::ioctl(master_, TIOCSWINSZ, &size);
}

std::optional<pid_t> TerminalSession::nsbox_pid() const {
    for (const pid_t child : children_of(pid_)) {
        const std::string exe =
            fs::read_symlink("/proc/" + std::to_string(child) + "/exe").filename().string();
        if (exe == "nsbox") return child;
    }
    return std::nullopt;
}

std::optional<pid_t> TerminalSession::sandbox_init_pid() const {
    const auto nsbox = nsbox_pid();
    if (!nsbox) return std::nullopt;
    for (const pid_t child : children_of(*nsbox)) {
        if (read_text("/proc/" + std::to_string(child) + "/cmdline").rfind("nsbox-init", 0) == 0)
            return child;
    }
    return std::nullopt;
}

int TerminalSession::finish(std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    const bool reported = wait_for("outer-read=[", limit);
    wait_for("]", std::chrono::seconds(2));
    while (pump(deadline)) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            reaped_ = true;
            break;
        }
    }
    if (!reaped_) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        reaped_ = true;
    }
    if (!reported) return -1;
    std::smatch m;
    static const std::regex exit_line("nsbox-exit=([0-9]+)");
    if (!std::regex_search(screen_, m, exit_line)) return -1;
    return std::stoi(m[1].str());
}

bool TerminalSession::modes_restored() const {
    const std::string before = read_text(before_);
    return !before.empty() && before == read_text(after_);
}

}  // namespace nsbox::test
