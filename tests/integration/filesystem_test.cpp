// The sandbox's file system: what of the host is visible, what is writable, and where writes go
// (the workspace overlay, --output, --workspace-mode, --bind, --ro-bind, --tmpfs, /proc masks).
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "harness.hpp"

namespace nsbox::test {
namespace {

namespace fs = std::filesystem;

// As root the payload is host uid 65534, so host files it must change are made writable by
// everyone; rootless, the caller's own files are already writable. Tests about where writes
// go use this so they do not depend on how nsbox maps ownership (tested on its own below).
constexpr unsigned kWorldWritable = 0666;

void make_world_writable_dir(const fs::path& dir) { fs::permissions(dir, fs::perms::all); }

bool read_only_error(const nlohmann::json& result) {
    return result.value("ok", true) == false &&
           (result["errno"] == "EROFS" || result["errno"] == "EACCES");
}

std::string host_file(const fs::path& file) {
    std::ifstream in(file);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Regular files under `dir`, relative to it.
std::set<std::string> files_under(const fs::path& dir) {
    std::set<std::string> files;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
        if (entry.is_regular_file()) files.insert(fs::relative(entry.path(), dir).string());
    }
    return files;
}

RunOutput probe_in(const TempDir& workspace, const std::vector<std::string>& actions,
                   std::vector<std::string> flags = {}) {
    flags.insert(flags.begin(), {"--workspace", workspace.path().string()});
    return run_nsbox(probe_command(actions, flags));
}

// ---- what of the host is visible ---------------------------------------------------------

TEST(Filesystem, HostFileOutsideWorkspaceIsInvisible) {
    const TempDir elsewhere;
    elsewhere.write("canary.txt", "host secret\n");
    const std::string path = (elsewhere.path() / "canary.txt").string();
    RunOutput out = run_probe({"read:" + path});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["read:" + path]["ok"], false) << out.stdout_text;
}

TEST(Filesystem, CallerHomeIsAbsent) {
    const passwd* entry = ::getpwuid(::geteuid());
    ASSERT_NE(entry, nullptr);
    const std::string home = entry->pw_dir;
    ASSERT_NE(home, "/home/sandbox");
    RunOutput out = run_probe({"stat:" + home});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["stat:" + home]["errno"], "ENOENT") << out.stdout_text;
}

TEST(Filesystem, HomeHoldsOnlyTheSandboxUser) {
    RunOutput out = run_probe({"ls:/home"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["ls:/home"]["entries"], nlohmann::json::array({"sandbox"}));
}

// The sandbox may create its own directory at `dir`, but none of the host's entries there may
// show through.
void expect_no_host_entries(const std::string& dir) {
    RunOutput out = run_probe({"ls:" + dir});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    const auto& listing = out.probe["ls:" + dir];
    if (listing["ok"] == false) return;  // absent altogether
    std::set<std::string> host;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) host.insert(entry.path().filename());
    for (const std::string name : listing["entries"]) {
        EXPECT_EQ(host.count(name), 0U) << dir << "/" << name << " of the host is visible";
    }
}

TEST(Filesystem, HostRootHomeIsInvisible) { expect_no_host_entries("/root"); }

TEST(Filesystem, HostVarIsInvisible) { expect_no_host_entries("/var"); }

TEST(Filesystem, HostRunIsInvisible) { expect_no_host_entries("/run"); }

