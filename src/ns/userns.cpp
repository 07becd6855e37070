// Parent side: id maps for the sandbox's user namespace (see userns.hpp).
#include "ns/userns.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launch/clone.hpp"
#include "nsbox/spec.hpp"
#include "util/fs.hpp"
#include "util/sys.hpp"

namespace nsbox::ns {
namespace {

Result<void> write_proc_file(int proc_dir, const char* name, const std::string& content) {
    UniqueFd fd{::openat(proc_dir, name, O_WRONLY | O_CLOEXEC)};
    if (!fd)
        return fail(Error::from_errno(Step::kIdMaps, fmt::format("open /proc/<child>/{}", name)));
    return util::write_all(
        fd.get(), content, Step::kIdMaps,
        fmt::format("write {} \"{}\"", name, content.substr(0, content.size() - 1)));
}

// Holds the idmap helper in its user namespace until the parent closes the pipe. Its own copy
// of the write end is closed first, or the read would never see EOF.
void idmap_holder(void* arg) noexcept {
    const int* pipe_fds = static_cast<const int*>(arg);
    ::close(pipe_fds[1]);
    char byte;
    (void)!::read(pipe_fds[0], &byte, 1);
    ::_exit(0);
}

Result<void> write_maps(pid_t pid, const std::string& uid_line, const std::string& gid_line) {
    const std::string dir = fmt::format("/proc/{}", pid);
    UniqueFd proc_dir{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (!proc_dir) return fail(Error::from_errno(Step::kIdMaps, "open " + dir));
    if (auto r = write_proc_file(proc_dir.get(), "uid_map", uid_line); !r) return r;
    return write_proc_file(proc_dir.get(), "gid_map", gid_line);
}

}  // namespace

Result<UniqueFd> make_idmap_userns(uid_t owner_uid, gid_t owner_gid, uid_t to_uid, gid_t to_gid) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return fail(Error::from_errno(Step::kIdMaps, "pipe"));
    UniqueFd read_end{pipe_fds[0]};
    UniqueFd write_end{pipe_fds[1]};
    auto holder = launch::clone_sandbox(CLONE_NEWUSER, idmap_holder, pipe_fds);
    if (!holder) return fail(holder.error());
    auto reap = [&] {
        write_end.reset();
        siginfo_t info{};
        sys::retry_eintr([&] {
            return ::waitid(P_PIDFD, static_cast<id_t>(holder->pidfd.get()), &info, WEXITED);
        });
    };
    auto mapped = write_maps(holder->pid, fmt::format("{} {} 1\n", owner_uid, to_uid),
                             fmt::format("{} {} 1\n", owner_gid, to_gid));
    UniqueFd ns{
        mapped ? ::open(fmt::format("/proc/{}/ns/user", holder->pid).c_str(), O_RDONLY | O_CLOEXEC)
               : -1};
    const int err = errno;
    reap();
    if (!mapped) return fail(mapped.error());
    if (!ns) return fail(Error::system(Step::kIdMaps, err, "open the idmap user namespace"));
    return ns;
}

Result<void> write_id_maps(pid_t pid, int pidfd, uid_t host_uid, gid_t host_gid) {
    const std::string dir = fmt::format("/proc/{}", pid);
    UniqueFd proc_dir{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (!proc_dir) return fail(Error::from_errno(Step::kIdMaps, "open " + dir));
    if (sys::pidfd_send_signal(pidfd, 0) != 0)
        return fail(Error::from_errno(Step::kIdMaps, "sandbox process vanished"));
    if (auto r = write_proc_file(proc_dir.get(), "setgroups", "deny\n"); !r) return r;
    if (auto r = write_proc_file(proc_dir.get(), "uid_map",
                                 fmt::format("{} {} 1\n", kSandboxUid, host_uid));
        !r)
        return r;
    return write_proc_file(proc_dir.get(), "gid_map",
                           fmt::format("{} {} 1\n", kSandboxGid, host_gid));
}

}  // namespace nsbox::ns
