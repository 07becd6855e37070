// Unit tests for the JSON run report (render_report), wait status -> exit code, and the
// one-line Error rendering and exit codes that the report and the CLI share.
#include "nsbox/report.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <nlohmann/json.hpp>
#include <string>

#include "nsbox/error.hpp"
#include "nsbox/run_result.hpp"

namespace nsbox {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

Spec report_spec(NetMode network = NetMode::kNone) {
    Spec spec;
    spec.profile_name = "default";
    spec.profile_path = "/usr/share/nsbox/profiles/default.toml";
    spec.rootfs = {"host", Origin::builtin()};
    spec.hostname = {"nsbox", Origin::builtin()};
    spec.network = {network, Origin::builtin()};
    spec.workspace = {"/home/u/proj", Origin::builtin("script directory")};
    spec.workspace_mode = {WorkspaceMode::kOverlay, Origin::builtin()};
    spec.timeout = {30s, Origin::cli()};
    spec.argv = {"python3", "/workspace/main.py"};
    return spec;
}

// 2024-01-02T03:04:05.678Z, built from the civil calendar so no time zone is involved.
std::chrono::system_clock::time_point fixed_start() {
    using namespace std::chrono;
    return sys_days{year{2024} / January / 2} + 3h + 4min + 5s + 678ms;
}

RunResult finished(int code) {
    RunResult r;
    r.reason = Reason::kExited;
    r.exit_code = code;
    r.payload_status = W_EXITCODE(code, 0);
    r.started_at = fixed_start();
    r.ended_at = fixed_start() + 1500ms;
    r.wall_time = 1500ms;
    r.host_uid = 1234;
    r.host_gid = 1235;
    return r;
}

json render(const ReportInput& input) {
    const std::string text = render_report(input);
    EXPECT_FALSE(text.empty());
    EXPECT_EQ(text.back(), '\n');
    return json::parse(text);  // throws, failing the test, if the output is not JSON
}

TEST(Report, FinishedRunHasExitCodeReasonAndTimes) {
    const Spec spec = report_spec();
    const RunResult result = finished(0);
    const json report = render({{"nsbox", "run", "main.py"}, &spec, &result, nullptr});
    EXPECT_EQ(report.at("report_version"), 1);
    EXPECT_EQ(report.at("nsbox_version"), NSBOX_VERSION);
    EXPECT_EQ(report.at("argv"), json({"nsbox", "run", "main.py"}));
    EXPECT_EQ(report.at("exit_code"), 0);
    EXPECT_EQ(report.at("reason"), "exited");
    EXPECT_TRUE(report.at("signal").is_null());
    EXPECT_TRUE(report.at("error").is_null());
    EXPECT_DOUBLE_EQ(report.at("wall_time_s").get<double>(), 1.5);
    EXPECT_EQ(report.at("started_at"), "2024-01-02T03:04:05.678Z");
    EXPECT_EQ(report.at("ended_at"), "2024-01-02T03:04:07.178Z");
    EXPECT_TRUE(report.at("output").is_null()) << "no --output was given";
}

TEST(Report, SandboxBlockDescribesTheSpec) {
    const Spec spec = report_spec();
    const RunResult result = finished(0);
    const json sandbox = render({{}, &spec, &result, nullptr}).at("sandbox");
    EXPECT_EQ(sandbox.at("profile"), "default");
    EXPECT_EQ(sandbox.at("rootfs"), "host");
    EXPECT_EQ(sandbox.at("rootfs_kind"), "host");
    EXPECT_EQ(sandbox.at("workspace"), "/home/u/proj");
    EXPECT_EQ(sandbox.at("workspace_mode"), "overlay");
    EXPECT_EQ(sandbox.at("network"), "none");
    EXPECT_EQ(sandbox.at("hostname"), "nsbox");
    EXPECT_DOUBLE_EQ(sandbox.at("timeout_s").get<double>(), 30.0);
    EXPECT_EQ(sandbox.at("command"), json({"python3", "/workspace/main.py"}));
    EXPECT_EQ(sandbox.at("user").at("uid"), 1000);
    EXPECT_EQ(sandbox.at("user").at("gid"), 1000);
    EXPECT_EQ(sandbox.at("user").at("host_uid"), 1234);
    EXPECT_EQ(sandbox.at("setup"), "rootless");
}

TEST(Report, NetNamespaceIsListedOnlyWithoutHostNetwork) {
    const RunResult result = finished(0);
    const Spec isolated = report_spec(NetMode::kNone);
    const json none = render({{}, &isolated, &result, nullptr}).at("sandbox").at("namespaces");
    EXPECT_NE(std::find(none.begin(), none.end(), "net"), none.end()) << none;
    EXPECT_NE(std::find(none.begin(), none.end(), "user"), none.end()) << none;
    EXPECT_NE(std::find(none.begin(), none.end(), "mount"), none.end()) << none;
    EXPECT_NE(std::find(none.begin(), none.end(), "pid"), none.end()) << none;

    const Spec shared = report_spec(NetMode::kHost);
    const json host = render({{}, &shared, &result, nullptr}).at("sandbox").at("namespaces");
    EXPECT_EQ(std::find(host.begin(), host.end(), "net"), host.end()) << host;
}

TEST(Report, OutputBlockListsExportedChanges) {
    Spec spec = report_spec();
    spec.output_dir = "/tmp/out";
    RunResult result = finished(0);
    ExportSummary summary;
    summary.written = {"result.csv", "plots/a.png"};
    summary.deleted = {"old.txt"};
    summary.skipped = {{"pipe", "fifo"}};
    summary.bytes = 42;
    result.exported = summary;
    const json output = render({{}, &spec, &result, nullptr}).at("output");
    EXPECT_EQ(output.at("dir"), "/tmp/out");
    EXPECT_EQ(output.at("written"), json({"result.csv", "plots/a.png"}));
    EXPECT_EQ(output.at("deleted"), json({"old.txt"}));
    ASSERT_EQ(output.at("skipped").size(), 1U);
    EXPECT_EQ(output.at("skipped")[0].at("path"), "pipe");
    EXPECT_EQ(output.at("skipped")[0].at("reason"), "fifo");
    EXPECT_EQ(output.at("bytes"), 42);
    EXPECT_TRUE(output.at("error").is_null());
}

TEST(Report, ExportErrorIsReportedInTheOutputBlock) {
    Spec spec = report_spec();
    spec.output_dir = "/tmp/out";
    RunResult result = finished(0);
    result.export_error = Error::system(Step::kExport, EACCES, "create /tmp/out");
    const json output = render({{}, &spec, &result, nullptr}).at("output");
    EXPECT_EQ(output.at("error"), "export: create /tmp/out: Permission denied");
}

TEST(Report, TimeoutHasReasonTimeoutAndExit124) {
    const Spec spec = report_spec();
    RunResult result = finished(0);
    result.reason = Reason::kTimeout;
    result.exit_code = kExitTimeout;
    result.signal = SIGKILL;
    const json report = render({{}, &spec, &result, nullptr});
    EXPECT_EQ(report.at("reason"), "timeout");
    EXPECT_EQ(report.at("exit_code"), 124);
    EXPECT_EQ(report.at("signal"), SIGKILL);
}

TEST(Report, SignaledRunReportsTheSignal) {
    const Spec spec = report_spec();
    RunResult result = finished(0);
    result.reason = Reason::kSignaled;
    result.signal = SIGSEGV;
    result.exit_code = 128 + SIGSEGV;
    const json report = render({{}, &spec, &result, nullptr});
    EXPECT_EQ(report.at("reason"), "signaled");
    EXPECT_EQ(report.at("signal"), SIGSEGV);
    EXPECT_EQ(report.at("exit_code"), 139);
}

TEST(Report, SetupErrorWithoutResultCarriesTheError) {
    const Error error = Error::not_found(Step::kValidate, "script main.py");
    const json report = render({{"nsbox", "run", "main.py"}, nullptr, nullptr, &error});
    EXPECT_EQ(report.at("reason"), "setup_error");
    EXPECT_EQ(report.at("exit_code"), 127);
    EXPECT_TRUE(report.at("signal").is_null());
    EXPECT_EQ(report.at("error").at("message"), "script main.py: No such file or directory");
    EXPECT_EQ(report.at("error").at("step"), "validate");
    EXPECT_EQ(report.at("error").at("errno"), ENOENT);
    EXPECT_TRUE(report.at("sandbox").is_null()) << "validation never finished";
}

TEST(Report, SetupErrorAfterValidationStillDescribesTheSandbox) {
    const Spec spec = report_spec();
    const Error error = Error::system(Step::kClone, EPERM, "clone3");
    const json report = render({{}, &spec, nullptr, &error});
    EXPECT_EQ(report.at("reason"), "setup_error");
    EXPECT_EQ(report.at("exit_code"), 125);
    EXPECT_EQ(report.at("error").at("message"), "clone: clone3: Operation not permitted");
    EXPECT_EQ(report.at("sandbox").at("hostname"), "nsbox");
}

TEST(Report, SetupErrorInsideTheChildComesFromTheResult) {
    const Spec spec = report_spec();
    RunResult result = finished(0);
    result.reason = Reason::kSetupError;
    result.error = Error::system(Step::kPivotRoot, EPERM, "pivot_root");
    result.exit_code = kExitLauncherError;
    const json report = render({{}, &spec, &result, nullptr});
    EXPECT_EQ(report.at("reason"), "setup_error");
    EXPECT_EQ(report.at("error").at("step"), "pivot-root");
    EXPECT_EQ(report.at("error").at("errno"), EPERM);
}

TEST(Report, StringsWithQuotesAndNewlinesStayValidJson) {
    Spec spec = report_spec();
    spec.argv = {"sh", "-c", "echo \"hi\"\n\t\\"};
    const RunResult result = finished(0);
    const json report = render({{"nsbox", "run", "--", "sh"}, &spec, &result, nullptr});
    EXPECT_EQ(report.at("sandbox").at("command")[2], "echo \"hi\"\n\t\\");
}

// ---- exit codes ----

TEST(ExitCodeForStatus, ExitedStatusIsItsCode) {
    EXPECT_EQ(exit_code_for_status(W_EXITCODE(0, 0)), 0);
    EXPECT_EQ(exit_code_for_status(W_EXITCODE(3, 0)), 3);
    EXPECT_EQ(exit_code_for_status(W_EXITCODE(255, 0)), 255);
}

TEST(ExitCodeForStatus, SignaledStatusIs128PlusTheSignal) {
    EXPECT_EQ(exit_code_for_status(W_EXITCODE(0, SIGKILL)), 137);
    EXPECT_EQ(exit_code_for_status(W_EXITCODE(0, SIGTERM)), 143);
    EXPECT_EQ(exit_code_for_status(W_EXITCODE(0, SIGSEGV) | WCOREFLAG), 139);
}

TEST(ReasonName, IsTheReportSpelling) {
    EXPECT_EQ(reason_name(Reason::kExited), "exited");
    EXPECT_EQ(reason_name(Reason::kSignaled), "signaled");
    EXPECT_EQ(reason_name(Reason::kTimeout), "timeout");
    EXPECT_EQ(reason_name(Reason::kSetupError), "setup_error");
}

// ---- Error ----

TEST(Error, UsageIsOneLineWithExit125) {
    const Error e = Error::usage("--net: expected none or host");
    EXPECT_EQ(e.line(), "nsbox: --net: expected none or host");
    EXPECT_EQ(e.message(), "--net: expected none or host");
    EXPECT_EQ(e.exit_code(), kExitLauncherError);
    EXPECT_EQ(e.code, Errc::kUsage);
}

TEST(Error, ProfileNamesFileLineAndKey) {
    const Error e = Error::profile("profiles/python.toml", 12, "limits.memory",
                                   "expected a size such as \"512M\", got \"lots\"");
    EXPECT_EQ(e.line(),
              "nsbox: profiles/python.toml:12: limits.memory: expected a size such as "
              "\"512M\", got \"lots\"");
    EXPECT_EQ(e.exit_code(), kExitLauncherError);
    EXPECT_EQ(e.step, Step::kProfile);
}

TEST(Error, ProfileWithoutLineOrKeyLeavesThemOut) {
    EXPECT_EQ(Error::profile("p.toml", 0, {}, "cannot read").line(), "nsbox: p.toml: cannot read");
    EXPECT_EQ(Error::profile("p.toml", 3, {}, "bad syntax").line(), "nsbox: p.toml:3: bad syntax");
    EXPECT_EQ(Error::profile("p.toml", 0, "extends", "loop").line(),
              "nsbox: p.toml: extends: loop");
}

TEST(Error, NotFoundExits127) {
    const Error e = Error::not_found(Step::kExec, "python3");
    EXPECT_EQ(e.exit_code(), kExitNotFound);
    EXPECT_EQ(e.line(), "nsbox: python3: No such file or directory");
}

TEST(Error, CannotExecuteExits126) {
    const Error e = Error::cannot_execute(Step::kExec, EACCES, "/workspace/run.sh");
    EXPECT_EQ(e.exit_code(), kExitCannotExecute);
    EXPECT_EQ(e.line(), "nsbox: /workspace/run.sh: Permission denied");
}

TEST(Error, SystemNamesTheStepAndErrno) {
    const Error e =
        Error::system(Step::kPivotRoot, EPERM, "pivot_root into /var/lib/nsbox/rootfs/python");
    EXPECT_EQ(e.line(),
              "nsbox: pivot-root: pivot_root into /var/lib/nsbox/rootfs/python: "
              "Operation not permitted");
    EXPECT_EQ(e.sys_errno, EPERM);
    EXPECT_EQ(e.exit_code(), kExitLauncherError);
}

TEST(Error, FromErrnoCapturesTheCurrentErrno) {
    errno = ENOSPC;
    const Error e = Error::from_errno(Step::kMounts, "mount /newroot/tmp");
    EXPECT_EQ(e.sys_errno, ENOSPC);
    EXPECT_EQ(e.line(), "nsbox: mounts: mount /newroot/tmp: No space left on device");
}

TEST(Error, InternalExits125) {
    const Error e = Error::internal("unexpected state");
    EXPECT_EQ(e.exit_code(), kExitLauncherError);
    EXPECT_EQ(e.line(), "nsbox: unexpected state");
}

TEST(StepName, IsKebabCase) {
    EXPECT_EQ(step_name(Step::kPivotRoot), "pivot-root");
    EXPECT_EQ(step_name(Step::kIdMaps), "id-maps");
    EXPECT_EQ(step_name(Step::kNoNewPrivs), "no-new-privs");
    EXPECT_EQ(step_name(Step::kExec), "exec");
}

}  // namespace
}  // namespace nsbox
