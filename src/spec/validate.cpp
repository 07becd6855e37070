// Settings + RunRequest -> Spec: defaults, path resolution and every check that can run before
// a sandbox exists.
#include "nsbox/validate.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "nsbox/rootfs.hpp"
#include "nsbox/units.hpp"
#include "security/seccomp_compile.hpp"
#include "security/seccomp_policy.hpp"
#include "util/path.hpp"

namespace nsbox {
namespace {

namespace fs = std::filesystem;

template <class T>
Sourced<T> builtin(T value, std::string note = {}) {
    return Sourced<T>{std::move(value), Origin::builtin(std::move(note))};
}

// Where a setting's error is reported: its profile line, or the command-line flag.
Error setting_error(const Origin& origin, const std::string& key, const std::string& flag,
                    const std::string& what) {
    if (origin.kind == OriginKind::kProfile)
        return Error::profile(origin.file, origin.line, key, what);
    return Error::usage(fmt::format("{}: {}", flag, what));
}

std::string absolute(const std::string& path, const std::string& cwd) {
    if (!path.empty() && path.front() == '/') return fs::path(path).lexically_normal().string();
    return (fs::path(cwd) / path).lexically_normal().string();
}

std::string strip_trailing_slash(std::string path) {
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    return path;
}

Result<std::string> canonical_dir(const std::string& path, const Origin& origin,
                                  const std::string& key, const std::string& flag) {
    std::error_code ec;
    const fs::path real = fs::canonical(path, ec);
    if (ec) {
        return fail(setting_error(origin, key, flag, fmt::format("{}: {}", path, ec.message())));
    }
    if (!fs::is_directory(real, ec))
        return fail(setting_error(origin, key, flag, fmt::format("{}: not a directory", path)));
    return real.string();
}

using util::is_below;

// A mount on the workspace, or above it, would replace or hide it (user mounts are applied
// after the workspace).
bool is_reserved_dest(const std::string& dest, const std::string& workspace_dest) {
    return dest == "/" || dest == "/proc" || is_below(dest, "/proc") || dest == workspace_dest ||
           is_below(workspace_dest, dest);
}

// Directories nsbox builds the sandbox from: the workspace may be neither one of them, nor
// inside one (it would land in a read-only system tree), nor above one (it would hide it).
// /tmp is a scratch tmpfs, so a workspace may sit below it (a project in /tmp), not on it.
constexpr const char* kSystemDirs[] = {"/proc",   "/dev",  "/sys",      "/etc",   "/usr",
                                       "/bin",    "/sbin", "/lib",      "/lib32", "/lib64",
                                       "/libx32", "/run",  kSandboxHome};

Result<std::string> checked_workspace_dest(const Spec& spec, const Sourced<std::string>& at) {
    const bool same = at.value == kWorkspaceAtHostPath;
    const std::string raw = same ? spec.workspace.value : at.value;
    const std::string dest = strip_trailing_slash(fs::path(raw).lexically_normal().string());
    auto refuse = [&](const std::string& why) {
        return fail(setting_error(
            at.origin, "workspace.at", "--workspace-at",
            same ? fmt::format("\"same\": the workspace {} {}; use \"/workspace\"", dest, why)
                 : fmt::format("{}: {}", raw, why)));
    };
    if (dest.empty() || dest.front() != '/') return refuse("is not an absolute path");
    if (dest == "/") return refuse("would replace the sandbox's root");
    for (const char* dir : kSystemDirs) {
        if (dest == dir || is_below(dest, dir) || is_below(dir, dest))
            return refuse(fmt::format("would overlap {}, which nsbox provides", dir));
    }
    if (dest == "/tmp" || is_below("/tmp", dest))
        return refuse("would hide /tmp, which nsbox provides");
    return dest;
}

Result<std::string> checked_dest(const std::string& raw, const Origin& origin,
                                 const std::string& key, const std::string& flag,
                                 const std::string& workspace_dest) {
    const std::string dest = strip_trailing_slash(fs::path(raw).lexically_normal().string());
    if (dest.empty() || dest.front() != '/')
        return fail(setting_error(origin, key, flag, fmt::format("{}: not an absolute path", raw)));
    if (is_reserved_dest(dest, workspace_dest)) {
        return fail(setting_error(origin, key, flag,
                                  fmt::format("{}: this destination is managed by nsbox", dest)));
    }
    return dest;
}

Result<void> resolve_binds(Spec& spec, const std::vector<BindSpec>& binds,
                           const HostContext& host) {
    for (BindSpec bind : binds) {
        const std::string key = bind.read_only ? "mounts.ro_bind" : "mounts.bind";
        const std::string flag = bind.read_only ? "--ro-bind" : "--bind";
        bind.source = absolute(bind.source, host.cwd);
        std::error_code ec;
        const fs::path real = fs::canonical(bind.source, ec);
        if (ec) {
            return fail(setting_error(bind.origin, key, flag,
                                      fmt::format("{}: {}", bind.source, ec.message())));
        }
        auto dest = checked_dest(bind.dest.empty() ? bind.source : bind.dest, bind.origin, key,
                                 flag, spec.workspace_dest.value);
        if (!dest) return fail(dest.error());
        bind.source = real.string();
        bind.dest = *dest;
        spec.binds.push_back(std::move(bind));
    }
    return {};
}

// workspace.read_only: each existing path inside the workspace becomes a read-only bind over
// it. A path that leaves the workspace (through "..", or a symlink) is an error: the entry
// exists to protect the workspace, never to grant anything else.
Result<void> protect_workspace_paths(Spec& spec, const std::vector<Sourced<std::string>>& paths) {
    if (spec.workspace_mode.value == WorkspaceMode::kReadOnly) return {};
    for (const Sourced<std::string>& entry : paths) {
        const fs::path rel = fs::path(entry.value).lexically_normal();
        auto refuse = [&](const std::string& why) {
            return fail(setting_error(entry.origin, "workspace.read_only", "workspace.read_only",
                                      fmt::format("{}: {}", entry.value, why)));
        };
        if (rel.empty() || rel.is_absolute() || *rel.begin() == "..")
            return refuse("not a path inside the workspace");
        const fs::path host = fs::path(spec.workspace.value) / rel;
        std::error_code ec;
        if (!fs::exists(fs::symlink_status(host, ec))) continue;
        const fs::path real = fs::canonical(host, ec);
        if (ec || real != host) return refuse("is a symlink or lies behind one");
        spec.binds.push_back({real.string(), (fs::path(spec.workspace_dest.value) / rel).string(),
                              true, entry.origin});
    }
    return {};
}

Result<void> resolve_tmpfs(Spec& spec, const std::vector<TmpfsSpec>& mounts) {
    for (TmpfsSpec tmpfs : mounts) {
        auto dest = checked_dest(tmpfs.dest, tmpfs.origin, "mounts.tmpfs", "--tmpfs",
                                 spec.workspace_dest.value);
        if (!dest) return fail(dest.error());
        tmpfs.dest = *dest;
        if (tmpfs.size == 0) tmpfs.size = spec.tmp_size.value;
        spec.tmpfs.push_back(std::move(tmpfs));
    }
    return {};
}

Result<void> check_hostname(const Sourced<std::string>& hostname) {
    const std::string& name = hostname.value;
    const bool ok = !name.empty() && name.size() <= 64 &&
                    name.find_first_not_of(
                        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789.-") == std::string::npos;
    if (ok) return {};
    return fail(setting_error(hostname.origin, "sandbox.hostname", "--hostname",
                              fmt::format("\"{}\" is not a valid host name", name)));
}

// FILE.py: the host file must be a readable regular file. 127 if missing, 126 if unusable.
Result<std::string> check_script(const std::string& script, const HostContext& host) {
    const std::string path = absolute(script, host.cwd);
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return fail(Error::not_found(Step::kValidate, "script " + script));
        return fail(Error::cannot_execute(Step::kValidate, errno, "script " + script));
    }
    if (S_ISDIR(st.st_mode))
        return fail(Error::cannot_execute(Step::kValidate, EISDIR, "script " + script));
    // Root's access() always succeeds, but root's payload is not root: it needs a read bit
    // (its owner's, once the workspace owner is mapped to the sandbox user).
    const bool readable =
        ::geteuid() == 0 ? (st.st_mode & 0444) != 0 : ::access(path.c_str(), R_OK) == 0;
    if (!readable) {
        return fail(Error::cannot_execute(Step::kValidate, ::geteuid() == 0 ? EACCES : errno,
                                          "script " + script));
    }
    std::error_code ec;
    return fs::canonical(path, ec).string();
}

Result<void> resolve_workspace(Spec& spec, const RunRequest& request, const HostContext& host,
                               const Sourced<std::string>& at) {
    if (!request.workspace.empty()) {
        auto dir =
            canonical_dir(absolute(request.workspace, host.cwd), Origin::cli(), "", "--workspace");
        if (!dir) return fail(dir.error());
        spec.workspace = {*dir, Origin::cli()};
    } else {
        const bool from_script = !spec.script_host_path.empty();
        const std::string candidate = !request.default_workspace.empty() ? request.default_workspace
                                      : from_script
                                          ? fs::path(spec.script_host_path).parent_path().string()
                                          : host.cwd;
        auto dir = canonical_dir(candidate, Origin::builtin(), "", "workspace");
        if (!dir) return fail(dir.error());
        // An implicit workspace must never expose the whole host or the caller's home (nor a
        // directory above it, such as /home).
        auto home = host.environment.find("HOME");
        std::error_code ec;
        const std::string real_home =
            home == host.environment.end()
                ? std::string{}
                : strip_trailing_slash(fs::weakly_canonical(home->second, ec).string());
        if (*dir == "/" ||
            (!real_home.empty() && (*dir == real_home || is_below(real_home, *dir)))) {
            return fail(Error::usage(fmt::format(
                "refusing to use {} as the workspace implicitly (it would expose {}); pass "
                "--workspace DIR",
                *dir, *dir == "/" ? "the whole host" : "your home directory")));
        }
        const std::string note = !request.default_workspace.empty() ? request.default_workspace_note
                                 : from_script                      ? "script directory"
                                                                    : "current directory";
        spec.workspace = {*dir, Origin::builtin(note)};
    }
    auto dest = checked_workspace_dest(spec, at);
    if (!dest) return fail(dest.error());
    spec.workspace_dest = {*dest, at.origin};
    spec.workdir = *dest;
    if (request.start_in_cwd) {
        std::error_code ec;
        const fs::path cwd = fs::canonical(host.cwd, ec);
        const fs::path rel = cwd.lexically_relative(spec.workspace.value);
        if (!ec && !rel.empty() && *rel.begin() != "..")
            spec.workdir = (fs::path(*dest) / rel).lexically_normal().string();
        spec.workdir = strip_trailing_slash(spec.workdir);
    }
    return {};
}

Result<void> resolve_command(Spec& spec, const RunRequest& request, const HostContext& host) {
    if (request.command.empty())
        return fail(Error::usage("nothing to run: give FILE.py or -- CMD"));
    if (!request.is_script) {
        spec.argv = request.command;
        return {};
    }
    auto script = check_script(request.command.front(), host);
    if (!script) return fail(script.error());
    spec.script_host_path = *script;
    return {};
}

// Where the payload sees the script: inside /workspace when it lives in the workspace,
// otherwise bound read-only on its own.
void place_script(Spec& spec, const RunRequest& request) {
    const fs::path rel = fs::path(spec.script_host_path).lexically_relative(spec.workspace.value);
    if (!rel.empty() && *rel.begin() != "..") {
        spec.script_sandbox_path = (fs::path(spec.workspace_dest.value) / rel).string();
    } else {
        spec.script_sandbox_path =
            "/run/nsbox/script/" + fs::path(spec.script_host_path).filename().string();
        spec.binds.push_back({spec.script_host_path, spec.script_sandbox_path, true,
                              Origin::builtin("script outside the workspace")});
    }
    spec.argv = {"python3", spec.script_sandbox_path};
    spec.argv.insert(spec.argv.end(), request.command.begin() + 1, request.command.end());
}

// Each name once (the first mention keeps its origin), and the whole policy must build: unknown
// names and a name both allowed and denied are errors now, not at launch.
Result<void> resolve_security(Spec& spec, const Settings& settings) {
    auto dedup = [](const std::vector<Sourced<std::string>>& in) {
        std::vector<Sourced<std::string>> out;
        for (const auto& item : in) {
            const bool seen = std::any_of(out.begin(), out.end(),
                                          [&](const auto& o) { return o.value == item.value; });
            if (!seen) out.push_back(item);
        }
        return out;
    };
    spec.seccomp_action = *settings.seccomp_action;
    spec.seccomp_allow = dedup(settings.seccomp_allow);
    spec.seccomp_deny = dedup(settings.seccomp_deny);
    spec.landlock = *settings.landlock;
    spec.landlock_allow_tcp = *settings.landlock_allow_tcp;
    auto policy = security::build_policy(spec, security::is_syscall);
    if (!policy) return fail(policy.error());
    return {};
}

// Values a limit may take besides 0 ("none"), and why: below these the sandbox cannot start.
Result<void> check_limits(const Limits& limits) {
    struct Bound {
        const Origin& origin;
        const char* key;
        const char* flag;
        std::uint64_t value;
        std::uint64_t min;
        std::uint64_t max;
        const char* what;
    };
    const Bound bounds[] = {
        {limits.memory.origin, "limits.memory", "--memory", limits.memory.value, 4ULL << 20,
         UINT64_MAX, "must be at least 4M (or \"none\")"},
        {limits.pids.origin, "limits.pids", "--pids", limits.pids.value, 2, 1U << 22,
         "must be between 2 (the sandbox's init counts as one) and 4194304, or \"none\""},
        {limits.cpus.origin, "limits.cpus", "--cpus", limits.cpus.value, 10, 1'000'000,
         "must be between 0.01 and 1000 CPUs, or \"none\""},
        {limits.cpu_time.origin, "limits.cpu_time", "--cpu-time",
         static_cast<std::uint64_t>(limits.cpu_time.value.count()), 10, 1ULL << 40,
         "must be at least 10ms (or \"none\")"},
        {limits.output.origin, "limits.output", "--output-limit", limits.output.value, 1024,
         UINT64_MAX, "must be at least 1K (or \"none\")"},
        {limits.open_files.origin, "limits.open_files", "--open-files", limits.open_files.value, 16,
         1U << 20, "must be between 16 and 1048576, or \"none\""},
    };
    for (const Bound& b : bounds) {
        if (b.value != 0 && (b.value < b.min || b.value > b.max))
            return fail(setting_error(b.origin, b.key, b.flag, b.what));
    }
    return {};
}

// sandbox.rootfs: "host", a directory (has a '/'), or the name of a stored rootfs; then the
// requirements pip layers on a stored one.
Result<void> resolve_rootfs(Spec& spec, const Settings& settings, const HostContext& host) {
    spec.rootfs = *settings.rootfs;
    const Origin& origin = spec.rootfs.origin;
    if (rootfs::names_stored_rootfs(spec.rootfs.value)) {
        auto installed = rootfs::find_installed(spec.rootfs.value, rootfs::store_search_dirs());
        if (!installed) {
            std::string what = installed.error().what;
            std::error_code ec;
            if (origin.kind == OriginKind::kCli &&
                fs::is_directory(absolute(spec.rootfs.value, host.cwd), ec))
                what += fmt::format(" (for the directory here, write ./{})", spec.rootfs.value);
            return fail(setting_error(origin, "sandbox.rootfs", "--rootfs", what));
        }
        spec.rootfs_name = spec.rootfs.value;
        spec.rootfs_entry = installed->dir.string();
        spec.rootfs.value = installed->root.string();
    } else if (spec.rootfs.value != "host") {
        auto dir = canonical_dir(absolute(spec.rootfs.value, host.cwd), origin, "sandbox.rootfs",
                                 "--rootfs");
        if (!dir) return fail(dir.error());
        spec.rootfs.value = *dir;
    }
    if (!settings.requirements_file) {
        if (settings.find_links)
            return fail(setting_error(settings.find_links->origin, "requirements.find_links",
                                      "--find-links", "needs a requirements file"));
        if (settings.no_index)
            return fail(setting_error(settings.no_index->origin, "requirements.no_index",
                                      "--no-index", "needs a requirements file"));
        return {};
    }
    const Sourced<std::string>& file = *settings.requirements_file;
    if (spec.rootfs_name.empty()) {
        return fail(setting_error(
            file.origin, "requirements.file", "--requirements",
            fmt::format("needs a rootfs built by nsbox (--rootfs NAME, e.g. python after "
                        "nsbox rootfs build python); the {} rootfs has no layer to install into",
                        spec.rootfs.value == "host" ? "host" : "directory")));
    }
    RequirementsSpec req;
    req.origin = file.origin;
    std::error_code ec;
    const fs::path real = fs::canonical(absolute(file.value, host.cwd), ec);
    if (ec || !fs::is_regular_file(real, ec) || ::access(real.c_str(), R_OK) != 0) {
        return fail(setting_error(file.origin, "requirements.file", "--requirements",
                                  fmt::format("{}: not a readable file", file.value)));
    }
    req.file = real.string();
    // pip, and the build scripts of what it installs, see the file's directory (read-only): a
    // project directory, never a home, /tmp or / with everything else in them.
    const std::string seen = real.parent_path().string();
    const auto home = host.environment.find("HOME");
    const bool too_wide =
        seen == "/" || seen == "/tmp" || seen == "/var/tmp" || seen == "/dev/shm" ||
        (home != host.environment.end() && !home->second.empty() && home->second.front() == '/' &&
         (seen == home->second || util::is_below(home->second, seen)));
    if (too_wide) {
        return fail(setting_error(
            file.origin, "requirements.file", "--requirements",
            fmt::format("{}: pip would see all of {} (the file's directory is its read-only "
                        "workspace); keep the requirements file in a project directory",
                        file.value, seen)));
    }
    if (settings.find_links) {
        auto dir =
            canonical_dir(absolute(settings.find_links->value, host.cwd),
                          settings.find_links->origin, "requirements.find_links", "--find-links");
        if (!dir) return fail(dir.error());
        req.find_links = *dir;
    }
    req.no_index = settings.no_index && settings.no_index->value;
    spec.requirements = std::move(req);
    return {};
}

// Native thread pools size themselves from the host's CPU count, not from a CPU limit: told
// the limit, numpy/OpenBLAS neither oversubscribe the quota nor run into the pids limit.
void add_thread_counts(Spec& spec) {
    if (spec.limits.cpus.value == 0) return;
    const std::string threads = std::to_string((spec.limits.cpus.value + 999) / 1000);
    for (const char* name :
         {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"}) {
        const bool set = std::any_of(spec.env.begin(), spec.env.end(),
                                     [&](const EnvVar& var) { return var.name == name; });
        if (!set) spec.env.push_back({name, threads, Origin::builtin("from limits.cpus")});
    }
}

}  // namespace

HostContext host_context_of_this_process() {
    HostContext host;
    for (char** entry = environ; entry && *entry; ++entry) {
        const std::string_view kv(*entry);
        const auto eq = kv.find('=');
        if (eq != std::string_view::npos)
            host.environment.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
    }
    std::error_code ec;
    host.cwd = fs::current_path(ec).string();
    host.terminal_attached =
        ::isatty(STDIN_FILENO) || ::isatty(STDOUT_FILENO) || ::isatty(STDERR_FILENO);
    return host;
}

Settings builtin_settings() {
    Settings s;
    s.rootfs = builtin<std::string>("host");
    s.hostname = builtin<std::string>("nsbox");
    s.network = builtin(NetMode::kNone);
    s.workspace_mode = builtin(WorkspaceMode::kOverlay);
    s.workspace_size = builtin<std::uint64_t>(1ULL << 30);
    s.workspace_at = builtin<std::string>(kWorkspaceDir);
    s.tmp_size = builtin<std::uint64_t>(512ULL << 20);
    s.shm_size = builtin<std::uint64_t>(256ULL << 20);
    s.home_size = builtin<std::uint64_t>(512ULL << 20);
    s.timeout = builtin(std::chrono::milliseconds{0});
    s.seccomp_action = builtin(SeccompAction::kErrno);
    s.landlock = builtin(LandlockMode::kAuto);
    s.landlock_allow_tcp = builtin(false);
    // The default profile's limits: enough for ordinary scripts and numpy, small enough that a
    // runaway loop, fork bomb or allocation stops early.
    s.limits_mode = builtin(LimitsMode::kBestEffort);
    s.memory_limit = builtin<std::uint64_t>(512ULL << 20);
    s.pids_limit = builtin<std::uint64_t>(256);
    s.cpus_limit = builtin<std::uint64_t>(1000);
    s.cpu_time_limit = builtin(std::chrono::milliseconds{3000});
    s.output_limit = builtin<std::uint64_t>(8ULL << 20);
    s.open_files_limit = builtin<std::uint64_t>(1024);
    return s;
}

Result<Spec> build_spec(const ResolvedProfile& profile, const RunRequest& request,
                        const HostContext& host) {
    Settings settings = builtin_settings();
    merge_settings(settings, profile.settings);
    merge_settings(settings, request.cli);

    Spec spec;
    spec.profile_name = profile.name;
    spec.profile_path = profile.path;
    spec.hostname = *settings.hostname;
    spec.network = *settings.network;
    spec.workspace_mode = *settings.workspace_mode;
    spec.workspace_size = *settings.workspace_size;
    spec.tmp_size = *settings.tmp_size;
    spec.shm_size = *settings.shm_size;
    spec.home_size = *settings.home_size;
    spec.timeout = *settings.timeout;
    spec.terminal_attached = host.terminal_attached;
    spec.use_pty = request.tty;
    spec.limits =
        Limits{*settings.limits_mode,     *settings.memory_limit,   *settings.pids_limit,
               *settings.cpus_limit,      *settings.cpu_time_limit, *settings.output_limit,
               *settings.open_files_limit};
    if (auto r = check_limits(spec.limits); !r) return fail(r.error());
    if (auto r = resolve_security(spec, settings); !r) return fail(r.error());
    if (auto r = resolve_rootfs(spec, settings, host); !r) return fail(r.error());
    if (auto r = check_hostname(spec.hostname); !r) return fail(r.error());
    const std::pair<const Sourced<std::uint64_t>*, const char*> sizes[] = {
        {&spec.workspace_size, "workspace.size"},
        {&spec.tmp_size, "tmpfs.tmp"},
        {&spec.shm_size, "tmpfs.shm"},
        {&spec.home_size, "tmpfs.home"}};
    for (const auto& [size, key] : sizes) {
        if (size->value < 4096)
            return fail(setting_error(size->origin, key, key, "sizes must be at least 4K"));
    }
    if (auto r = resolve_command(spec, request, host); !r) return fail(r.error());
    if (auto r = resolve_workspace(spec, request, host, *settings.workspace_at); !r)
        return fail(r.error());
    if (request.is_script) place_script(spec, request);
    if (auto r = resolve_binds(spec, settings.binds, host); !r) return fail(r.error());
    if (auto r = protect_workspace_paths(spec, settings.workspace_read_only); !r)
        return fail(r.error());
    if (auto r = resolve_tmpfs(spec, settings.tmpfs); !r) return fail(r.error());
    auto env = build_environment(settings, host);
    if (!env) return fail(env.error());
    spec.env = std::move(*env);
    add_thread_counts(spec);
    if (!request.output_dir.empty()) {
        if (spec.workspace_mode.value != WorkspaceMode::kOverlay)
            return fail(Error::usage("--output needs the overlay workspace mode (the default)"));
        spec.output_dir = absolute(request.output_dir, host.cwd);
    }
    for (const int fd : request.pass_fds) {
        if (::fcntl(fd, F_GETFD) < 0)
            return fail(Error::usage(fmt::format("--pass-fd {}: not an open file descriptor", fd)));
        spec.pass_fds.push_back(fd);
    }
    if (!request.report_path.empty())
        spec.report_path =
            request.report_path == "-" ? "-" : absolute(request.report_path, host.cwd);
    return spec;
}

}  // namespace nsbox
