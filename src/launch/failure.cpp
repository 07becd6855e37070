// Parent side: child failure records -> Errors naming the step, the object and the cause.
#include "launch/failure.hpp"

#include <fmt/core.h>

#include <cerrno>

namespace nsbox::launch {
namespace {

std::string sandbox_path(const std::string& staged) {
    const std::string prefix = ns::kNewRoot;
    if (staged.rfind(prefix, 0) == 0)
        return staged.size() == prefix.size() ? "/" : staged.substr(prefix.size());
    return staged;
}

Error mount_failure(const SyncMsg& f, const LaunchPlan& plan) {
    if (f.index < 0 || static_cast<std::size_t>(f.index) >= plan.mounts.size())
        return Error::system(Step::kMounts, f.err, "set up mounts");
    const ns::MountOp& op = plan.mounts[static_cast<std::size_t>(f.index)];
    if (f.phase == 0) {
        return Error::system(
            Step::kMounts, f.err,
            fmt::format("{}: create mount point {}", op.label, sandbox_path(op.target)));
    }
    return Error::system(Step::kMounts, f.err, op.label);
}

Error exec_failure(const SyncMsg& f, const LaunchPlan& plan) {
    const std::string program = plan.argv.storage.empty() ? "?" : plan.argv.storage.front();
    if (f.err == ENOENT || f.err == ENOTDIR) {
        Error e = Error::not_found(Step::kExec, program + ": not found in the sandbox");
        e.sys_errno = 0;
        return e;
    }
    return Error::cannot_execute(Step::kExec, f.err, "cannot execute " + program);
}

const char* step_action(Step step) {
    switch (step) {
        case Step::kStageRoot:
            return "prepare the staging root";
        case Step::kPivotRoot:
            return "pivot_root into the new root";
        case Step::kHostname:
            return "set the host name";
        case Step::kLoopback:
            return "bring up the loopback interface";
        case Step::kUserns:
            return "enter the sandbox user namespace";
        case Step::kCredentials:
            return "switch to the sandbox user";
        case Step::kChdir:
            return "enter the workspace";
        case Step::kTerminal:
            return "create the sandbox's terminal";
        case Step::kSession:
            return "start a new session";
        case Step::kNoNewPrivs:
            return "lock down the sandbox init";
        case Step::kCapabilities:
            return "drop capabilities";
        case Step::kLandlock:
            return "apply the Landlock ruleset";
        case Step::kSeccomp:
            return "install the seccomp filter";
        case Step::kSync:
            return "wait for the launcher";
        case Step::kLimits:
            return "apply the resource limits";
        case Step::kCgroup:
            return "enter the sandbox's cgroup namespace";
        default:
            return "set up the sandbox";
    }
}

}  // namespace

Error describe_failure(const SyncMsg& failure, const LaunchPlan& plan) {
    switch (failure.step) {
        case Step::kMounts:
            return mount_failure(failure, plan);
        case Step::kExec:
            return exec_failure(failure, plan);
        default:
            return Error::system(failure.step, failure.err, step_action(failure.step));
    }
}

}  // namespace nsbox::launch
