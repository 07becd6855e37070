// Parent side: a SeccompPolicy compiled to a BPF program with libseccomp (used only in
// src/security), plus the table the supervisor answers user notifications from. The child only
// installs the finished program (seccomp_install.hpp), so it never allocates or calls libseccomp.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nsbox/result.hpp"
#include "security/seccomp_policy.hpp"

namespace nsbox::security {

struct CompiledFilter {
    std::vector<sock_filter> program;
    // Denied calls are handed to the supervisor (SECCOMP_RET_USER_NOTIF), which counts them by
    // name and answers with `errno_for(nr)` or, for the kill action, kills the sandbox. Without
    // kernel support the program fails them directly and nothing is counted.
    bool notify = false;
    SeccompAction action = SeccompAction::kErrno;
    std::string policy_name;
    std::size_t rule_count = 0;
    std::vector<std::int16_t> errno_by_nr;  // indexed by syscall number; ENOSYS beyond its end

    [[nodiscard]] int errno_for(int nr) const noexcept;
};

// The kernel can hand denied calls to a supervisor (seccomp user notification, Linux 5.0+).
bool notify_supported();

Result<CompiledFilter> compile_filter(const SeccompPolicy& policy, bool notify);

// Names and numbers of the native architecture's system calls, including calls newer than
// libseccomp's own table.
std::optional<int> syscall_number(std::string_view name);
std::string syscall_name(int nr);
bool is_syscall(std::string_view name);

// The program in libseccomp's human-readable form, for tests and --debug output.
Result<std::string> render_filter_pfc(const SeccompPolicy& policy, bool notify);

}  // namespace nsbox::security
