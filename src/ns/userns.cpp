// Parent side: id maps for the sandbox's user namespace (see userns.hpp).
#include "ns/userns.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <unistd.h>

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

}  // namespace

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
