// Unit tests for validation (build_spec), the payload environment (build_environment) and
// --print-spec (render_spec). Host facts come from a HostContext and a private temp dir.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "nsbox/profile.hpp"
#include "nsbox/validate.hpp"
#include "temp_dir.hpp"

namespace nsbox {
namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kMiB = 1024 * 1024;

using testing_support::TempDir;

ResolvedProfile profile_with(Settings settings = {}) {
    ResolvedProfile profile;
    profile.name = "test";
    profile.path = "/profiles/test.toml";
    profile.chain = {profile.path};
    profile.settings = std::move(settings);
    return profile;
}

RunRequest command_request(std::vector<std::string> command, const std::string& workspace) {
    RunRequest request;
    request.command = std::move(command);
    request.workspace = workspace;
    return request;
}

RunRequest script_request(std::vector<std::string> command, const std::string& workspace = {}) {
    RunRequest request = command_request(std::move(command), workspace);
    request.is_script = true;
    return request;
}

HostContext host_at(const std::string& cwd) {
    HostContext host;
    host.cwd = cwd;
    host.environment = {{"HOME", "/nonexistent-home"}, {"PATH", "/host/bin"}};
    return host;
}

std::string error_line(const Result<Spec>& spec) {
    EXPECT_FALSE(spec) << "expected an error";
    return spec ? std::string() : spec.error().line();
}

std::vector<std::string> names_of(const std::vector<EnvVar>& env) {
    std::vector<std::string> names;
    for (const EnvVar& var : env) names.push_back(var.name);
    return names;
}

const EnvVar* find_env(const std::vector<EnvVar>& env, const std::string& name) {
    const auto it =
        std::find_if(env.begin(), env.end(), [&](const EnvVar& var) { return var.name == name; });
    return it == env.end() ? nullptr : &*it;
}

std::string env_value(const std::vector<EnvVar>& env, const std::string& name) {
    const EnvVar* var = find_env(env, name);
    return var ? var->value : "<unset>";
}

// ---- origins: command line over profile over default ----

TEST(BuildSpec, CliOverridesProfileAndKeepsCliOrigin) {
    TempDir tmp;
    Settings profile;
    profile.hostname = Sourced<std::string>{"from-profile", Origin::profile("/p.toml", 4)};
    profile.network = Sourced<NetMode>{NetMode::kHost, Origin::profile("/p.toml", 5)};
    profile.tmp_size = Sourced<std::uint64_t>{64 * kMiB, Origin::profile("/p.toml", 9)};
    RunRequest request = command_request({"true"}, tmp.str());
    request.cli.hostname = Sourced<std::string>{"from-cli", Origin::cli()};
    request.cli.tmp_size = Sourced<std::uint64_t>{32 * kMiB, Origin::cli()};

    auto spec = build_spec(profile_with(profile), request, host_at(tmp.str()));
    ASSERT_TRUE(spec) << spec.error().line();
    EXPECT_EQ(spec->hostname.value, "from-cli");
    EXPECT_EQ(spec->hostname.origin.kind, OriginKind::kCli);
    EXPECT_EQ(spec->tmp_size.value, 32 * kMiB);
    EXPECT_EQ(spec->tmp_size.origin.kind, OriginKind::kCli);
    // Set by the profile only: keeps the profile's file:line.
    EXPECT_EQ(spec->network.value, NetMode::kHost);
    EXPECT_EQ(spec->network.origin.kind, OriginKind::kProfile);
    EXPECT_EQ(spec->network.origin.line, 5);
    // Set by nobody: the built-in default.
    EXPECT_EQ(spec->shm_size.value, 256 * kMiB);
    EXPECT_EQ(spec->shm_size.origin.kind, OriginKind::kDefault);
    EXPECT_EQ(spec->workspace.origin.kind, OriginKind::kCli);
    EXPECT_EQ(spec->argv, (std::vector<std::string>{"true"}));
}

TEST(BuildSpec, BuiltinDefaultsAreSafe) {
    TempDir tmp;
    auto spec = build_spec(profile_with(), command_request({"true"}, tmp.str()), host_at("/"));
    ASSERT_TRUE(spec) << spec.error().line();
    EXPECT_EQ(spec->rootfs.value, "host");
    EXPECT_EQ(spec->hostname.value, "nsbox");
    EXPECT_EQ(spec->network.value, NetMode::kNone);
    EXPECT_EQ(spec->workspace_mode.value, WorkspaceMode::kOverlay);
    EXPECT_EQ(spec->timeout.value.count(), 0);
    EXPECT_TRUE(spec->binds.empty());
}

// ---- the workspace ----

TEST(BuildSpec, DefaultWorkspaceIsTheScriptsDirectory) {
    TempDir tmp;
    const std::string script = tmp.file("proj/main.py");
    auto spec = build_spec(profile_with(), script_request({script}), host_at(tmp.dir("elsewhere")));
    ASSERT_TRUE(spec) << spec.error().line();
    EXPECT_EQ(spec->workspace.value, tmp.str("proj"));
    EXPECT_EQ(spec->workspace.origin.kind, OriginKind::kDefault);
    EXPECT_EQ(spec->workspace.origin.note, "script directory");
    EXPECT_EQ(spec->script_sandbox_path, "/workspace/main.py");
}

TEST(BuildSpec, RelativeScriptIsFoundFromTheCwd) {
    TempDir tmp;
    tmp.file("proj/main.py");
    auto spec = build_spec(profile_with(), script_request({"proj/main.py"}), host_at(tmp.str()));
    ASSERT_TRUE(spec) << spec.error().line();
    EXPECT_EQ(spec->script_host_path, tmp.str("proj/main.py"));
    EXPECT_EQ(spec->workspace.value, tmp.str("proj"));
}

TEST(BuildSpec, DefaultWorkspaceForACommandIsTheCwd) {
    TempDir tmp;
    auto spec = build_spec(profile_with(), command_request({"ls"}, ""), host_at(tmp.dir("cwd")));
    ASSERT_TRUE(spec) << spec.error().line();
    EXPECT_EQ(spec->workspace.value, tmp.str("cwd"));
    EXPECT_EQ(spec->workspace.origin.kind, OriginKind::kDefault);
    EXPECT_EQ(spec->workspace.origin.note, "current directory");
}

TEST(BuildSpec, ImplicitWorkspaceRefusesTheRootDirectory) {
    auto spec = build_spec(profile_with(), command_request({"ls"}, ""), host_at("/"));
    EXPECT_EQ(error_line(spec),
              "nsbox: refusing to use / as the workspace implicitly (it would expose the whole "
              "host); pass --workspace DIR");
    EXPECT_EQ(spec.error().exit_code(), kExitLauncherError);
}

TEST(BuildSpec, ImplicitWorkspaceRefusesHome) {
    TempDir tmp;
    const std::string home = tmp.dir("home/user");
    for (const std::string& home_var : {home, home + "/"}) {
        SCOPED_TRACE(home_var);
        HostContext host = host_at(home);
        host.environment["HOME"] = home_var;
        auto spec = build_spec(profile_with(), command_request({"ls"}, ""), host);
        EXPECT_EQ(error_line(spec), "nsbox: refusing to use " + home +
                                        " as the workspace implicitly (it would expose your home "
                                        "directory); pass --workspace DIR");
    }
}

TEST(BuildSpec, ImplicitWorkspaceRefusesHomeReachedThroughASymlink) {
    // HOME often names a path through a symlink (Fedora Atomic's /home -> /var/home) while the
    // workspace is canonical; the two must be compared as the same directory.
    TempDir tmp;
    const std::string real_home = tmp.dir("var/home/user");
    fs::create_directory_symlink(tmp.path() / "var/home", tmp.path() / "home");
    HostContext host = host_at(real_home);
    host.environment["HOME"] = tmp.str("home/user");
    auto spec = build_spec(profile_with(), command_request({"ls"}, ""), host);
    ASSERT_FALSE(spec) << "HOME was used as the workspace: " << spec->workspace.value;
    EXPECT_NE(spec.error().line().find("refusing to use"), std::string::npos)
        << spec.error().line();
}

TEST(BuildSpec, ImplicitWorkspaceRefusesTheScriptDirectoryWhenItIsHome) {
    TempDir tmp;
    const std::string home = tmp.dir("home");
    const std::string script = tmp.file("home/run.py");
    HostContext host = host_at(tmp.str());
    host.environment["HOME"] = home;
    auto spec = build_spec(profile_with(), script_request({script}), host);
    EXPECT_EQ(error_line(spec), "nsbox: refusing to use " + home +
                                    " as the workspace implicitly (it would expose your home "
                                    "directory); pass --workspace DIR");
}

TEST(BuildSpec, ImplicitWorkspaceRefusesADirectoryAboveHome) {
    TempDir tmp;
    const std::string home = tmp.dir("home/user");
    HostContext host = host_at(tmp.str("home"));
    host.environment["HOME"] = home;
    auto spec = build_spec(profile_with(), command_request({"ls"}, ""), host);
    EXPECT_EQ(error_line(spec), "nsbox: refusing to use " + tmp.str("home") +
                                    " as the workspace implicitly (it would expose your home "
                                    "directory); pass --workspace DIR");
}

ResolvedProfile profile_at(const std::string& at) {
    Settings settings;
    settings.workspace_at = Sourced<std::string>{at, Origin::profile("/profiles/test.toml", 3)};
    return profile_with(settings);
}

TEST(BuildSpec, WorkspaceAtDefaultsToSlashWorkspace) {
    TempDir tmp;
    auto spec = build_spec(profile_with(), command_request({"ls"}, ""), host_at(tmp.dir("p")));
    ASSERT_TRUE(spec) << spec.error().line();
    EXPECT_EQ(spec->workspace_dest.value, "/workspace");
    EXPECT_EQ(spec->workdir, "/workspace");
}

TEST(BuildSpec, WorkspaceAtSameUsesTheHostPathAndStartsInTheCwd) {
    TempDir tmp;
    const std::string project = tmp.dir("proj");
    tmp.dir("proj/src/deep");
    RunRequest request = command_request({"ls"}, "");
    request.default_workspace = project;
    request.start_in_cwd = true;
    auto spec = build_spec(profile_at("same"), request, host_at(tmp.str("proj/src/deep")));
    ASSERT_TRUE(spec) << spec.error().line();
    EXPECT_EQ(spec->workspace.value, project);
    EXPECT_EQ(spec->workspace_dest.value, project);
    EXPECT_EQ(spec->workdir, project + "/src/deep");
}

TEST(BuildSpec, WorkspaceAtRefusesSystemDirectories) {
    TempDir tmp;
    const std::pair<const char*, const char*> cases[] = {
        {"/usr/src/x", "/usr/src/x: would overlap /usr, which nsbox provides"},
        {"/home", "/home: would overlap /home/sandbox, which nsbox provides"},
        {"/tmp", "/tmp: would hide /tmp, which nsbox provides"},
        {"/", "/: would replace the sandbox's root"},
        {"relative", "relative: is not an absolute path"},
    };
    for (const auto& [at, message] : cases) {
        SCOPED_TRACE(at);
        auto spec = build_spec(profile_at(at), command_request({"ls"}, ""), host_at(tmp.dir("p")));
        ASSERT_FALSE(spec);
        EXPECT_NE(spec.error().line().find(std::string("workspace.at: ") + message),
                  std::string::npos)
            << spec.error().line();
    }
}

TEST(BuildSpec, WorkspaceAtSameRefusesAProjectInsideASystemDirectory) {
    RunRequest request = command_request({"ls"}, "");
    request.workspace = "/usr/share";
    auto spec = build_spec(profile_at("same"), request, host_at("/"));
    ASSERT_FALSE(spec);
    EXPECT_NE(spec.error().line().find("workspace.at: \"same\": the workspace /usr/share would "
                                       "overlap /usr, which nsbox provides; use \"/workspace\""),
              std::string::npos)
        << spec.error().line();
}

TEST(BuildSpec, ExplicitWorkspaceMayBeHome) {
    // The refusal protects against accidents; asking for it by name is a decision.
    TempDir tmp;
    const std::string home = tmp.dir("home");
    HostContext host = host_at(home);
    host.environment["HOME"] = home;
    auto spec = build_spec(profile_with(), command_request({"ls"}, home), host);
    ASSERT_TRUE(spec) << spec.error().line();
    EXPECT_EQ(spec->workspace.value, home);
}

TEST(BuildSpec, MissingExplicitWorkspaceNamesTheFlag) {
    TempDir tmp;
    const std::string missing = tmp.str("missing");
    auto spec = build_spec(profile_with(), command_request({"ls"}, missing), host_at(tmp.str()));
    EXPECT_EQ(error_line(spec), "nsbox: --workspace: " + missing + ": No such file or directory");
}

// ---- the script ----

TEST(BuildSpec, ScriptInsideTheWorkspaceRunsFromUnderWorkspace) {
    TempDir tmp;
    const std::string ws = tmp.dir("ws");
    const std::string script = tmp.file("ws/tools/job.py");
    auto spec = build_spec(profile_with(), script_request({script, "--fast", "x y"}, ws),
                           host_at(tmp.str()));
    ASSERT_TRUE(spec) << spec.error().line();
    EXPECT_EQ(spec->script_host_path, script);
    EXPECT_EQ(spec->script_sandbox_path, "/workspace/tools/job.py");
    EXPECT_EQ(spec->argv,
              (std::vector<std::string>{"python3", "/workspace/tools/job.py", "--fast", "x y"}));
    EXPECT_TRUE(spec->binds.empty()) << "the workspace already shows the script";
}

TEST(BuildSpec, ScriptOutsideTheWorkspaceIsBoundReadOnlyOnItsOwn) {
    TempDir tmp;
    const std::string ws = tmp.dir("ws");
    const std::string script = tmp.file("tools/job.py");
    auto spec = build_spec(profile_with(), script_request({script, "a"}, ws), host_at(tmp.str()));
    ASSERT_TRUE(spec) << spec.error().line();
    EXPECT_EQ(spec->script_sandbox_path, "/run/nsbox/script/job.py");
    EXPECT_EQ(spec->argv, (std::vector<std::string>{"python3", "/run/nsbox/script/job.py", "a"}));
    ASSERT_EQ(spec->binds.size(), 1U);
    EXPECT_EQ(spec->binds[0].source, script);
    EXPECT_EQ(spec->binds[0].dest, "/run/nsbox/script/job.py");
    EXPECT_TRUE(spec->binds[0].read_only);
}

TEST(BuildSpec, ScriptInASiblingDirectoryWithACommonPrefixIsOutside) {
    // "/x/ws2/a.py" is not inside "/x/ws" although the strings share a prefix.
    TempDir tmp;
    const std::string ws = tmp.dir("ws");
    const std::string script = tmp.file("ws2/a.py");
    auto spec = build_spec(profile_with(), script_request({script}, ws), host_at(tmp.str()));
    ASSERT_TRUE(spec) << spec.error().line();
    EXPECT_EQ(spec->script_sandbox_path, "/run/nsbox/script/a.py");
}

TEST(BuildSpec, MissingScriptExits127) {
    TempDir tmp;
    auto spec = build_spec(profile_with(), script_request({"missing.py"}), host_at(tmp.str()));
    EXPECT_EQ(error_line(spec), "nsbox: script missing.py: No such file or directory");
    EXPECT_EQ(spec.error().exit_code(), kExitNotFound);
    EXPECT_EQ(spec.error().code, Errc::kNotFound);
}

TEST(BuildSpec, DirectoryAsScriptExits126) {
    TempDir tmp;
    const std::string dir = tmp.dir("pkg");
    auto spec = build_spec(profile_with(), script_request({dir}), host_at(tmp.str()));
    EXPECT_EQ(error_line(spec), "nsbox: script " + dir + ": Is a directory");
    EXPECT_EQ(spec.error().exit_code(), kExitCannotExecute);
}

TEST(BuildSpec, NothingToRunIsAUsageError) {
    TempDir tmp;
    auto spec = build_spec(profile_with(), command_request({}, tmp.str()), host_at(tmp.str()));
    EXPECT_EQ(error_line(spec), "nsbox: nothing to run: give FILE.py or -- CMD");
}

// ---- binds and tmpfs ----

TEST(BuildSpec, BindWithMissingSourceExits125NamingTheFlag) {
    TempDir tmp;
    const std::string missing = tmp.str("missing");
    for (bool read_only : {false, true}) {
        RunRequest request = command_request({"true"}, tmp.str());
        request.cli.binds.push_back({missing, "/data", read_only, Origin::cli()});
        auto spec = build_spec(profile_with(), request, host_at(tmp.str()));
        EXPECT_EQ(error_line(spec), std::string("nsbox: ") + (read_only ? "--ro-bind" : "--bind") +
                                        ": " + missing + ": No such file or directory");
        EXPECT_EQ(spec.error().exit_code(), kExitLauncherError);
    }
}

TEST(BuildSpec, ProfileBindWithMissingSourceNamesFileLineAndKey) {
    TempDir tmp;
    const std::string missing = tmp.str("missing");
    Settings profile;
    profile.binds.push_back({missing, "/data", true, Origin::profile("/p.toml", 7)});
    auto spec =
        build_spec(profile_with(profile), command_request({"true"}, tmp.str()), host_at(tmp.str()));
    EXPECT_EQ(error_line(spec),
              "nsbox: /p.toml:7: mounts.ro_bind: " + missing + ": No such file or directory");
}

TEST(BuildSpec, BindSourceIsCanonicalAndDestDefaultsToSource) {
    TempDir tmp;
    tmp.dir("data/real");
    fs::create_directory_symlink(tmp.path() / "data/real", tmp.path() / "link");
    RunRequest request = command_request({"true"}, tmp.str());
    request.cli.binds.push_back({"data/./real", "", false, Origin::cli()});
    request.cli.binds.push_back({tmp.str("link"), "/mnt/x/", true, Origin::cli()});
    auto spec = build_spec(profile_with(), request, host_at(tmp.str()));
    ASSERT_TRUE(spec) << spec.error().line();
    ASSERT_EQ(spec->binds.size(), 2U);
    EXPECT_EQ(spec->binds[0].source, tmp.str("data/real"));
    EXPECT_EQ(spec->binds[0].dest, tmp.str("data/real"));
    EXPECT_EQ(spec->binds[1].source, tmp.str("data/real"));
    EXPECT_EQ(spec->binds[1].dest, "/mnt/x");
    EXPECT_TRUE(spec->binds[1].read_only);
}

TEST(BuildSpec, ReservedDestinationsAreRejectedForBindsAndTmpfs) {
    TempDir tmp;
    const std::string src = tmp.dir("src");
    // A mount above the workspace (e.g. on /) would hide it.
    for (const char* dest : {"/", "/proc", "/proc/x", "/proc/sys/kernel", "/workspace",
                             "/workspace/", "/tmp/../proc", "//proc", "/./workspace"}) {
        SCOPED_TRACE(dest);
        RunRequest bind = command_request({"true"}, tmp.str());
        bind.cli.binds.push_back({src, dest, false, Origin::cli()});
        auto with_bind = build_spec(profile_with(), bind, host_at(tmp.str()));
        ASSERT_FALSE(with_bind);
        EXPECT_NE(with_bind.error().line().find("--bind: "), std::string::npos)
            << with_bind.error().line();
        EXPECT_NE(with_bind.error().line().find("this destination is managed by nsbox"),
                  std::string::npos)
            << with_bind.error().line();

        RunRequest tmpfs = command_request({"true"}, tmp.str());
        tmpfs.cli.tmpfs.push_back({dest, 0, Origin::cli()});
        auto with_tmpfs = build_spec(profile_with(), tmpfs, host_at(tmp.str()));
        ASSERT_FALSE(with_tmpfs);
        EXPECT_NE(with_tmpfs.error().line().find("--tmpfs: "), std::string::npos)
            << with_tmpfs.error().line();
    }
}

TEST(BuildSpec, MountsAboveAWorkspaceAtItsHostPathAreRefused) {
    TempDir tmp;
    const std::string project = tmp.dir("home/u/proj");
    RunRequest request = command_request({"true"}, project);
    request.cli.tmpfs.push_back({tmp.str("home/u"), 0, Origin::cli()});
    auto spec = build_spec(profile_at("same"), request, host_at(project));
    EXPECT_EQ(error_line(spec),
              "nsbox: --tmpfs: " + tmp.str("home/u") + ": this destination is managed by nsbox");
}

TEST(BuildSpec, WorkspaceReadOnlyPathsBecomeReadOnlyBindsWhereTheyExist) {
    TempDir tmp;
    const std::string project = tmp.dir("proj");
    tmp.dir("proj/.git/hooks");
    tmp.file("proj/.git/config");
    Settings settings;
    settings.workspace_mode = Sourced<WorkspaceMode>{WorkspaceMode::kReadWrite, Origin::cli()};
    for (const char* path : {".git/config", ".git/hooks", ".git/modules"})
        settings.workspace_read_only.push_back({path, Origin::profile("/p/shell.toml", 9)});
    auto spec =
        build_spec(profile_with(settings), command_request({"true"}, project), host_at(project));
    ASSERT_TRUE(spec) << spec.error().line();
    ASSERT_EQ(spec->binds.size(), 2U);  // .git/modules does not exist
    EXPECT_EQ(spec->binds[0].source, project + "/.git/config");
    EXPECT_EQ(spec->binds[0].dest, "/workspace/.git/config");
    EXPECT_TRUE(spec->binds[0].read_only);
    EXPECT_EQ(spec->binds[1].dest, "/workspace/.git/hooks");
}

TEST(BuildSpec, WorkspaceReadOnlyPathsMayNotLeaveTheWorkspace) {
    TempDir tmp;
    const std::string project = tmp.dir("proj");
    tmp.file("secret");
    fs::create_symlink(tmp.path() / "secret", tmp.path() / "proj/link");
    for (const char* path : {"../secret", "/etc", "link"}) {
        SCOPED_TRACE(path);
        Settings settings;
        settings.workspace_read_only.push_back({path, Origin::profile("/p/x.toml", 4)});
        auto spec = build_spec(profile_with(settings), command_request({"true"}, project),
                               host_at(project));
        ASSERT_FALSE(spec);
        EXPECT_NE(spec.error().line().find("/p/x.toml:4: workspace.read_only: "), std::string::npos)
            << spec.error().line();
    }
}

TEST(BuildSpec, ReservedDestinationErrorShowsTheNormalisedPath) {
    TempDir tmp;
    RunRequest request = command_request({"true"}, tmp.str());
    request.cli.tmpfs.push_back({"/tmp/../proc", 0, Origin::cli()});
    auto spec = build_spec(profile_with(), request, host_at(tmp.str()));
    EXPECT_EQ(error_line(spec), "nsbox: --tmpfs: /proc: this destination is managed by nsbox");
}

TEST(BuildSpec, PathsUnderWorkspaceAndProcLookalikesAreAllowed) {
    TempDir tmp;
    const std::string src = tmp.dir("src");
    RunRequest request = command_request({"true"}, tmp.str());
    request.cli.binds.push_back({src, "/workspace/data", true, Origin::cli()});
    request.cli.binds.push_back({src, "/processes", true, Origin::cli()});
    request.cli.tmpfs.push_back({"/workspace2", 0, Origin::cli()});
    auto spec = build_spec(profile_with(), request, host_at(tmp.str()));
    ASSERT_TRUE(spec) << spec.error().line();
    EXPECT_EQ(spec->binds.size(), 2U);
    EXPECT_EQ(spec->tmpfs.size(), 1U);
}

TEST(BuildSpec, DotDotInDestinationsIsNormalised) {
    TempDir tmp;
    const std::string src = tmp.dir("src");
    RunRequest request = command_request({"true"}, tmp.str());
    request.cli.binds.push_back({src, "/a/../b", false, Origin::cli()});
    request.cli.binds.push_back({src, "/../../etc/x", true, Origin::cli()});
    request.cli.tmpfs.push_back({"/a/../c/", 8 * kMiB, Origin::cli()});
    auto spec = build_spec(profile_with(), request, host_at(tmp.str()));
    ASSERT_TRUE(spec) << spec.error().line();
    ASSERT_EQ(spec->binds.size(), 2U);
    EXPECT_EQ(spec->binds[0].dest, "/b");
    EXPECT_EQ(spec->binds[1].dest, "/etc/x");  // ".." cannot climb above "/"
    ASSERT_EQ(spec->tmpfs.size(), 1U);
    EXPECT_EQ(spec->tmpfs[0].dest, "/c");
}

TEST(BuildSpec, TmpfsWithoutSizeTakesTheTmpSize) {
    TempDir tmp;
    RunRequest request = command_request({"true"}, tmp.str());
    request.cli.tmp_size = Sourced<std::uint64_t>{128 * kMiB, Origin::cli()};
    request.cli.tmpfs.push_back({"/scratch", 0, Origin::cli()});
    request.cli.tmpfs.push_back({"/small", 4 * kMiB, Origin::cli()});
    auto spec = build_spec(profile_with(), request, host_at(tmp.str()));
    ASSERT_TRUE(spec) << spec.error().line();
    ASSERT_EQ(spec->tmpfs.size(), 2U);
    EXPECT_EQ(spec->tmpfs[0].size, 128 * kMiB);
    EXPECT_EQ(spec->tmpfs[1].size, 4 * kMiB);
}

// ---- other checks ----

TEST(BuildSpec, OutputNeedsTheOverlayWorkspace) {
    TempDir tmp;
    for (WorkspaceMode mode : {WorkspaceMode::kReadWrite, WorkspaceMode::kReadOnly}) {
        RunRequest request = command_request({"true"}, tmp.str());
        request.output_dir = tmp.str("out");
        request.cli.workspace_mode = Sourced<WorkspaceMode>{mode, Origin::cli()};
        auto spec = build_spec(profile_with(), request, host_at(tmp.str()));
        EXPECT_EQ(error_line(spec),
                  "nsbox: --output needs the overlay workspace mode (the default)");
    }
}

TEST(BuildSpec, OutputAndReportPathsBecomeAbsolute) {
    TempDir tmp;
    RunRequest request = command_request({"true"}, tmp.str());
    request.output_dir = "out";
    request.report_path = "r.json";
    auto spec = build_spec(profile_with(), request, host_at(tmp.str()));
    ASSERT_TRUE(spec) << spec.error().line();
    EXPECT_EQ(spec->output_dir, tmp.str("out"));
    EXPECT_EQ(spec->report_path, tmp.str("r.json"));

    request.report_path = "-";  // stdout stays "-"
    spec = build_spec(profile_with(), request, host_at(tmp.str()));
    ASSERT_TRUE(spec) << spec.error().line();
    EXPECT_EQ(spec->report_path, "-");
}

TEST(BuildSpec, InvalidHostnameIsAnError) {
    TempDir tmp;
    const std::string too_long(65, 'a');
    for (const std::string& name :
         {std::string("bad host"), std::string("a/b"), std::string(""), too_long}) {
        SCOPED_TRACE(name);
        RunRequest request = command_request({"true"}, tmp.str());
        request.cli.hostname = Sourced<std::string>{name, Origin::cli()};
        auto spec = build_spec(profile_with(), request, host_at(tmp.str()));
        EXPECT_EQ(error_line(spec), "nsbox: --hostname: \"" + name + "\" is not a valid host name");
    }
}

TEST(BuildSpec, InvalidHostnameFromAProfileNamesFileAndLine) {
    TempDir tmp;
    Settings profile;
    profile.hostname = Sourced<std::string>{"no_underscores", Origin::profile("/p.toml", 3)};
    auto spec =
        build_spec(profile_with(profile), command_request({"true"}, tmp.str()), host_at(tmp.str()));
    EXPECT_EQ(error_line(spec),
              "nsbox: /p.toml:3: sandbox.hostname: \"no_underscores\" is not a valid host name");
}

TEST(BuildSpec, MissingRootfsDirectoryNamesItsSource) {
    TempDir tmp;
    Settings profile;
    profile.rootfs = Sourced<std::string>{tmp.str("rootfs"), Origin::profile("/p.toml", 2)};
    auto spec =
        build_spec(profile_with(profile), command_request({"true"}, tmp.str()), host_at(tmp.str()));
    EXPECT_EQ(error_line(spec), "nsbox: /p.toml:2: sandbox.rootfs: " + tmp.str("rootfs") +
                                    ": No such file or directory");
}

TEST(BuildSpec, TinySizeNamesTheProfileKeyThatSetIt) {
    // Sizes only come from profiles (there are no size flags), so the error must point at the
    // exact key: "tmpfs" alone does not say which of four sizes is wrong.
    TempDir tmp;
    struct Case {
        std::optional<Sourced<std::uint64_t>> Settings::*field;
        const char* key;
    };
    const Case cases[] = {{&Settings::workspace_size, "workspace.size"},
                          {&Settings::tmp_size, "tmpfs.tmp"},
                          {&Settings::shm_size, "tmpfs.shm"},
                          {&Settings::home_size, "tmpfs.home"}};
    for (const Case& c : cases) {
        Settings profile;
        profile.*c.field = Sourced<std::uint64_t>{100, Origin::profile("/p.toml", 12)};
        auto spec = build_spec(profile_with(profile), command_request({"true"}, tmp.str()),
                               host_at(tmp.str()));
        ASSERT_FALSE(spec) << c.key;
        EXPECT_EQ(spec.error().line().rfind(std::string("nsbox: /p.toml:12: ") + c.key + ": ", 0),
                  0U)
            << spec.error().line();
        EXPECT_NE(spec.error().line().find("at least 4K"), std::string::npos)
            << spec.error().line();
    }
}

// ---- build_environment ----

HostContext busy_host() {
    HostContext host;
    host.cwd = "/";
    host.environment = {{"PATH", "/host/bin"},      {"HOME", "/root"},
                        {"USER", "root"},           {"TERM", "xterm-256color"},
                        {"AWS_SECRET", "s"},        {"TZ", "Europe/Paris"},
                        {"LD_PRELOAD", "/evil.so"}, {"SSH_AUTH_SOCK", "/run/ssh"}};
    return host;
}

TEST(BuildEnvironment, OnlyTheBuiltinVariablesReachThePayloadByDefault) {
    auto env = build_environment(Settings{}, busy_host());
    ASSERT_TRUE(env) << env.error().line();
    EXPECT_EQ(names_of(*env),
              (std::vector<std::string>{"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL"}));
    EXPECT_EQ(env_value(*env, "PATH"), "/usr/local/bin:/usr/bin:/bin");
    EXPECT_EQ(env_value(*env, "HOME"), "/home/sandbox");
    EXPECT_EQ(env_value(*env, "USER"), "sandbox");
    EXPECT_EQ(env_value(*env, "LOGNAME"), "sandbox");
    EXPECT_EQ(env_value(*env, "LANG"), "C.UTF-8");
    EXPECT_EQ(env_value(*env, "LC_ALL"), "C.UTF-8");
    for (const EnvVar& var : *env) EXPECT_EQ(var.origin.kind, OriginKind::kDefault) << var.name;
}

TEST(BuildEnvironment, TermIsCopiedOnlyWhenATerminalIsAttached) {
    HostContext host = busy_host();
    host.terminal_attached = true;
    auto env = build_environment(Settings{}, host);
    ASSERT_TRUE(env) << env.error().line();
    EXPECT_EQ(env_value(*env, "TERM"), "xterm-256color");

    host.environment.erase("TERM");
    env = build_environment(Settings{}, host);
    ASSERT_TRUE(env) << env.error().line();
    EXPECT_EQ(find_env(*env, "TERM"), nullptr) << "no TERM on the host, none invented";

    host = busy_host();
    host.terminal_attached = false;
    env = build_environment(Settings{}, host);
    ASSERT_TRUE(env) << env.error().line();
    EXPECT_EQ(find_env(*env, "TERM"), nullptr);
}

TEST(BuildEnvironment, PassCopiesOnlyNamedVariablesThatAreSet) {
    Settings settings;
    settings.env_pass.push_back({"TZ", Origin::cli()});
    settings.env_pass.push_back({"NOT_ON_HOST", Origin::cli()});
    auto env = build_environment(settings, busy_host());
    ASSERT_TRUE(env) << env.error().line();
    EXPECT_EQ(env_value(*env, "TZ"), "Europe/Paris");
    EXPECT_EQ(find_env(*env, "NOT_ON_HOST"), nullptr);
    EXPECT_EQ(find_env(*env, "AWS_SECRET"), nullptr);
    EXPECT_EQ(find_env(*env, "LD_PRELOAD"), nullptr);
}

class EnvLayers : public ::testing::Test {
 protected:
    EnvLayers() {
        std::string templ = (fs::path(::testing::TempDir()) / "nsbox_env_XXXXXX").string();
        if (::mkdtemp(templ.data()) == nullptr) ADD_FAILURE() << std::strerror(errno);
        dir_ = templ;
    }
    ~EnvLayers() override {
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }
    std::string env_file(const std::string& name, const std::string& text) const {
        std::ofstream out(dir_ / name, std::ios::binary);
        out << text;
        return (dir_ / name).string();
    }

