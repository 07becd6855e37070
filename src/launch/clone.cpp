// Parent side: clone3/clone with a pidfd (see clone.hpp).
#include "launch/clone.hpp"

#include <linux/sched.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>

namespace nsbox::launch {
namespace {

// Raw clone3 behaves like fork: the child runs on a copy of this stack and returns 0 here.
// No glibc atfork handlers run, which is why the child may not allocate.
long raw_clone3(unsigned long flags, int* pidfd, int cgroup_fd) noexcept {
    clone_args args{};
    args.flags = flags | CLONE_PIDFD;
    if (cgroup_fd >= 0) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = static_cast<std::uint64_t>(cgroup_fd);
    }
    args.pidfd = reinterpret_cast<std::uintptr_t>(pidfd);
    args.exit_signal = SIGCHLD;
    return ::syscall(SYS_clone3, &args, sizeof args);
}

long raw_clone(unsigned long flags, int* pidfd) noexcept {
    // x86_64 and arm64 order: flags, stack, parent_tid (receives the pidfd), child_tid, tls.
    return ::syscall(SYS_clone, flags | CLONE_PIDFD | SIGCHLD, nullptr, pidfd, nullptr, nullptr);
}

}  // namespace

Result<ClonedChild> clone_sandbox(unsigned long namespace_flags, ChildEntry entry, void* arg,
                                  int cgroup_fd) {
    int pidfd = -1;
    long pid = raw_clone3(namespace_flags, &pidfd, cgroup_fd);
    if (pid < 0 && errno == ENOSYS) {
        if (cgroup_fd >= 0)
            return fail(Error::system(Step::kClone, ENOSYS,
                                      "clone3 is unavailable (Linux < 5.7, or a seccomp filter "
                                      "around nsbox), so the sandbox cannot start in its "
                                      "cgroup; use --limits best-effort with no cgroup limits"));
        pid = raw_clone(namespace_flags, &pidfd);
    }
    if (pid < 0) {
        const int err = errno;
        std::string hint = "create namespaces";
        if (err == EPERM || err == ENOSPC || err == EACCES)
            hint +=
                " (are unprivileged user namespaces disabled? see `sysctl "
                "user.max_user_namespaces` and kernel.apparmor_restrict_unprivileged_userns)";
        return fail(Error::system(Step::kClone, err, hint));
    }
    if (pid == 0) {
        entry(arg);
        ::_exit(125);
    }
    ClonedChild child;
    child.pid = static_cast<pid_t>(pid);
    child.pidfd.reset(pidfd);
    return child;
}

}  // namespace nsbox::launch
