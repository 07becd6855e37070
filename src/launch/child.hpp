// The sandbox side of a launch. child_main runs as PID 1 of the new pid namespace: it builds
// the sandbox (mounts, pivot_root, hostname, loopback, identity), forks the payload, and stays
// as the sandbox's init (pid1.cpp). Async-signal-safe from start to exec: it reads the
// parent-built LaunchPlan and never allocates, logs or throws.
#pragma once

#include "launch/plan.hpp"

namespace nsbox::launch {

struct ChildArgs {
    const LaunchPlan* plan;
    int sync_fd;
};

[[noreturn]] void child_main(void* args) noexcept;

// pid1.cpp: reaps, forwards signals to the payload's process group, reports the payload's
// wait status to the parent and exits with the payload's code.
[[noreturn]] void run_init(pid_t payload, int sync_fd) noexcept;

}  // namespace nsbox::launch