    fs::path dir_;
};

TEST_F(EnvLayers, LaterLayersWinByName) {
    // Variable Lk is set by layers 1..k, so layer k must be what the payload sees for Lk.
    // Layers: 1 profile env files, 2 profile pass, 3 profile env.set, 4 CLI --env-file,
    // 5 CLI --pass-env, 6 CLI --setenv.
    const Origin profile = Origin::profile("/p.toml", 1);
    const Origin cli = Origin::cli();
    Settings settings;
    HostContext host;
    host.cwd = "/";
    std::string profile_file_text;
    std::string cli_file_text;
    for (int k = 1; k <= 6; ++k) {
        const std::string name = "L" + std::to_string(k);
        profile_file_text += name + "=profile-file\n";
        if (k >= 2) settings.env_pass.push_back({name, profile});
        if (k >= 3) settings.env_set.push_back({name, "profile-set", profile});
        if (k >= 4) cli_file_text += name + "=cli-file\n";
        if (k >= 5) settings.env_pass.push_back({name, cli});
        if (k >= 6) settings.env_set.push_back({name, "cli-set", cli});
    }
    // The host has every Lk, so a pass layer that wins shows "host".
    for (int k = 1; k <= 6; ++k) host.environment["L" + std::to_string(k)] = "host";
    settings.env_files.push_back({env_file("profile.env", profile_file_text), profile});
    settings.env_files.push_back({env_file("cli.env", cli_file_text), cli});

    auto env = build_environment(settings, host);
    ASSERT_TRUE(env) << env.error().line();
    EXPECT_EQ(env_value(*env, "L1"), "profile-file");
    EXPECT_EQ(env_value(*env, "L2"), "host");
    EXPECT_EQ(env_value(*env, "L3"), "profile-set");
    EXPECT_EQ(env_value(*env, "L4"), "cli-file");
    EXPECT_EQ(env_value(*env, "L5"), "host");
    EXPECT_EQ(env_value(*env, "L6"), "cli-set");
    EXPECT_EQ(find_env(*env, "L5")->origin.kind, OriginKind::kCli);
}

TEST_F(EnvLayers, ProfileEnvSetOverridesProfileEnvFile) {
    // Within a layer, an explicit value beats a file, as --setenv beats --env-file.
    const Origin profile = Origin::profile("/p.toml", 1);
    Settings settings;
    settings.env_set.push_back({"MODE", "from-set", profile});
    settings.env_files.push_back({env_file("app.env", "MODE=from-file\n"), profile});
    auto env = build_environment(settings, HostContext{});
    ASSERT_TRUE(env) << env.error().line();
    EXPECT_EQ(env_value(*env, "MODE"), "from-set");
}

TEST_F(EnvLayers, ProfileEnvSetOverridesProfilePass) {
    const Origin profile = Origin::profile("/p.toml", 1);
    Settings settings;
    settings.env_set.push_back({"TZ", "UTC", profile});
    settings.env_pass.push_back({"TZ", profile});
    HostContext host;
    host.environment["TZ"] = "Europe/Paris";
    auto env = build_environment(settings, host);
    ASSERT_TRUE(env) << env.error().line();
    EXPECT_EQ(env_value(*env, "TZ"), "UTC");
}

TEST_F(EnvLayers, CliSetenvOverridesEverything) {
    const Origin profile = Origin::profile("/p.toml", 1);
    Settings settings;
    settings.env_set.push_back({"PATH", "/opt/bin", Origin::cli()});
    settings.env_set.push_back({"HOME", "/profile-home", profile});
    settings.env_files.push_back({env_file("cli.env", "X=file\n"), Origin::cli()});
    settings.env_set.push_back({"X", "set", Origin::cli()});
    auto env = build_environment(settings, HostContext{});
    ASSERT_TRUE(env) << env.error().line();
    EXPECT_EQ(env_value(*env, "PATH"), "/opt/bin");
    EXPECT_EQ(env_value(*env, "HOME"), "/profile-home");
    EXPECT_EQ(env_value(*env, "X"), "set");
    // One entry per name: a replaced builtin is not duplicated.
    EXPECT_EQ(std::count_if(env->begin(), env->end(),
                            [](const EnvVar& var) { return var.name == "PATH"; }),
              1);
}

TEST_F(EnvLayers, EnvFileValuesRememberTheirFileAndLine) {
    Settings settings;
    const std::string file = env_file("app.env", "# comment\nA=1\n");
    settings.env_files.push_back({file, Origin::cli()});
    auto env = build_environment(settings, HostContext{});
    ASSERT_TRUE(env) << env.error().line();
    const EnvVar* a = find_env(*env, "A");
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->origin.describe(), file + ":2");
}

