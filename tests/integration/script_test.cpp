// The script form, `nsbox run FILE.py [ARGS...]`: the sandbox's python3 runs the script from
// /workspace with its arguments untouched, even ones that look like nsbox options.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "harness.hpp"

namespace nsbox::test {
namespace {

// Reports what the script sees as one JSON line (parsed by the harness like probe output).
constexpr const char* kReporter =
    "import json, os, sys\n"
    "print(json.dumps({\n"
    "    'argv': sys.argv,\n"
    "    'cwd': os.getcwd(),\n"
    "    'python': os.path.basename(sys.executable),\n"
    "    'workspace': sorted(os.listdir('/workspace')),\n"
    "}))\n"
    "sys.exit(int(os.environ.get('SCRIPT_EXIT', '0')))\n";

RunOutput run_script(const std::vector<std::string>& args, const RunSettings& settings = {}) {
    std::vector<std::string> full = {"run"};
    full.insert(full.end(), args.begin(), args.end());
    return run_nsbox(full, settings);
}

TEST(Script, RunsWithPython3) {
    const TempDir ws;
    ws.write("report.py", kReporter);
    RunOutput out = run_script({(ws.path() / "report.py").string()});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe.value("python", "").rfind("python3", 0), 0U) << out.stdout_text;
}

TEST(Script, IsAtWorkspacePath) {
    const TempDir ws;
    ws.write("report.py", kReporter);
    RunOutput out = run_script({(ws.path() / "report.py").string()});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["argv"][0], "/workspace/report.py") << out.stdout_text;
}

TEST(Script, RunsInWorkspace) {
    const TempDir ws;
    ws.write("report.py", kReporter);
    RunOutput out = run_script({(ws.path() / "report.py").string()});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["cwd"], "/workspace") << out.stdout_text;
}

TEST(Script, DefaultWorkspaceIsTheScriptDirectory) {
    const TempDir ws;
    ws.write("report.py", kReporter);
    ws.write("sibling.txt", "x\n");
    RunOutput out = run_script({(ws.path() / "report.py").string()});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["workspace"], nlohmann::json::array({"report.py", "sibling.txt"}));
}

TEST(Script, ReceivesItsArguments) {
    const TempDir ws;
    ws.write("report.py", kReporter);
    RunOutput out = run_script({(ws.path() / "report.py").string(), "one", "two words"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["argv"],
              nlohmann::json::array({"/workspace/report.py", "one", "two words"}));
}

// Everything after the script belongs to it, including nsbox's own option names and "--".
TEST(Script, ReceivesOptionLikeArgumentsUntouched) {
    const TempDir ws;
    ws.write("report.py", kReporter);
    const std::vector<std::string> script_args = {"--timeout",     "1s", "-v",    "--setenv",
                                                  "SCRIPT_EXIT=9", "--", "--help"};
    std::vector<std::string> args = {(ws.path() / "report.py").string()};
    args.insert(args.end(), script_args.begin(), script_args.end());
    RunOutput out = run_script(args);
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    nlohmann::json expected = nlohmann::json::array({"/workspace/report.py"});
    for (const auto& a : script_args) expected.push_back(a);
    EXPECT_EQ(out.probe["argv"], expected);
}

TEST(Script, ExitCodePropagates) {
    const TempDir ws;
    ws.write("report.py", kReporter);
    RunOutput out = run_script({"--setenv", "SCRIPT_EXIT=5", (ws.path() / "report.py").string()});
    EXPECT_EQ(out.exit_code, 5) << out.stderr_text;
}

TEST(Script, RelativePathRunsFromCurrentDirectory) {
    const TempDir ws;
    ws.write("report.py", kReporter);
    RunSettings settings;
    settings.cwd = ws.path();
    RunOutput out = run_script({"report.py", "arg"}, settings);
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["argv"], nlohmann::json::array({"/workspace/report.py", "arg"}));
}

TEST(Script, NameWithSpaceRuns) {
    const TempDir ws;
    ws.write("my report.py", kReporter);
    RunOutput out = run_script({(ws.path() / "my report.py").string()});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["argv"][0], "/workspace/my report.py") << out.stdout_text;
}

TEST(Script, OutsideTheWorkspaceStillRuns) {
    const TempDir scripts;
    const TempDir ws;
    scripts.write("report.py", kReporter);
    ws.write("data.txt", "x\n");
    RunOutput out = run_script(
        {"--workspace", ws.path().string(), (scripts.path() / "report.py").string(), "arg"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["argv"][1], "arg") << out.stdout_text;
}

TEST(Script, OutsideTheWorkspaceKeepsWorkspaceAsCwd) {
    const TempDir scripts;
    const TempDir ws;
    scripts.write("report.py", kReporter);
    ws.write("data.txt", "x\n");
    RunOutput out =
        run_script({"--workspace", ws.path().string(), (scripts.path() / "report.py").string()});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["cwd"], "/workspace") << out.stdout_text;
    EXPECT_EQ(out.probe["workspace"], nlohmann::json::array({"data.txt"})) << out.stdout_text;
}

// Only the script itself is made visible, not its whole directory.
TEST(Script, OutsideTheWorkspaceDoesNotExposeItsDirectory) {
    const TempDir scripts;
    const TempDir ws;
    scripts.write("report.py",
                  "import os\n"
                  "print('{\"sibling\": %s}' % str(os.path.exists('" +
                      (scripts.path() / "secret.txt").string() + "')).lower())\n");
    scripts.write("secret.txt", "host secret\n");
    RunOutput out =
        run_script({"--workspace", ws.path().string(), (scripts.path() / "report.py").string()});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["sibling"], false) << out.stdout_text;
}

}  // namespace
}  // namespace nsbox::test
