// Error: what went wrong, where, and at which launch step. Rendered as exactly one line for the
// user (line()) and mapped to the documented exit codes (exit_code()).
//
// Exit codes: 125 launcher error, 126 cannot execute, 127 not found (as env(1) and timeout(1)).
#pragma once

#include <string>

#include "nsbox/step.hpp"

namespace nsbox {

inline constexpr int kExitTimeout = 124;
inline constexpr int kExitOutOfMemory = 137;  // 128 + SIGKILL, as the OOM killer leaves it
inline constexpr int kExitCpuTime = 152;      // 128 + SIGXCPU, as RLIMIT_CPU leaves it
inline constexpr int kExitOutputLimit = 153;  // 128 + SIGXFSZ: the output grew too large
inline constexpr int kExitLauncherError = 125;
inline constexpr int kExitCannotExecute = 126;
inline constexpr int kExitNotFound = 127;

enum class Errc : std::uint8_t {
    kUsage,          // bad command line
    kProfile,        // bad profile or env file: `where` holds file:line: key
    kNotFound,       // script or program not found (127)
    kCannotExecute,  // found but not executable (126)
    kSystem,         // a system call failed: sys_errno is set
    kInternal,
};

struct Error {
    Errc code = Errc::kSystem;
    int sys_errno = 0;
    std::string what;
    std::string where;
    Step step = Step::kNone;

    // One line, prefixed "nsbox: ", no trailing newline.
    [[nodiscard]] std::string line() const;
    // The message without the "nsbox: " prefix (for JSON).
    [[nodiscard]] std::string message() const;
    [[nodiscard]] int exit_code() const noexcept;

    // Captures errno before anything else can change it.
    static Error from_errno(Step step, std::string what);
    static Error system(Step step, int err, std::string what);
    static Error usage(std::string what);
    // file:line: key: what. line 0 means "no line", an empty key means "no key".
    static Error profile(const std::string& file, int line, const std::string& key,
                         std::string what);
    static Error not_found(Step step, std::string what);
    static Error cannot_execute(Step step, int err, std::string what);
    static Error internal(std::string what);
};

}  // namespace nsbox
