// Child side: the sandbox's init (PID 1). It reaps every zombie, forwards signals to the
// payload's process group, and when the payload exits reports its wait status and exits;
// the kernel then kills everything left in the pid namespace.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "launch/child.hpp"
#include "launch/sync.hpp"

namespace nsbox::launch {
namespace {

// Everything else in the sandbox dies, and is reaped, before the result is reported: once the
// parent has it, no sandbox process is left running, and the parent need not wait for the
// kernel to finish tearing the namespaces down.
[[noreturn]] void finish(int sync_fd, int status) noexcept {
    ::kill(-1, SIGKILL);
    while (::waitpid(-1, nullptr, 0) > 0 || errno == EINTR) {
    }
    // The output pipes (or the pty) reach EOF for the parent once no sandbox process holds
    // them.
    ::close(STDIN_FILENO);
    ::close(STDOUT_FILENO);
    ::close(STDERR_FILENO);
    SyncMsg msg;
    msg.kind = MsgKind::kExited;
    msg.value = status;
    rusage children{};
    rusage self{};
    if (::getrusage(RUSAGE_CHILDREN, &children) == 0 && ::getrusage(RUSAGE_SELF, &self) == 0) {
        auto us = [](const timeval& a, const timeval& b) {
            return (static_cast<std::int64_t>(a.tv_sec) + b.tv_sec) * 1'000'000 + a.tv_usec +
                   b.tv_usec;
        };
        msg.cpu_user_us = us(children.ru_utime, self.ru_utime);
        msg.cpu_system_us = us(children.ru_stime, self.ru_stime);
        msg.max_rss_kb = children.ru_maxrss;
    }
    (void)send_msg(sync_fd, msg);
    if (WIFEXITED(status)) ::_exit(WEXITSTATUS(status));
    ::_exit(128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0));
}

void reap(pid_t payload, int sync_fd) noexcept {
    for (;;) {
        int status = 0;
        const pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid <= 0) return;
        if (pid == payload && (WIFEXITED(status) || WIFSIGNALED(status))) finish(sync_fd, status);
    }
}

}  // namespace

[[noreturn]] void run_init(pid_t payload, int sync_fd) noexcept {
    // Signals stay blocked in the init (the parent blocked them before clone) and are taken
    // synchronously; blocked signals reach even a PID 1, which ignores default-action ones.
    sigset_t all;
    sigfillset(&all);
    ::sigprocmask(SIG_BLOCK, &all, nullptr);
    reap(payload, sync_fd);
    for (;;) {
        siginfo_t info{};
        const int sig = ::sigwaitinfo(&all, &info);
        if (sig < 0) continue;
        if (sig == SIGCHLD) {
            reap(payload, sync_fd);
            continue;
        }
        // The payload leads its own session and process group; a terminal's ^C reaches a
        // whole foreground group, and so does this.
        if (::kill(-payload, sig) != 0) ::kill(payload, sig);
    }
}

}  // namespace nsbox::launch