TEST_F(EnvLayers, MissingEnvFileIsAnError) {
    Settings settings;
    settings.env_files.push_back({(dir_ / "missing.env").string(), Origin::cli()});
    auto env = build_environment(settings, HostContext{});
    ASSERT_FALSE(env);
    EXPECT_NE(env.error().line().find("missing.env"), std::string::npos) << env.error().line();
}

TEST(BuildEnvironment, InvalidNamesAreRejected) {
    struct Case {
        Settings settings;
        std::string line;
    };
    std::vector<Case> cases;
    for (const char* name : {"1ABC", "A-B", "A=B", "", "A B"}) {
        Settings setenv;
        setenv.env_set.push_back({name, "v", Origin::cli()});
        cases.push_back(
            {setenv, std::string("nsbox: --setenv ") + name + ": invalid variable name"});
        Settings pass;
        pass.env_pass.push_back({name, Origin::cli()});
        cases.push_back(
            {pass, std::string("nsbox: --pass-env ") + name + ": invalid variable name"});
    }
    Settings from_profile;
    from_profile.env_set.push_back({"9LIVES", "v", Origin::profile("/p.toml", 12)});
    cases.push_back({from_profile, "nsbox: /p.toml:12: 9LIVES: invalid variable name"});

    for (const Case& c : cases) {
        auto env = build_environment(c.settings, busy_host());
        ASSERT_FALSE(env) << c.line;
        EXPECT_EQ(env.error().line(), c.line);
    }
}

