// The engine's entry point: run one validated Spec in a fresh sandbox and supervise it.
//
// Life cycle: plan (parent) -> clone into new namespaces -> id maps -> release -> the child
// builds the sandbox and execs the payload -> supervise (signals forwarded, timeout enforced)
// -> result. A launch that fails leaves nothing behind: the sandbox's mounts live only in its
// own mount namespace and its processes die with its init.
//
// Children: when run_sandbox() returns, every process of the sandbox is dead and reaped by its
// init, but the init itself may still be in the kernel's namespace teardown; it is reaped
// without blocking by the next run_sandbox() call (or by the caller's reaper after exit).
//
// Signals: while run_sandbox() runs, SIGINT, SIGTERM, SIGHUP and SIGQUIT are blocked in the
// calling thread and forwarded to the payload. Call it from a single-threaded process.
//
// Control (Spec::control_fd): a service that keeps sandboxes ready before it has work for them
// steers each run through a SOCK_SEQPACKET socket. Each message is one ControlCommand byte
// followed, for kStart, by the timeout in milliseconds as a little-endian uint32 (0: the
// spec's own timeout stays). kStart restarts the wall-clock limit at that moment and records
// the sandbox's CPU count then (RunResult::cpu_at_start_us); kStop kills the sandbox, as does
// the caller closing its end.
#pragma once

#include <cstddef>
#include <cstdint>

#include "nsbox/result.hpp"
#include "nsbox/run_result.hpp"
#include "nsbox/spec.hpp"

namespace nsbox {

enum class ControlCommand : std::uint8_t { kStart = 'S', kStop = 'K' };
inline constexpr std::size_t kControlMessageSize = 5;

// Returns an Error only for failures before the sandbox exists; setup failures inside the
// sandbox come back as a RunResult with reason kSetupError and `error` set.
Result<RunResult> run_sandbox(const Spec& spec);

}  // namespace nsbox
