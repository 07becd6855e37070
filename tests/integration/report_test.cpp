// The JSON report (--report FILE|-): what happened, why, when, and in which sandbox.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "harness.hpp"

namespace nsbox::test {
namespace {

struct ReportRun {
    TempDir dir;
    std::vector<std::string> args;
    RunOutput out;
    nlohmann::json report;

    // Runs the probe with `actions` and --report into a file, then reads the report.
    explicit ReportRun(const std::vector<std::string>& actions,
                       std::vector<std::string> flags = {}) {
        flags.insert(flags.begin(), {"--workspace", dir.path().string(), "--report",
                                     (dir.path() / "report.json").string()});
        args = probe_command(actions, flags);
        out = run_nsbox(args);
        report = read_json_file(dir.path() / "report.json");
    }
};

const std::regex kTimestamp(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2}))");

TEST(Report, FileHoldsOneJsonObject) {
    ReportRun run({"ping"});
    ASSERT_TRUE(run.report.is_object()) << run.out.stderr_text;
    EXPECT_EQ(run.out.exit_code, 0) << run.out.stderr_text;
}

TEST(Report, HasThePayloadExitCode) {
    ReportRun run({"exit:7"});
    ASSERT_TRUE(run.report.is_object()) << run.out.stderr_text;
    EXPECT_EQ(run.report["exit_code"], 7) << run.report;
}

TEST(Report, ReasonIsExitedForANormalExit) {
    ReportRun run({"exit:7"});
    ASSERT_TRUE(run.report.is_object()) << run.out.stderr_text;
    EXPECT_EQ(run.report["reason"], "exited") << run.report;
}

TEST(Report, HasWallTime) {
    ReportRun run({"ping"});
    ASSERT_TRUE(run.report.is_object()) << run.out.stderr_text;
    ASSERT_TRUE(run.report["wall_time_s"].is_number()) << run.report;
    EXPECT_GE(run.report["wall_time_s"].get<double>(), 0.0);
}

TEST(Report, StartedAtIsATimestamp) {
    ReportRun run({"ping"});
    ASSERT_TRUE(run.report.is_object()) << run.out.stderr_text;
    ASSERT_TRUE(run.report["started_at"].is_string()) << run.report;
    EXPECT_TRUE(std::regex_match(run.report["started_at"].get<std::string>(), kTimestamp))
        << run.report["started_at"];
}

TEST(Report, EndedAtIsNotBeforeStartedAt) {
    ReportRun run({"ping"});
    ASSERT_TRUE(run.report.is_object()) << run.out.stderr_text;
    ASSERT_TRUE(run.report["ended_at"].is_string()) << run.report;
    EXPECT_TRUE(std::regex_match(run.report["ended_at"].get<std::string>(), kTimestamp));
    // Same format and zone, so the text order is the time order.
    EXPECT_GE(run.report["ended_at"].get<std::string>(),
              run.report["started_at"].get<std::string>());
}

TEST(Report, HasTheFullArgv) {
    ReportRun run({"ping"});
    ASSERT_TRUE(run.report.is_object()) << run.out.stderr_text;
    std::vector<std::string> expected = {nsbox_bin()};
    expected.insert(expected.end(), run.args.begin(), run.args.end());
    EXPECT_EQ(run.report["argv"], expected);
}

TEST(Report, ListsTheSandboxNamespaces) {
    ReportRun run({"ping"});
    ASSERT_TRUE(run.report.is_object()) << run.out.stderr_text;
    const auto& namespaces = run.report["sandbox"]["namespaces"];
    ASSERT_TRUE(namespaces.is_array()) << run.report;
    const std::set<std::string> listed(namespaces.begin(), namespaces.end());
    EXPECT_EQ(listed,
              (std::set<std::string>{"user", "mount", "pid", "ipc", "uts", "net", "cgroup"}));
}

TEST(Report, HostNetworkHasNoNetNamespace) {
    ReportRun run({"ping"}, {"--net", "host"});
    ASSERT_TRUE(run.report.is_object()) << run.out.stderr_text;
    const auto& namespaces = run.report["sandbox"]["namespaces"];
    ASSERT_TRUE(namespaces.is_array()) << run.report;
    EXPECT_EQ(std::find(namespaces.begin(), namespaces.end(), "net"), namespaces.end());
}

TEST(Report, HasVersions) {
    ReportRun run({"ping"});
    ASSERT_TRUE(run.report.is_object()) << run.out.stderr_text;
    EXPECT_TRUE(run.report["report_version"].is_number_integer()) << run.report;
    EXPECT_TRUE(run.report["nsbox_version"].is_string()) << run.report;
}

TEST(Report, ReasonIsSignaledForASignalDeath) {
    ReportRun run({"raise:15"});
    ASSERT_TRUE(run.report.is_object()) << run.out.stderr_text;
    EXPECT_EQ(run.report["reason"], "signaled") << run.report;
    EXPECT_EQ(run.report["signal"], SIGTERM) << run.report;
    EXPECT_EQ(run.report["exit_code"], 128 + SIGTERM) << run.report;
}

TEST(Report, ReasonIsTimeoutForATimeout) {
    ReportRun run({"sleep:30"}, {"--timeout", "1s"});
    ASSERT_TRUE(run.report.is_object()) << run.out.stderr_text;
    EXPECT_EQ(run.report["reason"], "timeout") << run.report;
    EXPECT_EQ(run.report["exit_code"], 124) << run.report;
}

TEST(Report, ReasonIsSetupErrorForAFailedLaunch) {
    const TempDir dir;
    ReportRun run({"ping"}, {"--bind", (dir.path() / "missing").string() + ":/data"});
    ASSERT_TRUE(run.report.is_object()) << run.out.stderr_text;
    EXPECT_EQ(run.out.exit_code, 125);
    EXPECT_EQ(run.report["reason"], "setup_error") << run.report;
    EXPECT_EQ(run.report["exit_code"], 125) << run.report;
}

TEST(Report, SetupErrorCarriesTheStderrMessage) {
    const TempDir dir;
    ReportRun run({"ping"}, {"--bind", (dir.path() / "missing").string() + ":/data"});
    ASSERT_TRUE(run.report.is_object()) << run.out.stderr_text;
    ASSERT_TRUE(run.report["error"].is_object()) << run.report;
    const std::string message = run.report["error"].value("message", "");
    EXPECT_NE(message.find((dir.path() / "missing").string()), std::string::npos) << message;
    EXPECT_EQ("nsbox: " + message + "\n", run.out.stderr_text);
}

TEST(Report, DashPrintsTheReportOnStdout) {
    const TempDir ws;
    RunOutput out =
        run_nsbox({"run", "--workspace", ws.path().string(), "--report", "-", "--", "/bin/true"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    nlohmann::json report = nlohmann::json::parse(out.stdout_text, nullptr, false);
    ASSERT_FALSE(report.is_discarded()) << out.stdout_text;
    EXPECT_EQ(report["reason"], "exited");
}

}  // namespace
}  // namespace nsbox::test
