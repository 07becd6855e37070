// Error rendering and the step-name table (shared by parent-side code only).
#include "nsbox/error.hpp"

#include <cerrno>
#include <cstring>
#include <utility>

namespace nsbox {

std::string_view step_name(Step step) noexcept {
    switch (step) {
        case Step::kNone:
            return "none";
        case Step::kCli:
            return "cli";
        case Step::kProfile:
            return "profile";
        case Step::kValidate:
            return "validate";
        case Step::kRootfs:
            return "rootfs";
        case Step::kPlan:
            return "plan";
        case Step::kClone:
            return "clone";
        case Step::kIdMaps:
            return "id-maps";
        case Step::kSync:
            return "sync";
        case Step::kMountPrivate:
            return "mount-private";
        case Step::kStageRoot:
            return "stage-root";
        case Step::kMounts:
            return "mounts";
        case Step::kPivotRoot:
            return "pivot-root";
        case Step::kHostname:
            return "hostname";
        case Step::kLoopback:
            return "loopback";
        case Step::kUserns:
            return "userns";
        case Step::kCredentials:
            return "credentials";
        case Step::kSession:
            return "session";
        case Step::kFdsCloexec:
            return "fds-cloexec";
        case Step::kChdir:
            return "chdir";
        case Step::kTerminal:
            return "terminal";
        case Step::kCapabilities:
            return "capabilities";
        case Step::kNoNewPrivs:
            return "no-new-privs";
        case Step::kLandlock:
            return "landlock";
        case Step::kSeccomp:
            return "seccomp";
        case Step::kLimits:
            return "limits";
        case Step::kCgroup:
            return "cgroup";
        case Step::kExec:
            return "exec";
        case Step::kSupervise:
            return "supervise";
        case Step::kExport:
            return "export";
        case Step::kReport:
            return "report";
    }
    return "unknown";
}

std::string Error::message() const {
    std::string out;
    if (!where.empty()) {
        out = where + ": ";
    } else if (code == Errc::kSystem && step != Step::kNone) {
        out = std::string(step_name(step)) + ": ";
    }
    out += what;
    if (sys_errno != 0) {
        if (!what.empty()) out += ": ";
        out += std::strerror(sys_errno);
    }
    return out;
}

std::string Error::line() const { return "nsbox: " + message(); }

int Error::exit_code() const noexcept {
    switch (code) {
        case Errc::kNotFound:
            return kExitNotFound;
        case Errc::kCannotExecute:
            return kExitCannotExecute;
        default:
            return kExitLauncherError;
    }
}

Error Error::from_errno(Step step, std::string what) {
    const int err = errno;
    return system(step, err, std::move(what));
}

Error Error::system(Step step, int err, std::string what) {
    return Error{Errc::kSystem, err, std::move(what), {}, step};
}

Error Error::usage(std::string what) {
    return Error{Errc::kUsage, 0, std::move(what), {}, Step::kCli};
}

Error Error::profile(const std::string& file, int line, const std::string& key, std::string what) {
    std::string where = file;
    if (line > 0) where += ":" + std::to_string(line);
    if (!key.empty()) where += ": " + key;
    return Error{Errc::kProfile, 0, std::move(what), std::move(where), Step::kProfile};
}

Error Error::not_found(Step step, std::string what) {
    return Error{Errc::kNotFound, ENOENT, std::move(what), {}, step};
}

Error Error::cannot_execute(Step step, int err, std::string what) {
    return Error{Errc::kCannotExecute, err, std::move(what), {}, step};
}

Error Error::internal(std::string what) {
    return Error{Errc::kInternal, 0, std::move(what), {}, Step::kNone};
}

}  // namespace nsbox
