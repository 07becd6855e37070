// cgroup v2: where nsbox may create a sandbox's cgroup, and the cgroup itself (limits, the fd
// the sandbox is cloned into, accounting, kill and removal).
//
// The place is found in this order: a delegated cgroup this process already runs in (a systemd
// unit with Delegate=yes, `systemd-run --user --scope -p Delegate=yes`, or a directory chowned
// to the user), then, for root, a subtree under the cgroup2 root, and for other users a
// transient scope with Delegate=yes that their systemd manager moves this process into
// (systemd_scope.hpp). Each sandbox gets a cgroup of
// its own next to a leaf holding the launcher, which respects cgroup v2's rule that a cgroup
// with controllers enabled for its children holds no processes itself.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nsbox/limits.hpp"
#include "nsbox/result.hpp"
#include "nsbox/unique_fd.hpp"

namespace nsbox::limits {

struct CgroupSite {
    std::string mount;   // where the cgroup2 hierarchy is mounted
    std::string parent;  // directory in which sandbox cgroups are created
    std::string source;  // how it was found, for messages and the report
    bool cpu = false;    // controllers enabled for the parent's children
    bool memory = false;
    bool pids = false;
};

// A site, or why there is none and what would fix it.
struct SiteLookup {
    std::optional<CgroupSite> site;
    std::string cause;  // "this host binds memory, pids and cpu to cgroup v1"
    std::string fix;    // "run under systemd-run --user --scope -p Delegate=yes"
};

// Finds (on first use in this process, prepares) the place for sandbox cgroups. Preparing may
// move this process into a leaf of its delegated cgroup and enable controllers there; it never
// touches a hierarchy that has none of the controllers nsbox uses.
SiteLookup find_cgroup_site();

struct CgroupLimits {
    std::uint64_t memory = 0;      // bytes; 0: none
    std::uint64_t pids = 0;        // 0: none
    std::uint64_t cpus_milli = 0;  // 0: none
};

// One sandbox's cgroup. Created with its limits before the sandbox is cloned into it (the fd
// is for CLONE_INTO_CGROUP); destroyed by killing whatever is left in it, waiting until it is
// empty and removing it. A janitor process removes it if this process dies first.
class SandboxCgroup {
 public:
    static Result<SandboxCgroup> create(const CgroupSite& site, const CgroupLimits& limits);
    SandboxCgroup(SandboxCgroup&& other) noexcept;
    SandboxCgroup& operator=(SandboxCgroup&&) = delete;
    SandboxCgroup(const SandboxCgroup&) = delete;
    ~SandboxCgroup();

    [[nodiscard]] int fd() const noexcept { return dir_.get(); }
    [[nodiscard]] const std::string& path() const noexcept { return path_; }
    // cpu.stat usage_usec: the CPU time of everything that ran in the sandbox so far.
    [[nodiscard]] std::optional<std::uint64_t> cpu_usage_us() const;
    // Reads memory.peak, memory.events, cpu.stat and pids.peak into `usage`.
    void read_usage(ResourceUsage& usage) const;
    // Kills what is left, waits (bounded) until the cgroup is empty, removes it. Idempotent.
    void destroy() noexcept;

 private:
    SandboxCgroup() = default;
    std::string path_;
    UniqueFd dir_;
    UniqueFd janitor_pipe_;  // closing it without a word makes the janitor clean up
    bool removed_ = false;
};

// Pure parsers, exposed for tests.
struct Cgroup2Mount {
    std::string point;  // mount point
    std::string root;   // the mounted subtree ("/" unless inside a cgroup namespace)
};
std::optional<Cgroup2Mount> parse_cgroup2_mount(std::string_view mountinfo);
// The unified-hierarchy path in /proc/self/cgroup ("0::/user.slice/..."), if any.
std::optional<std::string> parse_unified_path(std::string_view proc_cgroup);
// The value of `key` in a flat-keyed file ("usage_usec 123\n...").
std::optional<std::uint64_t> flat_key_value(std::string_view text, std::string_view key);
// A file holding one number ("536870912\n"); "max" and anything else is no number.
std::optional<std::uint64_t> parse_count_line(std::string_view text);
// Whitespace-separated controller names, as in cgroup.controllers.
bool lists_controller(std::string_view text, std::string_view name);

}  // namespace nsbox::limits
