// The systemd source of a delegated cgroup for an unprivileged user: a transient scope with
// Delegate=yes that holds this process, made by the user's manager over D-Bus, as crun and
// podman do. (Root makes its own subtree: asking PID 1 for a scope per run costs far more.) The
// D-Bus work is done by the nsbox-scope helper (libexec/nsbox/nsbox-scope next to this binary) so
// that nsbox itself stays static and libsystemd is loaded only when needed.
#pragma once

#include <string>
#include <string_view>

namespace nsbox::limits {

struct ScopeAttempt {
    bool joined = false;
    std::string unit;   // "nsbox-1234-9f3c2a1b.scope" once joined
    std::string cause;  // why not, in a few words, for the caller's one-line message
    std::string fix;    // what would make it work, when that is not the generic advice
};

// Asks the user manager for a scope with this process in it and waits until it is. Skipped
// (with the cause and, where it helps, the fix) when no manager can be reached.
ScopeAttempt join_systemd_scope();

// Where the helper is expected for an nsbox binary at `exe` (bin/nsbox ->
// bin/../libexec/nsbox/nsbox-scope, the same layout in the build tree as when installed).
std::string scope_helper_for(std::string_view exe);

}  // namespace nsbox::limits
