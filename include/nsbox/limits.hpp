// Resource limits as enforced, and what a run used: data for the warning line, the JSON report
// and the -v summary.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nsbox {

// One requested limit and how (or whether) this host enforces it.
struct LimitStatus {
    std::string key;        // "memory", "pids", "cpus", "cpu_time", "output", "open_files"
    std::string value;      // as the user wrote it: "512M", "1.5", "3s"
    bool enforced = false;  // fully, for the whole sandbox
    bool partial = false;   // enforced only in part (see `note`)
    std::string mechanism;  // "cgroup memory.max", "RLIMIT_NPROC", "nsbox output relay"
    std::string note;       // why it is not (fully) enforced
};

// Where the sandbox's cgroup came from, or why there is none.
struct CgroupInfo {
    bool used = false;
    std::string path;    // the sandbox's cgroup directory
    std::string source;  // "delegated cgroup /user.slice/...", "cgroup2 root subtree"
    std::string why_not;
};

// What the run consumed. Values the host could not measure stay empty.
struct ResourceUsage {
    std::optional<std::uint64_t> cpu_user_us;
    std::optional<std::uint64_t> cpu_system_us;
    std::optional<std::uint64_t> peak_memory_bytes;
    std::string
        peak_memory_source;  // "memory.peak" (whole sandbox) or "ru_maxrss" (largest process)
    std::optional<std::uint64_t> pids_peak;
    std::optional<std::uint64_t> oom_kills;
    std::optional<std::uint64_t> cpu_throttled_us;
    std::optional<std::uint64_t> cpu_throttled_periods;
    std::uint64_t output_bytes = 0;  // relayed stdout + stderr
    bool output_truncated = false;
};

}  // namespace nsbox
