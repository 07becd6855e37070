// Parent side: the supervisor's end of seccomp user notification. Every call the policy denies
// stops in the kernel until answered here: it is counted by name and answered with the policy's
// errno, or, under the kill action, the whole sandbox is killed. Answers never let a call run,
// so there is no time-of-check problem with the arguments.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "nsbox/run_result.hpp"
#include "nsbox/unique_fd.hpp"
#include "security/seccomp_compile.hpp"

namespace nsbox::security {

class DenialMonitor {
 public:
    // `kill_pidfd`: the sandbox init, killed under the kill action.
    DenialMonitor(const CompiledFilter& filter, int kill_pidfd);

    void adopt(UniqueFd listener) { listener_ = std::move(listener); }
    [[nodiscard]] int fd() const noexcept { return listener_.get(); }
    // Answers one pending notification; closes the listener once no sandbox process uses the
    // filter any more (POLLHUP) or on an unexpected error.
    void on_ready(short revents);

    [[nodiscard]] std::vector<SyscallDenial> denials() const;
    [[nodiscard]] const std::optional<std::string>& killed_by() const noexcept {
        return killed_by_;
    }

 private:
    void answer(std::uint64_t id, int err);

    const CompiledFilter& filter_;
    int kill_pidfd_;
    UniqueFd listener_;
    std::vector<unsigned char> notif_buf_;
    std::vector<unsigned char> resp_buf_;
    std::map<int, std::uint64_t> counts_;  // by syscall number
    std::optional<std::string> killed_by_;
};

}  // namespace nsbox::security
