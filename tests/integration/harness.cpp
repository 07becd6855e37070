// Integration-test harness implementation (see harness.hpp).
#include "harness.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace nsbox::test {
namespace fs = std::filesystem;

std::string nsbox_bin() { return NSBOX_BIN; }
std::string probe_bin() { return NSBOX_PROBE_BIN; }

std::vector<std::string> probe_command(const std::vector<std::string>& actions,
                                       const std::vector<std::string>& extra_flags) {
    std::vector<std::string> args = {"run", "--ro-bind", probe_bin() + ":/probe"};
    args.insert(args.end(), extra_flags.begin(), extra_flags.end());
    args.push_back("--");
    args.push_back("/probe");
    args.insert(args.end(), actions.begin(), actions.end());
    return args;
}

namespace {

std::vector<std::string> child_environment(const RunSettings& settings) {
    std::map<std::string, std::string> env = {{"PATH", "/usr/local/bin:/usr/bin:/bin"}};
    if (const char* home = std::getenv("HOME")) env["HOME"] = home;
    for (const auto& [k, v] : settings.extra_env) env[k] = v;
    std::vector<std::string> out;
    for (const auto& [k, v] : env) out.push_back(k + "=" + v);
    return out;
}

[[noreturn]] void exec_child(const std::vector<std::string>& args, const RunSettings& settings,
                             int in, int out, int err) {
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::setpgid(0, 0);
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

void pump(RunOutput& result, int out_fd, int err_fd, pid_t pid, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    bool out_open = true, err_open = true;
    while (out_open || err_open) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            result.timed_out = true;
            ::kill(-pid, SIGKILL);
            break;
        }
        pollfd fds[2] = {{out_open ? out_fd : -1, POLLIN, 0}, {err_open ? err_fd : -1, POLLIN, 0}};
        if (::poll(fds, 2, static_cast<int>(left.count())) < 0) continue;
        char buf[65536];
        for (int i = 0; i < 2; ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
            const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
            if (n <= 0) {
                (i == 0 ? out_open : err_open) = false;
                continue;
            }
            (i == 0 ? result.stdout_text : result.stderr_text).append(buf, static_cast<size_t>(n));
        }
    }
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

RunOutput run_nsbox(const std::vector<std::string>& args, const RunSettings& settings) {
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC)) std::abort();
    const pid_t pid = ::fork();
    if (pid == 0) exec_child(args, settings, in[0], out[1], err[1]);
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    if (!settings.stdin_data.empty())
        (void)!::write(in[1], settings.stdin_data.data(), settings.stdin_data.size());
    ::close(in[1]);
    RunOutput result;
    pump(result, out[0], err[0], pid, settings.limit);
    ::close(out[0]);
    ::close(err[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.probe = last_json_line(result.stdout_text);
    return result;
}

TempDir::TempDir() {
    const char* root = std::getenv("NSBOX_TEST_TMPDIR");
    std::string pattern = (fs::path(root && *root ? root : "/tmp") / "nsbox-it-XXXXXX").string();
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

std::vector<int> processes_with(const std::string& marker) {
    std::vector<int> pids;
    for (const auto& entry : fs::directory_iterator("/proc")) {
        const std::string name = entry.path().filename();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream in(entry.path() / "cmdline");
        std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (cmdline.find(marker) != std::string::npos) pids.push_back(std::stoi(name));
    }
    return pids;
}

}  // namespace nsbox::test
