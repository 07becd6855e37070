// How each requested resource limit is enforced on this host: a cgroup v2 controller, an rlimit
// in the payload, nsbox's own output relay, or not at all (and why). Pure, given what the host
// offers; the launcher applies the result.
#pragma once

#include <sys/resource.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "limits/cgroup.hpp"
#include "nsbox/limits.hpp"
#include "nsbox/result.hpp"
#include "nsbox/spec.hpp"

namespace nsbox::limits {

struct RlimitSetting {
    int resource = 0;
    rlim_t soft = 0;
    rlim_t hard = 0;
};

// What the host offers, gathered by host_facts() (tests build it by hand).
struct HostFacts {
    SiteLookup cgroup;              // a site for sandbox cgroups, or why there is none
    bool nproc_per_userns = false;  // RLIMIT_NPROC counts per user namespace (Linux 5.14+)
    bool stdout_is_terminal = false;
    bool stderr_is_terminal = false;
    bool pty = false;  // the payload writes to a pty of its own, which nsbox relays
    rlim_t nofile_hard = RLIM_INFINITY;  // the launcher's own hard limits: never raised
    rlim_t nproc_hard = RLIM_INFINITY;
    rlim_t cpu_hard = RLIM_INFINITY;
};

struct LimitsPlan {
    std::vector<LimitStatus> statuses;  // one per requested limit, in a fixed order
    std::optional<CgroupSite> site;     // set when the sandbox gets a cgroup
    CgroupLimits cgroup;
    std::string cgroup_cause;  // why there is no cgroup, and the fix
    std::string cgroup_fix;
    std::vector<RlimitSetting> rlimits;  // set in the payload just before exec
    std::uint64_t output_limit = 0;      // bytes of stdout + stderr; 0: none
    bool relay_stdout = false;           // through nsbox, counted (not a terminal)
    bool relay_stderr = false;
    std::chrono::milliseconds cpu_time{0};  // whole-sandbox budget checked on the cgroup

    [[nodiscard]] bool needs_cgroup() const { return site.has_value(); }
};

// Looks at the host. Finding a cgroup site may prepare it (see find_cgroup_site), so this is
// only called when some limit needs a cgroup.
HostFacts host_facts(const Limits& limits);

LimitsPlan plan_limits(const Limits& limits, const HostFacts& host);

// The limits not (fully) enforced, for the best-effort warning: empty when all are.
std::string unenforced_summary(const LimitsPlan& plan);
// --limits strict: an error naming the first limit that is not fully enforced, its origin, the
// cause and the fix.
Result<void> check_strict(const Limits& limits, const LimitsPlan& plan);

// True for the kernel releases that count RLIMIT_NPROC per user namespace ("5.14.0" and up).
bool release_counts_nproc_per_userns(std::string_view release);

}  // namespace nsbox::limits
