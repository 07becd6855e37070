// Landlock: a second wall behind the mount namespace. The payload may read and execute only
// beneath the sandbox's own root and write only beneath its writable mounts, so a host file or
// directory that leaks in anyway (an inherited fd, a magic link in /proc) stays out of reach.
// With the network off it also refuses TCP bind/connect; from ABI 6 it scopes abstract UNIX
// sockets and signals to the sandbox, so even `--net host` cannot reach the host's abstract
// sockets. The ABI is detected; a kernel without Landlock gets a note, not an error, unless the
// profile requires it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nsbox/result.hpp"
#include "nsbox/spec.hpp"

namespace nsbox::security {

struct LandlockRule {
    std::string path;  // inside the sandbox
    std::uint64_t access = 0;
};

struct LandlockPlan {
    int abi = 0;        // 0: not applied
    std::string state;  // "ABI 7", "unavailable (...)", "off (landlock.mode)"
    std::uint64_t handled_fs = 0;
    std::uint64_t handled_net = 0;
    std::uint64_t scoped = 0;
    std::vector<LandlockRule> rules;
};

// The running kernel's Landlock ABI version; 0 with `*why` set when it has none.
int landlock_abi(std::string* why);

// Pure: the ruleset for `spec` on a kernel with `abi` (0 = unavailable, `why` says why).
Result<LandlockPlan> plan_landlock(const Spec& spec, int abi, const std::string& why);

// Child side (the init, after pivot_root): builds the ruleset, adding a rule for each path and
// for each inherited fd in `fds` that is a file, device or directory (so the payload can reopen
// its own stdio through /dev/stdout, with no more access than the fd already grants).
// Returns 0 and the ruleset fd (close-on-exec) in *ruleset, or an errno; `*failed_rule` names
// the rule index that failed, -1 otherwise.
int build_ruleset(const LandlockPlan& plan, const int* fds, std::size_t fd_count, int* ruleset,
                  int* failed_rule) noexcept;
// Child side (the payload): enforce the ruleset on itself. no_new_privs must be set.
int restrict_self(int ruleset) noexcept;

}  // namespace nsbox::security
