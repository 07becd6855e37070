// Launch failures: each gives its documented exit status and ONE line on stderr naming what
// failed, and leaves nothing behind (mounts, temp entries, processes), checked after every test.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "harness.hpp"

namespace nsbox::test {
namespace {

namespace fs = std::filesystem;

constexpr int kLauncherError = 125;
constexpr int kCannotExecute = 126;
constexpr int kNotFound = 127;

class Errors : public ::testing::Test {
 protected:
    void SetUp() override {
        mounts_before_ = host_mount_points();
        temp_before_ = nsbox_temp_entries();
    }

    // The "nothing left behind" half of every failure test.
    void TearDown() override {
        EXPECT_EQ(host_mount_points(), mounts_before_) << "mounts changed on the host";
        EXPECT_EQ(nsbox_temp_entries(), temp_before_) << "temp entries left behind";
        EXPECT_TRUE(fs::is_empty(tmpdir_.path())) << "entries left in nsbox's TMPDIR";
        EXPECT_TRUE(processes_with(marker_).empty()) << "processes left behind";
    }

    // `nsbox run <args>` with the test's marker in nsbox's command line, so any process it
    // leaves (nsbox, its init or the payload) can be found afterwards, and a private TMPDIR
    // that no concurrent test touches, so anything found there afterwards is nsbox's.
    RunOutput run(const std::vector<std::string>& args) {
        std::vector<std::string> full = {"run", "--setenv", "NSBOX_TEST_MARK=" + marker_,
                                         "--workspace", ws_.path().string()};
        full.insert(full.end(), args.begin(), args.end());
        RunSettings settings;
        settings.extra_env = {{"TMPDIR", tmpdir_.path().string()}};
        return run_nsbox(full, settings);
    }

    const TempDir& ws() const { return ws_; }

