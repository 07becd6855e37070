// RunResult: how a sandboxed run ended, as data for the exit code and the JSON report.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "nsbox/error.hpp"
#include "nsbox/export.hpp"
#include "nsbox/limits.hpp"
#include "nsbox/security.hpp"

namespace nsbox {

// Why the run ended. The limit reasons win over how the payload died: a sandbox killed for
// its CPU time reports cpu_time, not SIGKILL.
enum class Reason : std::uint8_t {
    kExited,
    kSignaled,
    kTimeout,
    kCpuTime,
    kOom,
    kOutputLimit,
    kSetupError
};

std::string_view reason_name(Reason reason) noexcept;

struct RunResult {
    Reason reason = Reason::kSetupError;
    int exit_code = kExitLauncherError;  // what nsbox exits with
    int payload_status = -1;             // raw wait status of the payload, -1 if unknown
    int signal = 0;                      // the signal that ended the payload, if any
    std::optional<Error> error;          // set for kSetupError
    std::chrono::system_clock::time_point started_at;
    std::chrono::system_clock::time_point ended_at;
    std::chrono::nanoseconds wall_time{0};
    bool privileged_setup = false;
    unsigned host_uid = 0;
    unsigned host_gid = 0;
    std::optional<ExportSummary> exported;
    std::optional<Error> export_error;
    SecurityLayers layers;
    std::vector<SyscallDenial> denials;       // calls the seccomp policy refused, by count
    std::optional<std::string> seccomp_kill;  // the call that got the sandbox killed
    std::vector<LimitStatus> limits;          // each requested limit and how it was enforced
    std::string limits_mode;                  // "best-effort" or "strict"
    // The best-effort warning when it was not printed at the start (stderr not a terminal):
    // the caller prints it after the run, unless the run failed to start.
    std::string limits_warning;
    CgroupInfo cgroup;
    ResourceUsage usage;
    // Spec::control_fd runs: whether the caller stopped the sandbox (kStop or closing its end),
    // and the cgroup's CPU count (user + system, microseconds) when the caller's kStart came.
    bool stopped_by_caller = false;
    std::optional<std::uint64_t> cpu_at_start_us;
};

// Exit code for a payload wait status: its code, or 128+N for signal N.
int exit_code_for_status(int status) noexcept;

}  // namespace nsbox
