// `nsbox shell`: an interactive shell in the sandbox, on a pty of its own, in the project.
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>

#include "cli/options.hpp"
#include "util/log.hpp"
#include "util/path.hpp"

namespace nsbox::cli {
namespace {

namespace fs = std::filesystem;

constexpr uid_t kRootPayloadId = 65534;  // the host id root's sandbox user maps to

fs::path home_dir() {
    const char* home = std::getenv("HOME");
    return home && *home == '/' ? fs::path(home) : fs::path{};
}

// A .git the caller may trust: theirs, or, for root, the owner's of the current directory.
// Anyone can create /srv/.git or /var/tmp/.git, which would make that whole directory the
// writable project (git refuses such repositories too, CVE-2022-24765).
bool trusted_git_dir(const fs::path& git, uid_t cwd_owner) {
    struct stat st {};
    if (::lstat(git.c_str(), &st) != 0) return false;
    const uid_t me = ::geteuid();
    return st.st_uid == me || (me == 0 && st.st_uid == cwd_owner);
}

// The project is the enclosing git work tree, so `git status` works inside; failing that, the
// current directory. The search stops below HOME and /, which are never a project.
fs::path project_root(const fs::path& cwd) {
    std::error_code ec;
    const fs::path home = fs::weakly_canonical(home_dir(), ec);
    struct stat cwd_stat {};
    const uid_t cwd_owner = ::stat(cwd.c_str(), &cwd_stat) == 0 ? cwd_stat.st_uid : 0;
    for (fs::path dir = cwd; !dir.empty(); dir = dir.parent_path()) {
        if (dir == dir.root_path() || (!home.empty() && dir == home)) break;
        if (trusted_git_dir(dir / ".git", cwd_owner)) return dir;
        if (dir == dir.parent_path()) break;
    }
    return cwd;
}

// FNV-1a: a name that stays the same across builds and toolchains (std::hash need not).
std::uint32_t stable_hash(const std::string& text) {
    std::uint32_t hash = 2166136261U;
    for (const unsigned char c : text) hash = (hash ^ c) * 16777619U;
    return hash;
}

// $XDG_DATA_HOME/nsbox/homes/<project name>-<hash of its path>: one HOME per project, kept
// between sessions, private to the caller (0700).
Result<std::string> persistent_home(const fs::path& project) {
    const fs::path base = util::xdg_base_dir("XDG_DATA_HOME", ".local/share");
    if (base.empty())
        return fail(Error::usage("--home persist: neither XDG_DATA_HOME nor HOME is set"));
    const std::uint32_t hash = stable_hash(project.string());
    const fs::path dir =
        base / "nsbox/homes" / fmt::format("{}-{:08x}", project.filename().string(), hash);
    std::error_code ec;
    fs::create_directories(dir.parent_path(), ec);
    if (!ec && !fs::exists(dir, ec)) {
        if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
            return fail(
                Error::from_errno(Step::kValidate, "--home persist: create " + dir.string()));
        // Root's sandbox user is an unprivileged host id: the home must be its to write.
        if (::geteuid() == 0 && ::chown(dir.c_str(), kRootPayloadId, kRootPayloadId) != 0)
            return fail(
                Error::from_errno(Step::kValidate, "--home persist: chown " + dir.string()));
    }
    if (ec) {
        return fail(Error::system(Step::kValidate, ec.value(),
                                  "--home persist: create " + dir.parent_path().string()));
    }
    // A symlink planted there would bind whatever it names as the sandbox's HOME.
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return fail(Error::usage("--home persist: " + dir.string() + " is not a directory"));
    return dir.string();
}

std::string home_note(const ShellOptions& o, const std::string& persisted) {
    return o.home == "persist" ? "home " + persisted : "an empty home";
}

}  // namespace

int shell_command(ShellOptions& o, const std::vector<std::string>& argv) {
    RunOptions& run = o.run;
    if (run.command.empty()) run.command = {"bash"};
    run.is_script = false;
    RunSetup setup;
    setup.default_profile = "shell";
    setup.request.start_in_cwd = true;
    setup.request.tty = run.tty || (!o.no_tty && ::isatty(STDIN_FILENO));
    std::error_code ec;
    const fs::path cwd = fs::current_path(ec);
    if (run.workspace.empty() && !ec) {
        const fs::path project = project_root(cwd);
        setup.request.default_workspace = project.string();
        setup.request.default_workspace_note =
            project == cwd ? "current directory" : "project root (git work tree)";
    }
    std::string persisted;
    if (o.home == "persist") {
        const fs::path project = fs::weakly_canonical(
            fs::path(run.workspace.empty() ? setup.request.default_workspace : run.workspace), ec);
        auto dir = persistent_home(project);
        if (!dir) {
            std::fprintf(stderr, "%s\n", dir.error().line().c_str());
            return dir.error().exit_code();
        }
        persisted = *dir;
        setup.request.cli.binds.push_back(
            {persisted, kSandboxHome, false, Origin::builtin("--home persist")});
    }
    const bool interactive = setup.request.tty && ::isatty(STDIN_FILENO);
    setup.before_launch = [&](const Spec& spec) -> Result<void> {
        struct stat st {};
        if (::geteuid() == 0 && spec.workspace_mode.value == WorkspaceMode::kReadWrite &&
            ::stat(spec.workspace.value.c_str(), &st) == 0 && (st.st_uid == 0 || st.st_gid == 0)) {
            log::warn(
                "{} is owned by root: root's sandbox runs as an unprivileged id and cannot "
                "write to it (run nsbox shell as the project's owner)",
                spec.workspace.value);
        }
        if (interactive && !run.quiet) {
            std::fprintf(stderr, "nsbox: shell in %s (%s), network %s, %s; exit or ^D leaves\n",
                         spec.workspace_dest.value.c_str(),
                         std::string(workspace_mode_name(spec.workspace_mode.value)).c_str(),
                         std::string(net_mode_name(spec.network.value)).c_str(),
                         home_note(o, persisted).c_str());
        }
        return {};
    };
    return run_command(run, argv, setup);
}

}  // namespace nsbox::cli