 private:
    std::string marker_ = unique_marker("nsbox-err");
    TempDir ws_;
    TempDir tmpdir_;
    std::vector<std::string> mounts_before_;
    std::vector<std::string> temp_before_;
};

// Exactly one newline-terminated line, in nsbox's voice.
::testing::AssertionResult one_nsbox_line(const std::string& text) {
    const auto lines = lines_of(text);
    if (lines.size() != 1 || text.back() != '\n')
        return ::testing::AssertionFailure() << "expected one line, got:\n" << text;
    if (lines[0].rfind("nsbox: ", 0) != 0)
        return ::testing::AssertionFailure() << "does not start with \"nsbox: \": " << text;
    return ::testing::AssertionSuccess();
}

bool mentions(const std::string& text, const std::string& what) {
    return text.find(what) != std::string::npos;
}

// ---- not found and cannot execute --------------------------------------------------------

TEST_F(Errors, MissingScriptExits127) {
    EXPECT_EQ(run({(ws().path() / "missing.py").string()}).exit_code, kNotFound);
}

TEST_F(Errors, MissingScriptGivesOneLineNamingIt) {
    RunOutput out = run({(ws().path() / "missing.py").string()});
    EXPECT_TRUE(one_nsbox_line(out.stderr_text));
    EXPECT_TRUE(mentions(out.stderr_text, "missing.py")) << out.stderr_text;
}

TEST_F(Errors, MissingScriptPrintsNothingOnStdout) {
    EXPECT_EQ(run({(ws().path() / "missing.py").string()}).stdout_text, "");
}

TEST_F(Errors, DirectoryAsScriptExits126) {
    EXPECT_EQ(run({ws().path().string()}).exit_code, kCannotExecute);
}

TEST_F(Errors, DirectoryAsScriptGivesOneLine) {
    EXPECT_TRUE(one_nsbox_line(run({ws().path().string()}).stderr_text));
}

// Unreadable to the payload in both modes: rootless the mode bits apply to the caller's own
// uid; run as root the payload is host uid 65534. nsbox must say so itself (126, one line)
// rather than let python3 fail inside with its own message and status.
TEST_F(Errors, UnreadableScriptExits126) {
    ws().write("secret.py", "print('read')\n", 0);
    RunOutput out = run({(ws().path() / "secret.py").string()});
    EXPECT_EQ(out.exit_code, kCannotExecute) << out.stderr_text;
    EXPECT_TRUE(one_nsbox_line(out.stderr_text));
}

TEST_F(Errors, MissingCommandExits127) {
    EXPECT_EQ(run({"--", "/nonexistent"}).exit_code, kNotFound);
}

TEST_F(Errors, MissingCommandGivesOneLineNamingIt) {
    RunOutput out = run({"--", "/nonexistent"});
    EXPECT_TRUE(one_nsbox_line(out.stderr_text));
    EXPECT_TRUE(mentions(out.stderr_text, "/nonexistent")) << out.stderr_text;
}

TEST_F(Errors, CommandNotOnPathExits127) {
    EXPECT_EQ(run({"--", "nsbox-test-no-such-command"}).exit_code, kNotFound);
}

TEST_F(Errors, NonExecutableCommandExits126) {
    ws().write("plain.txt", "not a program\n", 0644);
    EXPECT_EQ(run({"--", "/workspace/plain.txt"}).exit_code, kCannotExecute);
}

TEST_F(Errors, NonExecutableCommandGivesOneLineNamingIt) {
    ws().write("plain.txt", "not a program\n", 0644);
    RunOutput out = run({"--", "/workspace/plain.txt"});
    EXPECT_TRUE(one_nsbox_line(out.stderr_text));
    EXPECT_TRUE(mentions(out.stderr_text, "/workspace/plain.txt")) << out.stderr_text;
}

// ---- launcher errors (125) ---------------------------------------------------------------

// A profile whose third line holds a key nsbox does not know: a typo must never be ignored.
std::string broken_profile(const TempDir& dir) {
    dir.write("broken.toml",
              "[sandbox]\n"
              "hostname = \"fine\"\n"
              "hostnmae = \"typo\"\n");
    return (dir.path() / "broken.toml").string();
}

TEST_F(Errors, BrokenProfileExits125) {
    const TempDir dir;
    EXPECT_EQ(run({"--profile", broken_profile(dir), "--", "/bin/true"}).exit_code, kLauncherError);
}

TEST_F(Errors, BrokenProfileGivesOneLineWithFileAndLine) {
    const TempDir dir;
    const std::string profile = broken_profile(dir);
    RunOutput out = run({"--profile", profile, "--", "/bin/true"});
    EXPECT_TRUE(one_nsbox_line(out.stderr_text));
    EXPECT_TRUE(mentions(out.stderr_text, profile + ":3")) << out.stderr_text;
}

TEST_F(Errors, BrokenProfileNamesTheKey) {
    const TempDir dir;
    RunOutput out = run({"--profile", broken_profile(dir), "--", "/bin/true"});
    EXPECT_TRUE(mentions(out.stderr_text, "hostnmae")) << out.stderr_text;
}

TEST_F(Errors, MissingProfileExits125) {
    RunOutput out = run({"--profile", (ws().path() / "none.toml").string(), "--", "/bin/true"});
    EXPECT_EQ(out.exit_code, kLauncherError);
    EXPECT_TRUE(one_nsbox_line(out.stderr_text));
}

TEST_F(Errors, InvalidTimeoutExits125) {
    EXPECT_EQ(run({"--timeout", "soon", "--", "/bin/true"}).exit_code, kLauncherError);
}

TEST_F(Errors, InvalidTimeoutGivesOneLineNamingTheFlag) {
    RunOutput out = run({"--timeout", "soon", "--", "/bin/true"});
    EXPECT_TRUE(one_nsbox_line(out.stderr_text));
    EXPECT_TRUE(mentions(out.stderr_text, "--timeout")) << out.stderr_text;
}

TEST_F(Errors, MissingBindSourceExits125) {
    const std::string source = (ws().path() / "no-such-dir").string();
    EXPECT_EQ(run({"--bind", source + ":/data", "--", "/bin/true"}).exit_code, kLauncherError);
}

TEST_F(Errors, MissingBindSourceGivesOneLineNamingIt) {
    const std::string source = (ws().path() / "no-such-dir").string();
    RunOutput out = run({"--bind", source + ":/data", "--", "/bin/true"});
    EXPECT_TRUE(one_nsbox_line(out.stderr_text));
    EXPECT_TRUE(mentions(out.stderr_text, source)) << out.stderr_text;
}

TEST_F(Errors, MissingRoBindSourceExits125) {
    const std::string source = (ws().path() / "no-such-file").string();
    EXPECT_EQ(run({"--ro-bind", source, "--", "/bin/true"}).exit_code, kLauncherError);
}

TEST_F(Errors, UnknownOptionExits125) {
    RunOutput out = run({"--no-such-option", "--", "/bin/true"});
    EXPECT_EQ(out.exit_code, kLauncherError);
    EXPECT_TRUE(one_nsbox_line(out.stderr_text));
}

TEST_F(Errors, BrokenEnvFileGivesOneLineWithFileAndLine) {
    const TempDir dir;
    dir.write("app.env", "GOOD=1\nNOT AN ASSIGNMENT\n");
    const std::string file = (dir.path() / "app.env").string();
    RunOutput out = run({"--env-file", file, "--", "/bin/true"});
    EXPECT_EQ(out.exit_code, kLauncherError);
    EXPECT_TRUE(one_nsbox_line(out.stderr_text));
    EXPECT_TRUE(mentions(out.stderr_text, file + ":2")) << out.stderr_text;
}

// --output exports the overlay's upper layer; with the workspace bound writable there is none.
TEST_F(Errors, OutputWithRwWorkspaceExits125) {
    const TempDir out_parent;
    RunOutput out = run({"--workspace-mode", "rw", "--output", (out_parent.path() / "out").string(),
                         "--", "/bin/true"});
    EXPECT_EQ(out.exit_code, kLauncherError);
    EXPECT_TRUE(one_nsbox_line(out.stderr_text));
}

// Fails inside the sandbox, after the namespaces exist: the mount point cannot be created
// on the read-only /usr. The path through the child must clean up as well as the CLI's.
TEST_F(Errors, MountFailureInsideSandboxExits125) {
    ws().write("file.txt", "x\n");
    RunOutput out = run({"--ro-bind", (ws().path() / "file.txt").string() + ":/usr/nsbox-test-file",
                         "--", "/bin/true"});
    EXPECT_EQ(out.exit_code, kLauncherError);
    EXPECT_TRUE(one_nsbox_line(out.stderr_text));
}

}  // namespace
}  // namespace nsbox::test
