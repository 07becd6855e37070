// One pre-started sandbox's supervisor: a process of its own (nsbox --sandbox-worker), so
// that each sandbox is launched and supervised by a single-threaded caller as the engine
// requires, while the server's threads only talk to it through descriptors.
//
// Descriptors it is started with: 0 the request pipe (the bootstrap reads the request, then
// the code's stdin), 1 and 2 the code's stdout and stderr, 3 the control socket
// (SOCK_SEQPACKET): the server's ControlCommands go to the engine's supervisor, and when the
// run is over the worker sends one WorkerResult as JSON on it and exits.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nsbox/result.hpp"
#include "nsbox/spec.hpp"

namespace nsbox::serve {

inline constexpr int kWorkerControlFd = 3;
// The byte the bootstrap writes to stdout once the interpreter waits for its request.
inline constexpr char kReadyByte = '\x06';

// How every sandbox of one server is made; passed to each worker on its command line.
struct SandboxTemplate {
    std::string profile;      // name or path
    std::string limits_mode;  // "strict", "best-effort", or empty: the profile's
    std::string rootfs;       // --rootfs, or empty: the profile's
    std::string empty_dir;    // the workspace: an empty directory under a private overlay
    std::uint64_t max_files = 100;
    std::uint64_t max_bytes = 10ULL << 20;
};

std::vector<std::string> worker_arguments(const SandboxTemplate& t, const std::string& out_dir);

// The Spec of one sandbox (the server checks it once at start-up; each worker builds its own).
Result<Spec> sandbox_spec(const SandboxTemplate& t, const std::string& out_dir);

struct WorkerResult {
    std::string reason;
    int exit_code = 0;
    std::optional<std::string> error;
    std::optional<std::uint64_t> cpu_us;           // user + system, the whole sandbox
    std::optional<std::uint64_t> cpu_at_start_us;  // at the kStart
    std::optional<std::uint64_t> peak_memory_bytes;
    bool output_truncated = false;
    bool stopped = false;
    std::vector<std::pair<std::string, std::string>> skipped;  // files not exported: path, why
    std::optional<std::string> export_error;
};

std::string render_worker_result(const WorkerResult& r);
std::optional<WorkerResult> parse_worker_result(std::string_view text);

// nsbox --sandbox-worker ARGS... (or nsbox-serve --sandbox-worker): the process's exit status.
int worker_main(const std::vector<std::string>& args);

}  // namespace nsbox::serve
