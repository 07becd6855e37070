// The security layers of a sandbox as data: what --print-spec shows, what the JSON report
// carries, and the seccomp denials a run collected.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nsbox/result.hpp"
#include "nsbox/spec.hpp"

namespace nsbox {

struct SecurityLayers {
    std::vector<std::string> namespaces;   // "user", "mount", ... as created
    std::string seccomp_policy;            // "default", or "default+profile" when edited
    std::string seccomp_action;            // "errno" or "kill"
    std::size_t seccomp_rules = 0;         // system calls the policy names
    std::size_t seccomp_instructions = 0;  // size of the BPF program
    bool seccomp_counting = false;         // denials reach nsbox (seccomp user notification)
    int landlock_abi = 0;                  // 0: not enforced
    std::string landlock;                  // "ABI 7", "unavailable (...)", "off (...)"
    std::string capabilities;              // what the payload holds
    bool no_new_privs = true;
};

struct SyscallDenial {
    std::string name;
    std::uint64_t count = 0;
};

// The layers `spec` gets on this machine (compiles the seccomp filter to measure it).
Result<SecurityLayers> describe_security(const Spec& spec);

// "--- security layers" block appended to --print-spec.
std::string render_security(const SecurityLayers& layers);

}  // namespace nsbox
