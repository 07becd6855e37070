// Creating the sandbox's first process: clone3 with CLONE_PIDFD, falling back to clone(2)
// where clone3 is missing. The pidfd is how the parent waits for, signals and kills it without
// pid-reuse races.
#pragma once

#include <sys/types.h>

#include "nsbox/result.hpp"
#include "nsbox/unique_fd.hpp"

namespace nsbox::launch {

struct ClonedChild {
    pid_t pid = -1;
    UniqueFd pidfd;
};

using ChildEntry = void (*)(void* arg) noexcept;

// Runs `entry(arg)` in the new process; `entry` must not return (it execs or _exits).
// With `cgroup_fd` >= 0 the process starts inside that cgroup (CLONE_INTO_CGROUP), so not one
// instruction of it runs outside the sandbox's limits; that needs clone3 (Linux 5.7).
Result<ClonedChild> clone_sandbox(unsigned long namespace_flags, ChildEntry entry, void* arg,
                                  int cgroup_fd = -1);

}  // namespace nsbox::launch
