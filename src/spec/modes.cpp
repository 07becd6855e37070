// Names of the network and workspace modes, both ways.
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

}  // namespace nsbox
