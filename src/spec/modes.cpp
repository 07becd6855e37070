// Names of the network, workspace, seccomp, Landlock and limits modes, both ways.
#include "nsbox/spec.hpp"

namespace nsbox {

std::string_view net_mode_name(NetMode mode) noexcept {
    return mode == NetMode::kHost ? "host" : "none";
}

std::string_view workspace_mode_name(WorkspaceMode mode) noexcept {
    switch (mode) {
        case WorkspaceMode::kReadWrite:
            return "rw";
        case WorkspaceMode::kReadOnly:
            return "ro";
        case WorkspaceMode::kOverlay:
            break;
    }
    return "overlay";
}

std::optional<NetMode> parse_net_mode(std::string_view name) noexcept {
    for (NetMode mode : {NetMode::kNone, NetMode::kHost})
        if (net_mode_name(mode) == name) return mode;
    return std::nullopt;
}

std::optional<WorkspaceMode> parse_workspace_mode(std::string_view name) noexcept {
    for (WorkspaceMode mode :
         {WorkspaceMode::kOverlay, WorkspaceMode::kReadWrite, WorkspaceMode::kReadOnly})
        if (workspace_mode_name(mode) == name) return mode;
    return std::nullopt;
}

std::string_view seccomp_action_name(SeccompAction action) noexcept {
    return action == SeccompAction::kKill ? "kill" : "errno";
}

std::string_view landlock_mode_name(LandlockMode mode) noexcept {
    switch (mode) {
        case LandlockMode::kRequired:
            return "required";
        case LandlockMode::kOff:
            return "off";
        case LandlockMode::kAuto:
            break;
    }
    return "auto";
}

std::optional<SeccompAction> parse_seccomp_action(std::string_view name) noexcept {
    for (SeccompAction action : {SeccompAction::kErrno, SeccompAction::kKill})
        if (seccomp_action_name(action) == name) return action;
    return std::nullopt;
}

std::optional<LandlockMode> parse_landlock_mode(std::string_view name) noexcept {
    for (LandlockMode mode : {LandlockMode::kAuto, LandlockMode::kRequired, LandlockMode::kOff})
        if (landlock_mode_name(mode) == name) return mode;
    return std::nullopt;
}

std::string_view limits_mode_name(LimitsMode mode) noexcept {
    return mode == LimitsMode::kStrict ? "strict" : "best-effort";
}

std::optional<LimitsMode> parse_limits_mode(std::string_view name) noexcept {
    for (LimitsMode mode : {LimitsMode::kBestEffort, LimitsMode::kStrict})
        if (limits_mode_name(mode) == name) return mode;
    return std::nullopt;
}

}  // namespace nsbox
