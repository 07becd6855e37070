// The engine's entry point: run one validated Spec in a fresh sandbox and supervise it.
//
// Life cycle: plan (parent) -> clone into new namespaces -> id maps -> release -> the child
// builds the sandbox and execs the payload -> supervise (signals forwarded, timeout enforced)
// -> result. A launch that fails leaves nothing behind: the sandbox's mounts live only in its
// own mount namespace and its processes die with its init.
//
// Signals: while run_sandbox() runs, SIGINT, SIGTERM, SIGHUP and SIGQUIT are blocked in the
// calling thread and forwarded to the payload. Call it from a single-threaded process.
#pragma once

#include "nsbox/result.hpp"
#include "nsbox/run_result.hpp"
#include "nsbox/spec.hpp"

namespace nsbox {

// Returns an Error only for failures before the sandbox exists; setup failures inside the
// sandbox come back as a RunResult with reason kSetupError and `error` set.
Result<RunResult> run_sandbox(const Spec& spec);

}  // namespace nsbox
