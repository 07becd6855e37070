// Integration-test harness implementation (see harness.hpp).
#include "harness.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

namespace nsbox::test {
namespace fs = std::filesystem;

std::string nsbox_bin() { return NSBOX_BIN; }
std::string probe_bin() { return NSBOX_PROBE_BIN; }

std::vector<std::string> probe_command(const std::vector<std::string>& actions,
                                       const std::vector<std::string>& extra_flags) {
    return probe_command_at("/probe", actions, extra_flags);
}

std::vector<std::string> probe_command_at(const std::string& destination,
                                          const std::vector<std::string>& actions,
                                          const std::vector<std::string>& extra_flags) {
    std::vector<std::string> args = {"run", "--ro-bind", probe_bin() + ":" + destination};
    args.insert(args.end(), extra_flags.begin(), extra_flags.end());
    args.push_back("--");
    args.push_back(destination);
    args.insert(args.end(), actions.begin(), actions.end());
    return args;
}

std::string unique_marker(const std::string& label) {
    static unsigned counter = 0;
    std::random_device random;
    return label + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + "-" +
           std::to_string(random() % 1000000);
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) lines.push_back(line);
    return lines;
}

nlohmann::json read_json_file(const fs::path& file) {
    std::ifstream in(file);
    if (!in) return nullptr;
    nlohmann::json parsed = nlohmann::json::parse(in, nullptr, false);
    return parsed.is_discarded() ? nlohmann::json() : parsed;
}

namespace {

std::vector<std::string> child_environment(const RunSettings& settings) {
    std::map<std::string, std::string> env = {{"PATH", "/usr/local/bin:/usr/bin:/bin"}};
    // What a login session gives every process: nsbox finds the user's systemd manager (for a
    // cgroup scope) and its runtime directory (for the compiled-filter cache) through them.
    for (const char* name : {"HOME", "XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS"})
        if (const char* value = std::getenv(name)) env[name] = value;
    for (const auto& [k, v] : settings.extra_env) env[k] = v;
    std::vector<std::string> out;
    for (const auto& [k, v] : env) out.push_back(k + "=" + v);
    return out;
}

// With `terminal_path`, stdin and stdout are that terminal, made the controlling terminal of
// a new session; otherwise they are the given pipes and nsbox leads a new process group.
[[noreturn]] void exec_child(const std::vector<std::string>& args, const RunSettings& settings,
                             int in, int out, int err, const std::string& terminal_path) {
    if (terminal_path.empty()) {
        ::dup2(in, 0);
        ::dup2(out, 1);
        ::setpgid(0, 0);
    } else {
        ::setsid();
        const int tty = ::open(terminal_path.c_str(), O_RDWR);
        if (tty < 0 || ::ioctl(tty, TIOCSCTTY, 0) != 0) ::_exit(123);
        // No echo and no "\r\n": the output then reads like the pipe's; Ctrl-C still signals.
        termios mode{};
        ::tcgetattr(tty, &mode);
        mode.c_lflag &= ~static_cast<tcflag_t>(ECHO | ECHOCTL);
        mode.c_oflag &= ~static_cast<tcflag_t>(ONLCR);
        ::tcsetattr(tty, TCSANOW, &mode);
        ::dup2(tty, 0);
        ::dup2(tty, 1);
        if (tty > 2) ::close(tty);
    }
    ::dup2(err, 2);
    if (!settings.cwd.empty() && ::chdir(settings.cwd.c_str()) != 0) ::_exit(121);
    std::vector<std::string> env = child_environment(settings);
    std::vector<char*> argv{const_cast<char*>(NSBOX_BIN)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    ::execve(NSBOX_BIN, argv.data(), envp.data());
    ::_exit(122);
}

nlohmann::json last_json_line(const std::string& text) {
    std::istringstream in(text);
    std::string line, last;
    while (std::getline(in, line))
        if (!line.empty()) last = line;
    return nlohmann::json::parse(last, nullptr, false).is_discarded() ? nlohmann::json()
                                                                      : nlohmann::json::parse(last);
}

}  // namespace

AsyncRun::AsyncRun(const std::vector<std::string>& args, const RunSettings& settings)
    : limit_(settings.limit) {
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC)) std::abort();
    int terminal = -1;
    std::string terminal_path;
    if (settings.terminal) {
        terminal = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (terminal < 0 || ::grantpt(terminal) != 0 || ::unlockpt(terminal) != 0) std::abort();
        terminal_path = ::ptsname(terminal);
    }
    pid_ = ::fork();
    if (pid_ < 0) std::abort();
    if (pid_ == 0) exec_child(args, settings, in[0], out[1], err[1], terminal_path);
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    out_fd_ = out[0];
    err_fd_ = err[0];
    if (terminal >= 0) {
        // The terminal's output replaces the stdout pipe, which nothing writes to then.
        ::close(out_fd_);
        out_fd_ = terminal;
        terminal_fd_ = terminal;
    }
    if (!settings.stdin_data.empty())
        (void)!::write(in[1], settings.stdin_data.data(), settings.stdin_data.size());
    ::close(in[1]);
}

