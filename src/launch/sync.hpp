// The parent <-> sandbox channel: one SOCK_SEQPACKET socketpair carrying fixed-size records
// (and, once, the workspace upper-layer fd). EOF means the other side is gone: for the child,
// that the parent died; for the parent, that the init exited and the payload exec'd or died.
#pragma once

#include <cstdint>

#include "nsbox/step.hpp"

namespace nsbox::launch {

enum class MsgKind : std::uint32_t {
    kFailure = 1,      // child -> parent: `step` failed with `err` (mount op `index`, `phase`)
    kUsernsReady,      // child -> parent: entered its user namespace, write the id maps
    kMapsDone,         // parent -> child
    kUpperFd,          // child -> parent: carries the workspace upper-layer dir fd
    kExited,           // child -> parent: the payload's wait status in `value`, usage below
    kSeccompListener,  // payload -> parent: carries the seccomp user-notification fd
    kTerminal,         // child -> parent: carries the master of the sandbox's pty
};

struct SyncMsg {
    MsgKind kind = MsgKind::kFailure;
    Step step = Step::kNone;
    std::int32_t err = 0;
    std::int32_t index = -1;
    std::int32_t phase = 0;
    std::int32_t value = 0;
    // kExited: CPU time and the largest resident set of everything the init reaped.
    std::int64_t cpu_user_us = 0;
    std::int64_t cpu_system_us = 0;
    std::int64_t max_rss_kb = 0;
};

// Async-signal-safe. Return 0 or an errno.
int send_msg(int fd, const SyncMsg& msg) noexcept;
int send_msg_with_fd(int fd, const SyncMsg& msg, int passed_fd) noexcept;
// 1: a message; 0: EOF; -errno on error. `*received_fd` is -1 unless an fd came along.
int recv_msg(int fd, SyncMsg* msg, int* received_fd) noexcept;

}  // namespace nsbox::launch
