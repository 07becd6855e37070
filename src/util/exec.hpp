// Running host programs from parent-side code (mmdebstrap, newuidmap): PATH lookup and
// posix_spawn with stdin from /dev/null, stdout/stderr inherited.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "nsbox/result.hpp"

namespace nsbox::util {

// The program's path from $PATH (or the standard directories when PATH is unset); empty when
// not found or not executable.
std::string find_program(std::string_view name);

// Runs `argv` (argv[0] looked up in PATH) and waits; its exit status, or 128 + signal.
Result<int> run_program(const std::vector<std::string>& argv);

struct Interruptible {
    int exit_status = 0;
    int stopped_by = 0;  // the signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT) that stopped it
};

// Runs `argv` in a process group of its own with `extra_env` added to the environment. A
// SIGINT, SIGTERM, SIGHUP or SIGQUIT to the caller meanwhile stops the whole group (SIGTERM,
// then SIGKILL after `grace_seconds`), and is reported rather than acted on.
Result<Interruptible> run_interruptible(const std::vector<std::string>& argv,
                                        const std::vector<std::string>& extra_env,
                                        int grace_seconds = 10);

}  // namespace nsbox::util
