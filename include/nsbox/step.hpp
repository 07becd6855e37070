// Step: the ordered launch steps, one id per step. The kebab-case names (step_name) appear in
// log lines, error lines and the JSON report, so they are part of the public contract.
#pragma once

#include <cstdint>
#include <string_view>

namespace nsbox {

enum class Step : std::uint8_t {
    kNone,
    kCli,
    kProfile,
    kValidate,
    kRootfs,  // a stored rootfs: building, locking, the requirements layer
    kPlan,
    kClone,
    kIdMaps,
    kSync,
    kMountPrivate,
    kStageRoot,
    kMounts,
    kPivotRoot,
    kHostname,
    kLoopback,
    kUserns,
    kCredentials,
    kSession,
    kFdsCloexec,
    kChdir,
    kTerminal,  // the sandbox's own pseudo-terminal (--tty, nsbox shell)
    kCapabilities,
    kNoNewPrivs,
    kLandlock,
    kSeccomp,
    kLimits,  // resource limits: rlimits, output pipes
    kCgroup,  // the sandbox's cgroup
    kExec,
    kSupervise,
    kExport,
    kReport,
};

// Stable kebab-case id, e.g. "pivot-root".
std::string_view step_name(Step step) noexcept;

}  // namespace nsbox
