// LaunchPlan: everything the child needs, built in the parent (allocation happens here), so the
// child between clone and exec only reads memory and makes system calls.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "limits/plan.hpp"
#include "ns/mount_plan.hpp"
#include "nsbox/result.hpp"
#include "nsbox/spec.hpp"
#include "nsbox/unique_fd.hpp"
#include "security/plan.hpp"
#include "terminal/pty.hpp"

namespace nsbox::launch {

// NUL-terminated argv/envp arrays that point into owned strings.
struct CStringArray {
    std::vector<std::string> storage;
    std::vector<char*> pointers;  // ends with nullptr

    void assign(std::vector<std::string> values);
    [[nodiscard]] char* const* data() const noexcept { return pointers.data(); }
};

struct LaunchPlan {
    // Host root sets up in the initial user namespace and only then enters a new user namespace
    // whose sandbox user maps to an unprivileged host id; everyone else creates the user
    // namespace first and maps their own uid.
    bool privileged_setup = false;
    unsigned long clone_flags = 0;
    std::vector<ns::MountOp> mounts;
    std::string hostname;
    bool new_net = true;
    bool send_upper_fd = false;
    uid_t host_uid = 0;  // host ids the sandbox user maps to
    gid_t host_gid = 0;
    std::string uid_map;  // rootless: the lines the child writes to its own uid_map, gid_map
    std::string gid_map;
    std::string cwd;
    CStringArray argv;
    CStringArray envp;
    CStringArray exec_candidates;  // argv[0] resolved against the sandbox PATH, in order
    std::vector<int> pass_fds;     // fds the payload keeps across exec (--pass-fd)
    UniqueFd workspace_idmap;      // root: user namespace for the idmapped workspace mount
    security::SecurityPlan security;
    // nsbox's own argv and environment strings, which the init inherits and overwrites so that
    // /proc/1/cmdline inside shows nothing of the launcher's command line (e.g. --setenv values).
    struct MemoryArea {
        char* begin = nullptr;
        char* end = nullptr;
    };
    MemoryArea own_args;
    MemoryArea own_environ;
    std::vector<int> inherited_fds;  // 0-2 and pass_fds: Landlock lets the payload reopen them
    // Resource limits: rlimits the payload sets before exec; the write ends of the output
    // pipes nsbox relays and counts (-1: the stream is passed through); and, with a cgroup,
    // a cgroup namespace the child creates once it runs inside the sandbox's cgroup.
    std::vector<limits::RlimitSetting> rlimits;
    int stdout_pipe = -1;
    int stderr_pipe = -1;
    // nsbox's read ends, which the child inherits and must close: a reader left in the sandbox
    // would block a writer forever instead of giving it EPIPE when nsbox's own reader is gone.
    int output_read_ends[2] = {-1, -1};
    bool unshare_cgroupns = false;
    // --tty / nsbox shell: the init creates a pty in the sandbox and sends nsbox its master.
    terminal::PtySettings pty;
};

// True when this process can set up a sandbox as real root (euid 0 with CAP_SYS_ADMIN).
bool running_as_privileged_root();

Result<LaunchPlan> plan_launch(const Spec& spec);

// Pure parts, exposed for tests.
std::vector<std::string> exec_candidates(const std::string& program, const std::string& path_var);
std::vector<ns::GeneratedFile> generated_etc_files(const Spec& spec,
                                                   const std::string& resolv_conf);

}  // namespace nsbox::launch
