// The seccomp policy as data (pure; parent side). An allowlist: every system call a Python
// workload needs is allowed, a few only with safe arguments; named groups of dangerous calls are
// denied with an errno (EPERM); anything else, including calls newer than this table, fails with
// ENOSYS as on a kernel that lacks them. Profiles add and remove calls or @groups on top.
// seccomp_compile turns a policy into BPF; nothing here touches libseccomp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nsbox/result.hpp"
#include "nsbox/spec.hpp"

namespace nsbox::security {

// Argument conditions under which an otherwise denied call is allowed.
enum class Condition : std::uint8_t {
    kNone,
    kNoNamespaceFlags,     // clone, unshare: no CLONE_NEW* flag
    kDefaultPersonality,   // personality: PER_LINUX or the query value only
    kNoTerminalInjection,  // ioctl: not TIOCSTI or TIOCLINUX
    kInternetFamilies,     // socket: AF_UNIX, AF_INET, AF_INET6 only
};

enum class Verdict : std::uint8_t {
    kAllow,           // always allowed
    kConditional,     // allowed when `condition` holds, denied with `err` otherwise
    kDeny,            // denied with `err`
    kNotImplemented,  // fails with ENOSYS and is not a denial (clone3: glibc falls back)
};

struct SyscallRule {
    std::string name;
    Verdict verdict = Verdict::kAllow;
    Condition condition = Condition::kNone;
    int err = 0;  // errno for a denial
};

struct SeccompPolicy {
    std::string name = "default";
    SeccompAction action = SeccompAction::kErrno;
    std::vector<SyscallRule> rules;  // one per name, sorted by name

    [[nodiscard]] const SyscallRule* find(std::string_view name) const;
};

// The groups a profile can name, e.g. "@mount", with what each contains (for docs and errors).
struct SyscallGroup {
    std::string_view name;
    std::string_view description;
    std::vector<std::string_view> members;
};
const std::vector<SyscallGroup>& syscall_groups();

// True for "@group" names in syscall_groups().
bool is_group(std::string_view name);

// The default policy with the spec's allow/deny lists applied: deny sets a call (or each member
// of a group) to fail with EPERM, allow permits it unconditionally. A name in both lists is an
// error; so is an unknown group. `is_syscall` decides whether a plain name is a system call on
// this machine (seccomp_compile supplies the libseccomp-backed check).
Result<SeccompPolicy> build_policy(const Spec& spec, bool (*is_syscall)(std::string_view));

// Masked-equality tests (mask, value) whose union is every 32-bit value except `excluded`.
// seccomp cannot say "allow unless the argument is X" (an unconditional rule overrides the
// conditional ones), so the allowed values are spelled out as bit prefixes instead.
std::vector<std::pair<std::uint32_t, std::uint32_t>> complement_masks(
    const std::vector<std::uint32_t>& excluded);

}  // namespace nsbox::security