TEST(BuildEnvironment, ValueWithANulByteIsRejected) {
    Settings settings;
    settings.env_set.push_back({"A", std::string("x\0y", 3), Origin::cli()});
    auto env = build_environment(settings, HostContext{});
    ASSERT_FALSE(env);
    EXPECT_EQ(env.error().line(), "nsbox: --setenv A: value contains a NUL byte");
}

TEST(BuildSpec, EnvironmentDoesNotLeakHostVariables) {
    TempDir tmp;
    HostContext host = busy_host();
    host.cwd = tmp.str();
    auto spec = build_spec(profile_with(), command_request({"env"}, tmp.str()), host);
    ASSERT_TRUE(spec) << spec.error().line();
    for (const EnvVar& var : spec->env) {
        EXPECT_NE(var.name, "AWS_SECRET");
        EXPECT_NE(var.name, "SSH_AUTH_SOCK");
        EXPECT_NE(var.name, "LD_PRELOAD");
        EXPECT_NE(var.value, "/host/bin") << var.name;
    }
}

// ---- render_spec ----

// The line of `rendered` for `key`, or "" (keys are padded to a column, then " = ").
std::string spec_line(const std::string& rendered, const std::string& key) {
    std::istringstream in(rendered);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(key + " ", 0) == 0) return line;
    }
    return {};
}