TEST(Filesystem, ShadowIsNotReadable) {
    RunOutput out = run_probe({"read:/etc/shadow"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["read:/etc/shadow"]["ok"], false) << out.stdout_text;
}

TEST(Filesystem, PasswdHasTheSandboxUser) {
    RunOutput out = run_probe({"read:/etc/passwd"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    const std::string content = out.probe["read:/etc/passwd"].value("content", "");
    EXPECT_NE(content.find("sandbox:x:1000:1000:"), std::string::npos) << content;
}

TEST(Filesystem, PasswdIsNotTheHostOne) {
    RunOutput out = run_probe({"read:/etc/passwd"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_NE(out.probe["read:/etc/passwd"].value("content", ""), host_file("/etc/passwd"));
}

// The sandbox's mounts live in its own mount namespace: the host's table is untouched.
TEST(Filesystem, RunLeavesHostMountsUnchanged) {
    const auto before = host_mount_points();
    RunOutput out = run_probe({"ping"}, {"--tmpfs", "/scratch", "--ro-bind", "/usr:/also-usr"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(host_mount_points(), before);
}

// ---- the workspace -----------------------------------------------------------------------

TEST(Filesystem, WorkspaceIsTheWorkingDirectory) {
    const TempDir ws;
    RunOutput out = probe_in(ws, {"cwd"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["cwd"], "/workspace");
}

TEST(Filesystem, WorkspaceShowsHostFiles) {
    const TempDir ws;
    ws.write("input.txt", "from the host\n");
    RunOutput out = probe_in(ws, {"read:/workspace/input.txt"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["read:/workspace/input.txt"]["content"], "from the host\n");
}

TEST(Filesystem, OverlayNewFileIsWritableInside) {
    const TempDir ws;
    RunOutput out = probe_in(ws, {"write:/workspace/new.txt"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["write:/workspace/new.txt"]["ok"], true) << out.stdout_text;
}

TEST(Filesystem, OverlayNewFileDoesNotReachHost) {
    const TempDir ws;
    RunOutput out = probe_in(ws, {"write:/workspace/new.txt"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_FALSE(fs::exists(ws.path() / "new.txt"));
}

// The caller's own files, with their ordinary modes: "code can write freely" in the overlay,
// whether nsbox runs rootless or as root (where the payload is never host root).
TEST(Filesystem, OverlayExistingFileIsWritableInside) {
    const TempDir ws;
    ws.write("data.txt", "original\n", 0644);
    RunOutput out = probe_in(ws, {"write:/workspace/data.txt"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["write:/workspace/data.txt"]["ok"], true) << out.stdout_text;
}

TEST(Filesystem, OverlayExistingSubdirectoryIsWritableInside) {
    const TempDir ws;
    fs::create_directory(ws.path() / "results");  // 0755, owned by the caller
    RunOutput out = probe_in(ws, {"write:/workspace/results/out.csv"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["write:/workspace/results/out.csv"]["ok"], true) << out.stdout_text;
}

TEST(Filesystem, OverlayChangeDoesNotReachHost) {
    const TempDir ws;
    ws.write("data.txt", "original\n", kWorldWritable);
    RunOutput out = probe_in(ws, {"write:/workspace/data.txt"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    ASSERT_EQ(out.probe["write:/workspace/data.txt"]["ok"], true) << out.stdout_text;
    EXPECT_EQ(ws.read("data.txt"), "original\n");
}

TEST(Filesystem, OverlayDeletionDoesNotReachHost) {
    const TempDir ws;
    ws.write("data.txt", "original\n");
    RunOutput out = probe_in(ws, {"unlink:/workspace/data.txt"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    ASSERT_EQ(out.probe["unlink:/workspace/data.txt"]["ok"], true) << out.stdout_text;
    EXPECT_TRUE(fs::exists(ws.path() / "data.txt"));
}

// A workspace with one file to keep, one to change, one to delete and room for new files.
struct OutputRun {
    TempDir ws;
    TempDir parent;
    fs::path output = parent.path() / "out";
    fs::path report = parent.path() / "report.json";
    RunOutput out;

    OutputRun() {
        ws.write("keep.txt", "unchanged\n");
        ws.write("change.txt", "old\n", kWorldWritable);
        ws.write("gone.txt", "delete me\n");
        out = probe_in(ws,
                       {"write:/workspace/new.txt", "write:/workspace/change.txt",
                        "unlink:/workspace/gone.txt", "mkdir:/workspace/sub",
                        "write:/workspace/sub/nested.txt"},
                       {"--output", output.string(), "--report", report.string()});
    }
};

TEST(Filesystem, OutputExportsExactlyCreatedAndChangedFiles) {
    OutputRun run;
    ASSERT_EQ(run.out.exit_code, 0) << run.out.stderr_text;
    ASSERT_TRUE(fs::is_directory(run.output)) << run.out.stderr_text;
    EXPECT_EQ(files_under(run.output),
              (std::set<std::string>{"change.txt", "new.txt", "sub/nested.txt"}));
}

TEST(Filesystem, OutputHoldsTheNewContent) {
    OutputRun run;
    ASSERT_EQ(run.out.exit_code, 0) << run.out.stderr_text;
    EXPECT_EQ(host_file(run.output / "change.txt"), "probe\n");
    EXPECT_EQ(host_file(run.output / "sub/nested.txt"), "probe\n");
}

TEST(Filesystem, OutputReportListsDeletions) {
    OutputRun run;
    ASSERT_EQ(run.out.exit_code, 0) << run.out.stderr_text;
    nlohmann::json report = read_json_file(run.report);
    ASSERT_TRUE(report.is_object()) << run.report;
    EXPECT_EQ(report["output"]["deleted"], nlohmann::json::array({"gone.txt"})) << report;
}

TEST(Filesystem, OutputReportListsWrittenFiles) {
    OutputRun run;
    ASSERT_EQ(run.out.exit_code, 0) << run.out.stderr_text;
    nlohmann::json report = read_json_file(run.report);
    ASSERT_TRUE(report.is_object()) << run.report;
    const auto& written = report["output"]["written"];
    ASSERT_TRUE(written.is_array()) << report;
    EXPECT_EQ(std::set<std::string>(written.begin(), written.end()),
              (std::set<std::string>{"change.txt", "new.txt", "sub/nested.txt"}));
}

TEST(Filesystem, OutputLeavesWorkspaceUnchanged) {
    OutputRun run;
    ASSERT_EQ(run.out.exit_code, 0) << run.out.stderr_text;
    EXPECT_EQ(files_under(run.ws.path()),
              (std::set<std::string>{"change.txt", "gone.txt", "keep.txt"}));
    EXPECT_EQ(run.ws.read("change.txt"), "old\n");
}

// A symlink the code creates must be exported as a symlink: following it would copy host
// files the code could not read itself (nsbox reads with the caller's rights) into DIR.
TEST(Filesystem, OutputExportsSymlinksWithoutFollowingThem) {
    const TempDir ws;
    const TempDir parent;
    const TempDir secret;
    secret.write("secret.txt", "host secret\n", 0600);
    const fs::path target = secret.path() / "secret.txt";
    const fs::path output = parent.path() / "out";
    RunOutput out =
        run_nsbox({"run", "--workspace", ws.path().string(), "--output", output.string(), "--",
                   "/bin/ln", "-s", target.string(), "/workspace/link"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    ASSERT_TRUE(fs::is_symlink(output / "link")) << out.stderr_text;
    EXPECT_EQ(fs::read_symlink(output / "link"), target);
}

// Only regular files, directories and symlinks are exported; the report names what was not.
TEST(Filesystem, OutputSkipsSpecialFilesAndReportsThem) {
    const TempDir ws;
    const TempDir parent;
    const fs::path output = parent.path() / "out";
    const fs::path report_file = parent.path() / "report.json";
    RunOutput out =
        run_nsbox({"run", "--workspace", ws.path().string(), "--output", output.string(),
                   "--report", report_file.string(), "--", "/usr/bin/mkfifo", "/workspace/pipe"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_FALSE(fs::exists(fs::symlink_status(output / "pipe")));
    nlohmann::json report = read_json_file(report_file);
    ASSERT_TRUE(report.is_object()) << out.stderr_text;
    EXPECT_EQ(report["output"]["skipped"].size(), 1U) << report["output"];
    EXPECT_EQ(report["output"]["skipped"][0]["path"], "pipe") << report["output"];
}

TEST(Filesystem, RwWorkspaceWritesReachHost) {
    const TempDir ws;
    make_world_writable_dir(ws.path());
    RunOutput out = probe_in(ws, {"write:/workspace/new.txt"}, {"--workspace-mode", "rw"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    ASSERT_EQ(out.probe["write:/workspace/new.txt"]["ok"], true) << out.stdout_text;
    EXPECT_EQ(ws.read("new.txt"), "probe\n");
}

// The caller's own directory with its ordinary mode, as `nsbox run --workspace-mode rw` gets
// it from a user. Root's sandbox gets the same for a directory a user owns (the owner is mapped
// to the sandbox user), but never writes through into a root-owned tree: the payload could
// plant root-owned setuid files on the host.
TEST(Filesystem, RwWorkspaceIsWritableWithItsOrdinaryMode) {
    const TempDir ws;  // 0755, owned by the caller
    if (::geteuid() == 0) {
        ASSERT_EQ(::chown(ws.path().c_str(), 1000, 1000), 0);
    }
    RunOutput out = probe_in(ws, {"write:/workspace/new.txt"}, {"--workspace-mode", "rw"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["write:/workspace/new.txt"]["ok"], true) << out.stdout_text;
    if (::geteuid() == 0) {
        struct stat st {};
        ASSERT_EQ(::stat((ws.path() / "new.txt").c_str(), &st), 0);
        EXPECT_EQ(st.st_uid, 1000U) << "the file belongs to the workspace owner on the host";
    }
}

TEST(Filesystem, RootRwWorkspaceOwnedByRootIsNotWritable) {
    if (::geteuid() != 0) GTEST_SKIP() << "concerns root's sandbox only";
    const TempDir ws;  // 0755, owned by root
    RunOutput out = probe_in(ws, {"write:/workspace/new.txt"}, {"--workspace-mode", "rw"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["write:/workspace/new.txt"]["errno"], "EACCES") << out.stdout_text;
}

TEST(Filesystem, RoWorkspaceRefusesWritesWithErofs) {
    const TempDir ws;
    make_world_writable_dir(ws.path());
    RunOutput out = probe_in(ws, {"write:/workspace/new.txt"}, {"--workspace-mode", "ro"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["write:/workspace/new.txt"]["errno"], "EROFS") << out.stdout_text;
    EXPECT_FALSE(fs::exists(ws.path() / "new.txt"));
}

// ---- read-only and writable places -------------------------------------------------------

TEST(Filesystem, UsrIsReadOnly) {
    RunOutput out = run_probe({"write:/usr/nsbox-test"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_TRUE(read_only_error(out.probe["write:/usr/nsbox-test"])) << out.stdout_text;
}

TEST(Filesystem, RootIsReadOnly) {
    RunOutput out = run_probe({"write:/nsbox-test"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_TRUE(read_only_error(out.probe["write:/nsbox-test"])) << out.stdout_text;
}

TEST(Filesystem, EtcIsReadOnly) {
    RunOutput out = run_probe({"write:/etc/passwd"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_TRUE(read_only_error(out.probe["write:/etc/passwd"])) << out.stdout_text;
}

TEST(Filesystem, TmpIsWritable) {
    RunOutput out = run_probe({"write:/tmp/nsbox-test"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["write:/tmp/nsbox-test"]["ok"], true) << out.stdout_text;
}

TEST(Filesystem, DevShmIsWritable) {
    RunOutput out = run_probe({"write:/dev/shm/nsbox-test"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["write:/dev/shm/nsbox-test"]["ok"], true) << out.stdout_text;
}

TEST(Filesystem, HomeIsWritable) {
    RunOutput out = run_probe({"write:/home/sandbox/nsbox-test"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["write:/home/sandbox/nsbox-test"]["ok"], true) << out.stdout_text;
}

TEST(Filesystem, HomeBelongsToTheSandboxUser) {
    RunOutput out = run_probe({"stat:/home/sandbox"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["stat:/home/sandbox"]["uid"], 1000) << out.stdout_text;
}

TEST(Filesystem, TmpIsATmpfs) {
    RunOutput out = run_probe({"mounts"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    bool found = false;
    for (const auto& mount : out.probe["mounts"]) {
        if (mount.value("target", "") == "/tmp") found = mount.value("fstype", "") == "tmpfs";
    }
    EXPECT_TRUE(found) << out.probe["mounts"];
}

// ---- --bind, --ro-bind, --tmpfs ----------------------------------------------------------

TEST(Filesystem, BindIsWritableAndReachesHost) {
    const TempDir shared;
    make_world_writable_dir(shared.path());
    RunOutput out =
        run_probe({"write:/data/from-sandbox.txt"}, {"--bind", shared.path().string() + ":/data"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    ASSERT_EQ(out.probe["write:/data/from-sandbox.txt"]["ok"], true) << out.stdout_text;
    EXPECT_EQ(shared.read("from-sandbox.txt"), "probe\n");
}

TEST(Filesystem, BindWithoutDestinationUsesTheSourcePath) {
    const TempDir shared;
    shared.write("file.txt", "shared\n");
    const std::string path = (shared.path() / "file.txt").string();
    RunOutput out = run_probe({"read:" + path}, {"--bind", shared.path().string()});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["read:" + path]["content"], "shared\n") << out.stdout_text;
}

TEST(Filesystem, RoBindIsReadable) {
    const TempDir shared;
    shared.write("file.txt", "shared\n");
    RunOutput out =
        run_probe({"read:/data/file.txt"}, {"--ro-bind", shared.path().string() + ":/data"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["read:/data/file.txt"]["content"], "shared\n") << out.stdout_text;
}

TEST(Filesystem, RoBindRefusesWritesWithErofs) {
    const TempDir shared;
    make_world_writable_dir(shared.path());
    RunOutput out =
        run_probe({"write:/data/x.txt"}, {"--ro-bind", shared.path().string() + ":/data"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["write:/data/x.txt"]["errno"], "EROFS") << out.stdout_text;
    EXPECT_FALSE(fs::exists(shared.path() / "x.txt"));
}

TEST(Filesystem, TmpfsFlagMountsATmpfs) {
    RunOutput out = run_probe({"mounts"}, {"--tmpfs", "/scratch:1M"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    bool found = false;
    for (const auto& mount : out.probe["mounts"]) {
        if (mount.value("target", "") == "/scratch") found = mount.value("fstype", "") == "tmpfs";
    }
    EXPECT_TRUE(found) << out.probe["mounts"];
}

TEST(Filesystem, TmpfsFlagMountIsWritable) {
    RunOutput out = run_probe({"write:/scratch/x.txt"}, {"--tmpfs", "/scratch:1M"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["write:/scratch/x.txt"]["ok"], true) << out.stdout_text;
}

// ---- mount flags -------------------------------------------------------------------------

std::vector<std::string> options_of(const nlohmann::json& mount) {
    std::vector<std::string> options;
    std::istringstream in(mount.value("options", ""));
    for (std::string option; std::getline(in, option, ',');) options.push_back(option);
    return options;
}

bool has_option(const nlohmann::json& mount, const std::string& option) {
    const auto options = options_of(mount);
    return std::find(options.begin(), options.end(), option) != options.end();
}

// nosuid matters wherever an executable could be found; a bind of one device node (/dev/null
// at /dev/null or over a masked /proc file) holds none, so those are exempt.
TEST(Filesystem, EveryMountExceptDeviceNodesIsNosuid) {
    RunOutput listing = run_probe({"mounts"});
    ASSERT_EQ(listing.exit_code, 0) << listing.stderr_text;
    ASSERT_TRUE(listing.probe["mounts"].is_array()) << listing.stdout_text;
    std::vector<std::string> stats;
    for (const auto& mount : listing.probe["mounts"])
        stats.push_back("stat:" + mount.value("target", ""));
    // Same flags, same mount table: the sandbox is built the same way on every run.
    RunOutput types = run_probe(stats);
    ASSERT_EQ(types.exit_code, 0) << types.stderr_text;
    for (const auto& mount : listing.probe["mounts"]) {
        const std::string target = mount.value("target", "");
        if (types.probe["stat:" + target].value("type", "") == "char") continue;
        EXPECT_TRUE(has_option(mount, "nosuid")) << mount;
    }
}

// Places the code can write to must not be able to hold device nodes.
TEST(Filesystem, WritableMountsAreNodev) {
    RunOutput out = run_probe({"mounts"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    const std::set<std::string> writable = {"/tmp", "/dev/shm", "/home/sandbox", "/workspace"};
    std::set<std::string> seen;
    for (const auto& mount : out.probe["mounts"]) {
        const std::string target = mount.value("target", "");
        if (writable.count(target) == 0) continue;
        seen.insert(target);
        EXPECT_TRUE(has_option(mount, "nodev")) << mount;
    }
    EXPECT_EQ(seen, writable);
}

// ---- /proc and /dev ----------------------------------------------------------------------

TEST(Filesystem, ProcIsAProcMount) {
    RunOutput out = run_probe({"mounts"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    bool found = false;
    for (const auto& mount : out.probe["mounts"]) {
        if (mount.value("target", "") == "/proc") found = mount.value("fstype", "") == "proc";
    }
    EXPECT_TRUE(found) << out.probe["mounts"];
}

// A masked kernel file either reads as empty (bound over by an empty file) or cannot be opened.
void expect_masked(const std::string& path) {
    if (!fs::exists(path)) GTEST_SKIP() << "this kernel has no " << path;
    RunOutput out = run_probe({"read:" + path});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    const auto& result = out.probe["read:" + path];
    EXPECT_TRUE(result["ok"] == false || result["size"] == 0) << path << ": " << result;
}

TEST(Filesystem, ProcKcoreIsMasked) { expect_masked("/proc/kcore"); }

TEST(Filesystem, ProcKallsymsIsMasked) { expect_masked("/proc/kallsyms"); }

TEST(Filesystem, ProcKeysIsMasked) { expect_masked("/proc/keys"); }

TEST(Filesystem, ProcTimerListIsMasked) { expect_masked("/proc/timer_list"); }

TEST(Filesystem, ProcAcpiIsEmpty) {
    if (!fs::exists("/proc/acpi")) GTEST_SKIP() << "this kernel has no /proc/acpi";
    RunOutput out = run_probe({"ls:/proc/acpi"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    const auto& listing = out.probe["ls:/proc/acpi"];
    EXPECT_TRUE(listing["ok"] == false || listing["entries"].empty()) << listing;
}

TEST(Filesystem, ProcSysrqTriggerIsNotWritable) {
    if (!fs::exists("/proc/sysrq-trigger")) GTEST_SKIP() << "this kernel has no sysrq-trigger";
    RunOutput out = run_probe({"append:/proc/sysrq-trigger"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["append:/proc/sysrq-trigger"]["ok"], false) << out.stdout_text;
}

TEST(Filesystem, ProcSysIsReadOnly) {
    RunOutput out = run_probe({"write:/proc/sys/kernel/hostname"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_TRUE(read_only_error(out.probe["write:/proc/sys/kernel/hostname"])) << out.stdout_text;
}

TEST(Filesystem, DevHoldsOnlyTheMinimalNodes) {
    RunOutput out = run_probe({"ls:/dev"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    const std::set<std::string> allowed = {"console", "fd",     "full",    "null",   "ptmx",
                                           "pts",     "random", "shm",     "stderr", "stdin",
                                           "stdout",  "tty",    "urandom", "zero"};
    const auto& entries = out.probe["ls:/dev"]["entries"];
    ASSERT_TRUE(entries.is_array()) << out.stdout_text;
    for (const std::string name : entries) EXPECT_EQ(allowed.count(name), 1U) << "/dev/" << name;
}

}  // namespace
}  // namespace nsbox::test
