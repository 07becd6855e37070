// Wait status -> exit code, and reason names for the report.
#include <sys/wait.h>

#include "nsbox/run_result.hpp"

namespace nsbox {

std::string_view reason_name(Reason reason) noexcept {
    switch (reason) {
        case Reason::kExited:
            return "exited";
        case Reason::kSignaled:
            return "signaled";
        case Reason::kTimeout:
            return "timeout";
        case Reason::kCpuTime:
            return "cpu_time";
        case Reason::kOom:
            return "oom";
        case Reason::kOutputLimit:
            return "output_limit";
        case Reason::kSetupError:
            return "setup_error";
    }
    return "unknown";
}

int exit_code_for_status(int status) noexcept {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return kExitLauncherError;
}

}  // namespace nsbox