bool ends_with(const std::string& text, const std::string& suffix) {
    return text.size() >= suffix.size() &&
           text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

TEST(RenderSpec, EachKeyShowsItsValueAndOrigin) {
    TempDir tmp;
    const std::string script = tmp.file("proj/main.py");
    Settings profile;
    profile.network = Sourced<NetMode>{NetMode::kHost, Origin::profile("/p/x.toml", 5)};
    profile.timeout = Sourced<std::chrono::milliseconds>{std::chrono::milliseconds(90'000),
                                                         Origin::profile("/p/x.toml", 6)};
    RunRequest request = script_request({script, "arg"});
    request.cli.hostname = Sourced<std::string>{"cli-host", Origin::cli()};
    request.cli.tmpfs.push_back({"/scratch", 8 * kMiB, Origin::cli()});
    auto spec = build_spec(profile_with(profile), request, host_at(tmp.str()));
    ASSERT_TRUE(spec) << spec.error().line();
    const std::string out = render_spec(*spec);

    EXPECT_EQ(out.rfind("# profile test (/profiles/test.toml)\n", 0), 0U) << out;
    const std::vector<std::pair<std::string, std::string>> expected = {
        {"sandbox.rootfs", "\"host\""},
        {"sandbox.hostname", "\"cli-host\""},
        {"sandbox.network", "\"host\""},
        {"sandbox.timeout", "\"90s\""},
        {"workspace.path", "\"" + tmp.str("proj") + "\""},
        {"workspace.mode", "\"overlay\""},
        {"workspace.size", "\"1G\""},
        {"tmpfs.tmp", "\"512M\""},
        {"tmpfs.shm", "\"256M\""},
        {"tmpfs.home", "\"512M\""},
        {"mounts.tmpfs", "\"/scratch:8M\""},
        {"env.PATH", "\"/usr/local/bin:/usr/bin:/bin\""},
        {"command", "[\"python3\", \"/workspace/main.py\", \"arg\"]"},
    };
    for (const auto& [key, value] : expected) {
        const std::string line = spec_line(out, key);
        ASSERT_FALSE(line.empty()) << "no line for " << key << " in\n" << out;
        EXPECT_NE(line.find("= " + value), std::string::npos) << line;
    }
    EXPECT_TRUE(ends_with(spec_line(out, "sandbox.rootfs"), "# default")) << out;
    EXPECT_TRUE(ends_with(spec_line(out, "sandbox.hostname"), "# command line")) << out;
    EXPECT_TRUE(ends_with(spec_line(out, "sandbox.network"), "# /p/x.toml:5")) << out;
    EXPECT_TRUE(ends_with(spec_line(out, "sandbox.timeout"), "# /p/x.toml:6")) << out;
    EXPECT_TRUE(ends_with(spec_line(out, "workspace.path"), "# default (script directory)")) << out;
    EXPECT_TRUE(ends_with(spec_line(out, "mounts.tmpfs"), "# command line")) << out;
    EXPECT_TRUE(ends_with(spec_line(out, "env.PATH"), "# default")) << out;
}

TEST(RenderSpec, NoTimeoutIsShownAsNone) {
    TempDir tmp;
    auto spec = build_spec(profile_with(), command_request({"true"}, tmp.str()), host_at("/"));
    ASSERT_TRUE(spec) << spec.error().line();
    EXPECT_NE(spec_line(render_spec(*spec), "sandbox.timeout").find("\"none\""), std::string::npos);
}

TEST(RenderSpec, ValuesAreQuotedSoEveryEntryStaysOnOneLine) {
    TempDir tmp;
    RunRequest request = command_request({"sh", "-c", "echo \"a\"\nexit 0"}, tmp.str());
    request.cli.env_set.push_back({"MSG", "two\nlines", Origin::cli()});
    auto spec = build_spec(profile_with(), request, host_at("/"));
    ASSERT_TRUE(spec) << spec.error().line();
    const std::string out = render_spec(*spec);
    EXPECT_NE(spec_line(out, "env.MSG").find("\"two\\nlines\""), std::string::npos) << out;
    EXPECT_NE(spec_line(out, "command").find("\"echo \\\"a\\\"\\nexit 0\""), std::string::npos)
        << out;
}

TEST(OriginDescribe, NamesEachKindOfSource) {
    EXPECT_EQ(Origin::builtin().describe(), "default");
    EXPECT_EQ(Origin::builtin("script directory").describe(), "default (script directory)");
    EXPECT_EQ(Origin::profile("profiles/default.toml", 12).describe(), "profiles/default.toml:12");
    EXPECT_EQ(Origin::profile("x.env", 0).describe(), "x.env");
    EXPECT_EQ(Origin::cli().describe(), "command line");
}

}  // namespace
}  // namespace nsbox