AsyncRun::~AsyncRun() {
    if (!reaped_) {
        ::kill(-pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) ::close(out_fd_);
    if (err_fd_ >= 0) ::close(err_fd_);
}

// Appends whatever arrives until both pipes reach EOF, `wanted_line` (when given) is a complete
// stdout line, or `deadline` passes. True only when the wanted line was seen.
bool AsyncRun::pump(std::chrono::steady_clock::time_point deadline,
                    const std::string* wanted_line) {
    const auto line_seen = [&] {
        return wanted_line != nullptr &&
               ("\n" + result_.stdout_text).find("\n" + *wanted_line + "\n") != std::string::npos;
    };
    while (out_fd_ >= 0 || err_fd_ >= 0) {
        if (line_seen()) return true;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
        if (::poll(fds, 2, static_cast<int>(left.count())) < 0) continue;
        char buf[65536];
        for (int i = 0; i < 2; ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            int& fd = i == 0 ? out_fd_ : err_fd_;
            const ssize_t n = ::read(fd, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                ::close(fd);
                fd = -1;
                continue;
            }
            (i == 0 ? result_.stdout_text : result_.stderr_text)
                .append(buf, static_cast<size_t>(n));
        }
    }
    return line_seen();
}

bool AsyncRun::wait_for_line(const std::string& line, std::chrono::seconds limit) {
    return pump(std::chrono::steady_clock::now() + limit, &line);
}

void AsyncRun::send_signal(int signo) const {
    if (!reaped_) ::kill(pid_, signo);
}

void AsyncRun::type_on_terminal(const std::string& text) const {
    if (terminal_fd_ >= 0 && terminal_fd_ == out_fd_)
        (void)!::write(terminal_fd_, text.data(), text.size());
}

RunOutput AsyncRun::finish() {
    if (reaped_) return result_;
    if (!pump(std::chrono::steady_clock::now() + limit_, nullptr) &&
        (out_fd_ >= 0 || err_fd_ >= 0)) {
        // Output still open at the limit: something in or around the sandbox outlived it.
        result_.timed_out = true;
        ::kill(-pid_, SIGKILL);
    }
    int status = 0;
    ::waitpid(pid_, &status, 0);
    reaped_ = true;
    result_.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result_.probe = last_json_line(result_.stdout_text);
    return result_;
}

RunOutput run_nsbox(const std::vector<std::string>& args, const RunSettings& settings) {
    return AsyncRun(args, settings).finish();
}

RunOutput run_probe(const std::vector<std::string>& actions,
                    const std::vector<std::string>& extra_flags, const RunSettings& settings) {
    const TempDir workspace;
    std::vector<std::string> flags = {"--workspace", workspace.path().string()};
    flags.insert(flags.end(), extra_flags.begin(), extra_flags.end());
    return run_nsbox(probe_command(actions, flags), settings);
}

namespace {

fs::path test_temp_root() {
    const char* root = std::getenv("NSBOX_TEST_TMPDIR");
    return root && *root ? root : "/tmp";
}

}  // namespace

TempDir::TempDir() {
    std::string pattern = (test_temp_root() / "nsbox-it-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) std::abort();
    path_ = pattern;
    ::chmod(path_.c_str(), 0755);
}

TempDir::~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
}

void TempDir::write(const std::string& relative, const std::string& content, unsigned mode) const {
    const fs::path file = path_ / relative;
    fs::create_directories(file.parent_path());
    std::ofstream(file) << content;
    fs::permissions(file, static_cast<fs::perms>(mode));
}

std::string TempDir::read(const std::string& relative) const {
    std::ifstream in(path_ / relative);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<std::string> host_mount_points() {
    std::ifstream in("/proc/self/mountinfo");
    std::vector<std::string> out;
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string id, parent, dev, root, target;
        fields >> id >> parent >> dev >> root >> target;
        out.push_back(target);
    }
    return out;
}

// Read with read(2): a process that exits meanwhile makes the read fail (ESRCH), which an
// istream would turn into an exception.
std::string read_text(const fs::path& file) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return {};
    std::string text;
    char buffer[4096];
    for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;)
        text.append(buffer, static_cast<std::size_t>(n));
    ::close(fd);
    return text;
}

std::vector<int> processes_with(const std::string& marker) {
    std::vector<int> pids;
    for (const auto& entry : fs::directory_iterator("/proc")) {
        const std::string name = entry.path().filename();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        if (read_text(entry.path() / "cmdline").find(marker) != std::string::npos)
            pids.push_back(std::stoi(name));
    }
    return pids;
}

std::vector<std::string> nsbox_temp_entries() {
    // Test fixtures that share the prefix and come and go while other tests run (-j2):
    // this harness's TempDirs, the unit tests' mkdtemp dirs and scripts/test.sh's staged tree.
    static const char* const kTestPrefixes[] = {"nsbox-it-", "nsbox_", "nsbox-test-"};
    std::set<std::string> entries;
    for (const fs::path& dir : {test_temp_root(), fs::path("/tmp")}) {
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(dir, ec)) {
            const std::string name = entry.path().filename();
            if (name.rfind("nsbox", 0) != 0) continue;
            bool fixture = false;
            for (const char* prefix : kTestPrefixes) fixture |= name.rfind(prefix, 0) == 0;
            if (!fixture) entries.insert(entry.path().string());
        }
    }
    return {entries.begin(), entries.end()};
}

}  // namespace nsbox::test
