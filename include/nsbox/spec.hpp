// Settings and Spec: the configuration data model.
//
// Settings is what one source (built-in defaults, a profile file, the command line) says; every
// value remembers where it came from. Profiles and the command line are merged into one Settings
// (later sources win, lists append), then validate() turns it into a Spec: plain, complete,
// checked data (absolute paths, sizes in range, the final environment) that the launcher plans
// from. Nothing downstream of a Spec re-reads a profile or the environment.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nsbox {

enum class OriginKind : std::uint8_t { kDefault, kProfile, kCli };

struct Origin {
    OriginKind kind = OriginKind::kDefault;
    std::string file;  // profile file, for kProfile
    int line = 0;
    std::string note;  // for kDefault: why this default ("script directory")

    static Origin cli() { return Origin{OriginKind::kCli, {}, 0, {}}; }
    static Origin profile(std::string file, int line) {
        return Origin{OriginKind::kProfile, std::move(file), line, {}};
    }
    static Origin builtin(std::string note = {}) {
        return Origin{OriginKind::kDefault, {}, 0, std::move(note)};
    }
    // "default", "default (script directory)", "profiles/default.toml:12", "command line"
    [[nodiscard]] std::string describe() const;
};

template <class T>
struct Sourced {
    T value{};
    Origin origin;
};

enum class NetMode : std::uint8_t { kNone, kHost };
enum class WorkspaceMode : std::uint8_t { kOverlay, kReadWrite, kReadOnly };
// What a call the seccomp policy denies does: fail with an errno, or kill the sandbox.
enum class SeccompAction : std::uint8_t { kErrno, kKill };
// Landlock: used where the kernel has it ("auto"), refused to run without it, or not used.
enum class LandlockMode : std::uint8_t { kAuto, kRequired, kOff };
// A requested resource limit the host cannot enforce: refuse to run ("strict"), or run, warn
// and report it ("best-effort").
enum class LimitsMode : std::uint8_t { kBestEffort, kStrict };

// The names used in profiles, on the command line and in reports: "none"/"host",
// "overlay"/"rw"/"ro".
std::string_view net_mode_name(NetMode mode) noexcept;
std::string_view workspace_mode_name(WorkspaceMode mode) noexcept;
std::optional<NetMode> parse_net_mode(std::string_view name) noexcept;
std::optional<WorkspaceMode> parse_workspace_mode(std::string_view name) noexcept;
// "errno"/"kill" and "auto"/"required"/"off".
std::string_view seccomp_action_name(SeccompAction action) noexcept;
std::string_view landlock_mode_name(LandlockMode mode) noexcept;
std::optional<SeccompAction> parse_seccomp_action(std::string_view name) noexcept;
std::optional<LandlockMode> parse_landlock_mode(std::string_view name) noexcept;
// "best-effort"/"strict".
std::string_view limits_mode_name(LimitsMode mode) noexcept;
std::optional<LimitsMode> parse_limits_mode(std::string_view name) noexcept;

struct BindSpec {
    std::string source;  // host path (absolute after validation)
    std::string dest;    // sandbox path; empty in Settings means "same as source"
    bool read_only = false;
    Origin origin;
};

struct TmpfsSpec {
    std::string dest;
    std::uint64_t size = 0;  // 0: use the default tmpfs size
    Origin origin;
};

struct EnvVar {
    std::string name;
    std::string value;
    Origin origin;
};

// What pip installs in a layer over a prepared rootfs (--requirements, [requirements]).
struct RequirementsSpec {
    std::string file;        // absolute
    std::string find_links;  // absolute directory, or empty
    bool no_index = false;   // pip's --no-index: the find_links directory only, no network
    Origin origin;           // of the requirements file setting
};

// What one configuration source sets. An empty optional means "not set here".
struct Settings {
    std::optional<Sourced<std::string>> rootfs;
    std::optional<Sourced<std::string>> hostname;
    std::optional<Sourced<NetMode>> network;
    std::optional<Sourced<WorkspaceMode>> workspace_mode;
    std::optional<Sourced<std::uint64_t>> workspace_size;
    // Where the workspace appears in the sandbox: an absolute path, or "same" for the host
    // directory's own path (so paths in messages match the host's).
    std::optional<Sourced<std::string>> workspace_at;
    // Paths inside the workspace (relative to it) mounted read-only over a writable workspace,
    // where they exist: e.g. .git/config and .git/hooks, which the host's git would execute.
    std::vector<Sourced<std::string>> workspace_read_only;
    std::optional<Sourced<std::uint64_t>> tmp_size;
    std::optional<Sourced<std::uint64_t>> shm_size;
    std::optional<Sourced<std::uint64_t>> home_size;
    std::optional<Sourced<std::chrono::milliseconds>> timeout;  // 0: no timeout
    std::vector<BindSpec> binds;
    std::vector<TmpfsSpec> tmpfs;
    std::vector<Sourced<std::string>> env_pass;   // host variable names to copy
    std::vector<EnvVar> env_set;                  // fixed values
    std::vector<Sourced<std::string>> env_files;  // dotenv files (absolute or relative to origin)
    std::optional<Sourced<SeccompAction>> seccomp_action;
    std::vector<Sourced<std::string>> seccomp_allow;  // system calls or @groups to permit
    std::vector<Sourced<std::string>> seccomp_deny;   // system calls or @groups to refuse
    std::optional<Sourced<LandlockMode>> landlock;
    std::optional<Sourced<bool>> landlock_allow_tcp;  // network "none": TCP on loopback
    // Resource limits; 0 means "none".
    std::optional<Sourced<LimitsMode>> limits_mode;
    std::optional<Sourced<std::uint64_t>> memory_limit;  // bytes
    std::optional<Sourced<std::uint64_t>> pids_limit;    // tasks (processes and threads)
    std::optional<Sourced<std::uint64_t>> cpus_limit;    // thousandths of a CPU
    std::optional<Sourced<std::chrono::milliseconds>> cpu_time_limit;
    std::optional<Sourced<std::uint64_t>> output_limit;      // bytes of stdout + stderr
    std::optional<Sourced<std::uint64_t>> open_files_limit;  // RLIMIT_NOFILE
    // pip requirements for a prepared rootfs (absolute paths after loading).
    std::optional<Sourced<std::string>> requirements_file;
    std::optional<Sourced<std::string>> find_links;
    std::optional<Sourced<bool>> no_index;
};

