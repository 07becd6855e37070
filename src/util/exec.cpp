// Host programs (see exec.hpp).
#include "util/exec.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace nsbox::util {
namespace {

constexpr int kStopSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

int decode(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

volatile sig_atomic_t g_parent_died = 0;
void note_parent_death(int) { g_parent_died = 1; }

// In the forked child that leads the new process group: fork the program, then stay as its
// watchdog. When nsbox dies (even by SIGKILL, through the parent-death signal), the watchdog
// stops the whole group, the program's own helpers included; a program told alone (mmdebstrap
// with apt still at work) would wait for them. Otherwise it passes on the program's status.
// Returns only in the program's process, with all signals still blocked.
void watch_group(pid_t nsbox) {
    sigset_t all;
    sigfillset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);
    const pid_t program = ::fork();
    if (program < 0) _exit(125);
    if (program == 0) {
        ::prctl(PR_SET_PDEATHSIG, 0);
        return;
    }
    struct sigaction on_death {};
    on_death.sa_handler = note_parent_death;
    ::sigaction(SIGTERM, &on_death, nullptr);
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    ::sigprocmask(SIG_UNBLOCK, &term, nullptr);
    if (::getppid() != nsbox) g_parent_died = 1;
    int status = 0;
    bool stopping = false;
    int grace_ticks = 0;
    for (;;) {
        const pid_t done = ::waitpid(program, &status, stopping ? WNOHANG : 0);
        if (done == program) break;
        if (g_parent_died && !stopping) {
            stopping = true;
            ::kill(0, SIGTERM);  // the group, this watchdog included (its handler notes it)
        }
        if (stopping) {
            ::usleep(100 * 1000);
            if (++grace_ticks == 100) ::kill(0, SIGKILL);
        }
    }
    if (stopping) ::kill(0, SIGKILL);
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

// fork + exec rather than posix_spawn: the child must also die with nsbox. Default signal
// mask and dispositions in the child, stdin from /dev/null (nothing here reads the caller's
// terminal), optionally a process group of its own. The caller is single-threaded.
Result<pid_t> spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                    bool own_group) {
    if (argv.empty()) return fail(Error::internal("spawn: empty argv"));
    const std::string program = find_program(argv.front());
    if (program.empty())
        return fail(Error::system(Step::kRootfs, ENOENT, argv.front() + ": not found in PATH"));
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    // `env` replaces inherited variables of the same name (getenv takes the first match).
    auto replaced = [&env](std::string_view entry) {
        const std::string_view name = entry.substr(0, entry.find('='));
        return std::any_of(env.begin(), env.end(), [&](const std::string& e) {
            return e.size() > name.size() && e.compare(0, name.size(), name) == 0 &&
                   e[name.size()] == '=';
        });
    };
    std::vector<char*> envp;
    for (char** e = environ; e && *e; ++e)
        if (!replaced(*e)) envp.push_back(*e);
    for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) return fail(Error::from_errno(Step::kRootfs, "fork"));
    if (pid > 0) {
        if (own_group) ::setpgid(pid, pid);  // also here: no race with the caller's kill(-pid)
        return pid;
    }
    if (own_group) ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) _exit(125);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null < 0) _exit(125);
    if (null == STDIN_FILENO) {
        ::fcntl(STDIN_FILENO, F_SETFD, 0);
    } else if (::dup2(null, STDIN_FILENO) < 0 || ::close(null) != 0) {
        _exit(125);
    }
    if (own_group) watch_group(parent);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(program.c_str(), args.data(), envp.data());
    _exit(127);
}

// Blocks the stop signals and SIGCHLD for the scope, restoring the old mask after.
class BlockedSignals {
 public:
    BlockedSignals() {
        sigemptyset(&set_);
        for (const int sig : kStopSignals) sigaddset(&set_, sig);
        sigaddset(&set_, SIGCHLD);
        sigprocmask(SIG_BLOCK, &set_, &old_);
    }
    ~BlockedSignals() { sigprocmask(SIG_SETMASK, &old_, nullptr); }
    BlockedSignals(const BlockedSignals&) = delete;
    BlockedSignals& operator=(const BlockedSignals&) = delete;
    [[nodiscard]] const sigset_t& set() const { return set_; }

 private:
    sigset_t set_{};
    sigset_t old_{};
};

}  // namespace

std::string find_program(std::string_view name) {
    auto executable = [](const std::string& path) {
        struct stat st {};
        return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
               ::access(path.c_str(), X_OK) == 0;
    };
    if (name.find('/') != std::string_view::npos)
        return executable(std::string(name)) ? std::string(name) : std::string();
    const char* path = std::getenv("PATH");
    std::istringstream dirs(path && *path ? path : "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        if (dir.empty() || dir.front() != '/') continue;  // never the current directory
        std::string candidate = dir + "/" + std::string(name);
        if (executable(candidate)) return candidate;
    }
    return {};
}

Result<int> run_program(const std::vector<std::string>& argv) {
    auto pid = spawn(argv, {}, false);
    if (!pid) return fail(pid.error());
    int status = 0;
    while (::waitpid(*pid, &status, 0) < 0) {
        if (errno != EINTR) return fail(Error::from_errno(Step::kRootfs, "waitpid"));
    }
    return decode(status);
}

Result<Interruptible> run_interruptible(const std::vector<std::string>& argv,
                                        const std::vector<std::string>& extra_env,
                                        int grace_seconds) {
    BlockedSignals blocked;
    auto pid = spawn(argv, extra_env, true);
    if (!pid) return fail(pid.error());
    Interruptible result;
    using Clock = std::chrono::steady_clock;
    Clock::time_point kill_at{};
    for (;;) {
        int status = 0;
        const pid_t done = ::waitpid(*pid, &status, WNOHANG);
        if (done == *pid) {
            result.exit_status = decode(status);
            break;
        }
        if (done < 0 && errno != EINTR) return fail(Error::from_errno(Step::kRootfs, "waitpid"));
        const timespec tick{0, 200L * 1000 * 1000};
        const int sig = ::sigtimedwait(&blocked.set(), nullptr, &tick);
        if (sig > 0 && sig != SIGCHLD && result.stopped_by == 0) {
            result.stopped_by = sig;
            ::kill(-*pid, SIGTERM);
            kill_at = Clock::now() + std::chrono::seconds(grace_seconds);
        }
        if (result.stopped_by != 0 && Clock::now() >= kill_at) ::kill(-*pid, SIGKILL);
    }
    // What the group leader left running (helpers of its own) goes with it.
    ::kill(-*pid, SIGKILL);
    return result;
}

}  // namespace nsbox::util
