// Joining a systemd scope through the nsbox-scope helper (see systemd_scope.hpp).
#include "limits/systemd_scope.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "nsbox/unique_fd.hpp"
#include "util/log.hpp"
#include "util/sys.hpp"

namespace nsbox::limits {
namespace {

// The helper waits up to 20 s for systemd's job (a loaded or emulated machine can be slow);
// this bounds a helper that hangs before it gets that far.
constexpr auto kHelperDeadline = std::chrono::seconds(30);
constexpr std::size_t kMaxHelperOutput = 4096;

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

// Whether a manager can be asked at all (spawning the helper on hosts without one would cost
// a few milliseconds for a certain "no"); if not, why not and what would help.
bool manager_reachable(ScopeAttempt& attempt) {
    const char* runtime_dir = std::getenv("XDG_RUNTIME_DIR");
    if (runtime_dir == nullptr || runtime_dir[0] != '/') {
        attempt.cause = "no systemd user manager (XDG_RUNTIME_DIR is not set)";
        // su and sudo do not set it, though the user's manager may well be running.
        const std::string usual = fmt::format("/run/user/{}", ::geteuid());
        if (exists(usual + "/systemd/private"))
            attempt.fix =
                fmt::format("export XDG_RUNTIME_DIR={} (su and sudo do not set it)", usual);
        return false;
    }
    const std::string dir = runtime_dir;
    if (exists(dir + "/systemd/private") || exists(dir + "/bus") ||
        std::getenv("DBUS_SESSION_BUS_ADDRESS") != nullptr)
        return true;
    attempt.cause =
        fmt::format("no systemd user manager runs for you ({}/systemd/private is missing)", dir);
    attempt.fix =
        "let one run (a login session starts it; `loginctl enable-linger` keeps it), or run nsbox "
        "in a systemd unit with Delegate=yes";
    return false;
}

std::string trim(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    if (const auto newline = text.rfind('\n'); newline != std::string::npos)
        text.erase(0, newline + 1);  // the last line says why
    return text;
}

}  // namespace

std::string scope_helper_for(std::string_view exe) {
    const std::filesystem::path bin = std::filesystem::path(exe).parent_path();
    return (bin.parent_path() / "libexec" / "nsbox" / "nsbox-scope").string();
}

ScopeAttempt join_systemd_scope() {
    ScopeAttempt attempt;
    if (!manager_reachable(attempt)) return attempt;
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    const std::string helper = scope_helper_for(exe.string());
    if (ec || ::access(helper.c_str(), X_OK) != 0) {
        attempt.cause = fmt::format("the systemd scope helper {} is missing", helper);
        return attempt;
    }

    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
        attempt.cause = fmt::format("pipe: {}", std::strerror(errno));
        return attempt;
    }
    UniqueFd read_end(pipe_fds[0]);
    UniqueFd write_end(pipe_fds[1]);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDERR_FILENO);
    const std::string pid = std::to_string(::getpid());
    char* const argv[] = {const_cast<char*>(helper.c_str()), const_cast<char*>(pid.c_str()),
                          nullptr};
    pid_t child = 0;
    const int spawn_error = ::posix_spawn(&child, helper.c_str(), &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    write_end.reset();
    if (spawn_error != 0) {
        attempt.cause = fmt::format("cannot run {}: {}", helper, std::strerror(spawn_error));
        return attempt;
    }

    std::string output;
    const auto deadline = std::chrono::steady_clock::now() + kHelperDeadline;
    bool timed_out = false;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timed_out = true;
            break;
        }
        pollfd pfd{read_end.get(), POLLIN, 0};
        const int ready =
            sys::retry_eintr([&] { return ::poll(&pfd, 1, static_cast<int>(left.count())); });
        if (ready < 0) break;
        if (ready == 0) continue;
        char buffer[512];
        const ssize_t n =
            sys::retry_eintr([&] { return ::read(read_end.get(), buffer, sizeof buffer); });
        if (n <= 0) break;
        if (output.size() < kMaxHelperOutput) output.append(buffer, static_cast<std::size_t>(n));
    }
    if (timed_out) ::kill(child, SIGKILL);
    int status = 0;
    sys::retry_eintr([&] { return ::waitpid(child, &status, 0); });
    output = trim(std::move(output));
    if (timed_out) {
        attempt.cause =
            fmt::format("the systemd manager did not answer within {} s", kHelperDeadline.count());
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && output.ends_with(".scope")) {
        attempt.joined = true;
        attempt.unit = std::move(output);
        log::debug("joined the systemd scope {}", attempt.unit);
    } else {
        attempt.cause = output.empty() ? "the systemd scope helper failed" : std::move(output);
    }
    return attempt;
}

}  // namespace nsbox::limits