// The validated resource limits of one run; a value of 0 means "no limit".
struct Limits {
    Sourced<LimitsMode> mode;
    Sourced<std::uint64_t> memory;
    Sourced<std::uint64_t> pids;
    Sourced<std::uint64_t> cpus;  // thousandths of a CPU
    Sourced<std::chrono::milliseconds> cpu_time;
    Sourced<std::uint64_t> output;
    Sourced<std::uint64_t> open_files;
};

// Sandbox-side identity. The caller's uid/gid (or, for root, an unprivileged host id) map to
// these inside the user namespace.
inline constexpr unsigned kSandboxUid = 1000;
inline constexpr unsigned kSandboxGid = 1000;
inline constexpr const char* kSandboxUser = "sandbox";
inline constexpr const char* kSandboxHome = "/home/sandbox";
inline constexpr const char* kWorkspaceDir = "/workspace";  // the default workspace.at
inline constexpr const char* kWorkspaceAtHostPath = "same";

// The validated, complete configuration of one run.
struct Spec {
    std::string profile_name;
    std::string profile_path;
    Sourced<std::string> rootfs;  // "host" or an absolute directory (a stored rootfs's root/)
    std::string rootfs_name;      // the stored rootfs's name; empty for "host" or a directory
    std::string rootfs_entry;     // the stored rootfs's NAME/ directory (what runs lock)
    std::optional<RequirementsSpec> requirements;
    // Read-only layers over the rootfs's top-level directories, uppermost first: the
    // requirements layer's root, set by rootfs::prepare_for_run.
    std::vector<std::string> rootfs_layers;
    Sourced<std::string> hostname;
    Sourced<NetMode> network;
    Sourced<std::string> workspace;       // absolute host directory
    Sourced<std::string> workspace_dest;  // where the sandbox sees it (absolute)
    Sourced<WorkspaceMode> workspace_mode;
    Sourced<std::uint64_t> workspace_size;
    Sourced<std::uint64_t> tmp_size;
    Sourced<std::uint64_t> shm_size;
    Sourced<std::uint64_t> home_size;
    Sourced<std::chrono::milliseconds> timeout;
    std::vector<BindSpec> binds;  // absolute source and dest
    std::vector<TmpfsSpec> tmpfs;
    std::vector<EnvVar> env;  // the payload's entire environment, one entry per name
    Sourced<SeccompAction> seccomp_action;
    std::vector<Sourced<std::string>> seccomp_allow;  // known names, each once
    std::vector<Sourced<std::string>> seccomp_deny;
    Sourced<LandlockMode> landlock;
    Sourced<bool> landlock_allow_tcp;
    Limits limits;

    std::vector<std::string> argv;    // what runs inside the sandbox
    std::string script_host_path;     // FILE.py on the host, when running a script
    std::string script_sandbox_path;  // where the payload sees it
    std::string output_dir;           // --output: export workspace changes here
    std::string report_path;          // --report: "-" for stdout
    std::vector<int> pass_fds;        // --pass-fd: open fds above 2 the payload inherits
    std::string workdir;              // the payload's working directory (inside the sandbox)
    bool terminal_attached = false;   // stdin/stdout/stderr is a tty
    // The payload gets a pseudo-terminal of its own (its controlling terminal, created in the
    // sandbox's devpts) as stdin, stdout and stderr; nsbox relays it to its own stdio.
    bool use_pty = false;
    // A caller that steers the run while it goes (nsbox serve): the supervisor's end of a
    // socket carrying ControlCommand messages (nsbox/launcher.hpp); -1 for none.
    int control_fd = -1;
    // Caps on what --output exports (files and symlinks written, bytes of content); 0 keeps
    // the defaults of ExportLimits.
    std::uint64_t output_max_files = 0;
    std::uint64_t output_max_bytes = 0;
};

}  // namespace nsbox
