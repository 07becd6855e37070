// Processes: the pid namespace and its init, exit status mapping, signal forwarding, and that
// nothing of the sandbox survives a timeout, the payload's exit, or nsbox being killed.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace nsbox::test {
namespace {

using namespace std::chrono_literals;

// Generous bound that still proves a kill happened: the payloads below would run for 30s.
constexpr auto kKillBound = 20s;

// Every process of a marked run carries the marker in its command line: nsbox, its init (a
// clone of nsbox) and the probe with its children (the probe is bound at /probe-<marker>).
struct MarkedRun {
    std::string marker = unique_marker("nsbox-proc");
    std::string probe_path = "/probe-" + marker;
    TempDir ws;

    [[nodiscard]] std::vector<std::string> command(const std::vector<std::string>& actions,
                                                   std::vector<std::string> flags = {}) const {
        flags.insert(flags.begin(), {"--workspace", ws.path().string()});
        return probe_command_at(probe_path, actions, flags);
    }

    // Survivors are the bug under test; they are killed here so that one failure does not
    // leave 30-second sleepers behind for the next test.
    ~MarkedRun() {
        for (const int pid : processes_with(marker)) ::kill(pid, SIGKILL);
    }
};

RunSettings bounded() {
    RunSettings settings;
    settings.limit = std::chrono::duration_cast<std::chrono::seconds>(kKillBound);
    return settings;
}

// ---- the pid namespace -------------------------------------------------------------------

TEST(Process, Pid1IsTheNsboxInit) {
    RunOutput out = run_probe({"pid"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["pid1_comm"], "nsbox") << out.stdout_text;
}

TEST(Process, PayloadIsPid2) {
    RunOutput out = run_probe({"pid"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["pid"], 2) << out.stdout_text;
}

TEST(Process, PayloadParentIsTheInit) {
    RunOutput out = run_probe({"pid"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["ppid"], 1) << out.stdout_text;
}

TEST(Process, OnlyTheSandboxProcessesAreVisible) {
    RunOutput out = run_probe({"pid"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    const nlohmann::json expected =
        nlohmann::json::parse(R"([{"pid": 1, "comm": "nsbox"}, {"pid": 2, "comm": "probe"}])");
    EXPECT_EQ(out.probe["processes"], expected);
}

TEST(Process, PayloadLeadsANewSession) {
    RunOutput out = run_probe({"pid", "session"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["sid"], out.probe["pid"]) << out.stdout_text;
}

TEST(Process, PayloadHasNoControllingTerminal) {
    RunOutput out = run_probe({"session"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["tty_nr"], 0) << out.stdout_text;
}

// With the caller's terminal attached the payload still must not have it as its controlling
// terminal: that would let it push input into the caller's shell (TIOCSTI) or take its job
// control signals.
TEST(Process, PayloadOnATerminalHasNoControllingTerminal) {
    RunSettings settings;
    settings.terminal = true;
    RunOutput out = run_probe({"session"}, {}, settings);
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    ASSERT_EQ(out.probe["isatty"][1], true) << "the terminal did not reach the payload";
    EXPECT_EQ(out.probe["tty_nr"], 0) << out.stdout_text;
    EXPECT_EQ(out.probe["dev_tty"]["ok"], false) << out.stdout_text;
}

// ---- exit status -------------------------------------------------------------------------

TEST(Process, ExitCodePropagates) { EXPECT_EQ(run_probe({"exit:7"}).exit_code, 7); }

TEST(Process, ExitCode255Propagates) { EXPECT_EQ(run_probe({"exit:255"}).exit_code, 255); }

TEST(Process, SigtermDeathMapsTo143) {
    EXPECT_EQ(run_probe({"raise:15"}).exit_code, 128 + SIGTERM);
}

TEST(Process, SigkillDeathMapsTo137) { EXPECT_EQ(run_probe({"raise:9"}).exit_code, 128 + SIGKILL); }

// ---- nothing survives --------------------------------------------------------------------

TEST(Process, TimeoutExitsWith124) {
    const MarkedRun run;
    RunOutput out = run_nsbox(run.command({"sleep:30"}, {"--timeout", "1s"}), bounded());
    EXPECT_FALSE(out.timed_out) << "nsbox outlived its own --timeout";
    EXPECT_EQ(out.exit_code, 124) << out.stderr_text;
}

TEST(Process, TimeoutFinishesWellBeforeThePayloadWould) {
    const MarkedRun run;
    const auto start = std::chrono::steady_clock::now();
    RunOutput out = run_nsbox(run.command({"sleep:30"}, {"--timeout", "1s"}), bounded());
    EXPECT_LT(std::chrono::steady_clock::now() - start, kKillBound);
    EXPECT_FALSE(out.timed_out);
}

// The spawned child starts its own session, so only killing the whole pid namespace gets it;
// it also keeps stdout open, so the harness would not see EOF while it lives.
TEST(Process, TimeoutKillsBackgroundChildren) {
    const MarkedRun run;
    RunOutput out =
        run_nsbox(run.command({"spawn:30", "sleep:30"}, {"--timeout", "1s"}), bounded());
    EXPECT_FALSE(out.timed_out) << "something kept the sandbox's stdout open";
    EXPECT_EQ(out.exit_code, 124) << out.stderr_text;
    EXPECT_TRUE(processes_with(run.marker).empty());
}

TEST(Process, PayloadExitKillsLeftoverProcesses) {
    const MarkedRun run;
    RunOutput out = run_nsbox(run.command({"spawn:30", "exit:3"}), bounded());
    EXPECT_FALSE(out.timed_out) << "a leftover kept the sandbox's stdout open";
    EXPECT_EQ(out.exit_code, 3) << out.stderr_text;
    EXPECT_TRUE(processes_with(run.marker).empty());
}

// Guards the checks above against passing vacuously: while a marked sandbox runs, the marker
// does find its processes (at least nsbox, the probe and the probe's child).
TEST(Process, MarkerFindsTheSandboxWhileItRuns) {
    const MarkedRun run;
    // wait-signal prints "ready" itself once its handlers are in place: a "ready" before it
    // would let the SIGTERM below arrive while the default action still kills.
    AsyncRun nsbox(run.command({"spawn:30", "wait-signal:30"}), bounded());
    ASSERT_TRUE(nsbox.wait_for_line("ready", 30s)) << "the payload never got ready";
    EXPECT_GE(processes_with(run.marker).size(), 3U);
    nsbox.send_signal(SIGTERM);
    EXPECT_EQ(nsbox.finish().exit_code, 0);
}

TEST(Process, KilledNsboxLeavesNoProcessBehind) {
    const MarkedRun run;
    AsyncRun nsbox(run.command({"spawn:30", "ready", "sleep:30"}), bounded());
    ASSERT_TRUE(nsbox.wait_for_line("ready", 30s)) << "the payload never got ready";
    nsbox.send_signal(SIGKILL);
    RunOutput out = nsbox.finish();
    EXPECT_FALSE(out.timed_out) << "sandbox processes outlived nsbox";
    // The kernel kills the sandbox (parent-death signal, then its pid namespace) right after
    // nsbox dies, asynchronously: allow it a moment.
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!processes_with(run.marker).empty() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(20ms);
    EXPECT_TRUE(processes_with(run.marker).empty());
}

// ---- signals sent to nsbox reach the payload ---------------------------------------------

RunOutput signal_after_ready(int signo, const std::vector<std::string>& actions) {
    const MarkedRun run;
    AsyncRun nsbox(run.command(actions), bounded());
    if (!nsbox.wait_for_line("ready", 30s)) {
        ADD_FAILURE() << "the payload never got ready";
        return nsbox.finish();
    }
    nsbox.send_signal(signo);
    return nsbox.finish();
}

TEST(Process, SigtermReachesPayload) {
    RunOutput out = signal_after_ready(SIGTERM, {"wait-signal:30"});
    EXPECT_EQ(out.probe["signal"], SIGTERM) << out.stdout_text << out.stderr_text;
}

TEST(Process, SigintReachesPayload) {
    RunOutput out = signal_after_ready(SIGINT, {"wait-signal:30"});
    EXPECT_EQ(out.probe["signal"], SIGINT) << out.stdout_text << out.stderr_text;
}

TEST(Process, SighupReachesPayload) {
    RunOutput out = signal_after_ready(SIGHUP, {"wait-signal:30"});
    EXPECT_EQ(out.probe["signal"], SIGHUP) << out.stdout_text << out.stderr_text;
}

// Ctrl-C on the terminal signals the terminal's foreground process group, which is nsbox's,
// not the payload's (it runs in its own session): nsbox has to pass it on.
TEST(Process, CtrlCOnTheTerminalReachesPayload) {
    const MarkedRun run;
    RunSettings settings = bounded();
    settings.terminal = true;
    AsyncRun nsbox(run.command({"wait-signal:30"}), settings);
    ASSERT_TRUE(nsbox.wait_for_line("ready", 30s)) << "the payload never got ready";
    nsbox.type_on_terminal("\x03");
    RunOutput out = nsbox.finish();
    EXPECT_EQ(out.probe["signal"], SIGINT) << out.stdout_text << out.stderr_text;
}

TEST(Process, Sigusr1ReachesPayload) {
    RunOutput out = signal_after_ready(SIGUSR1, {"wait-signal:30"});
    EXPECT_EQ(out.probe["signal"], SIGUSR1) << out.stdout_text << out.stderr_text;
}

// The probe does not catch these, so their default action shows they arrived.
TEST(Process, SigquitReachesPayload) {
    EXPECT_EQ(signal_after_ready(SIGQUIT, {"ready", "sleep:30"}).exit_code, 128 + SIGQUIT);
}

TEST(Process, Sigusr2ReachesPayload) {
    EXPECT_EQ(signal_after_ready(SIGUSR2, {"ready", "sleep:30"}).exit_code, 128 + SIGUSR2);
}

TEST(Process, ForwardedSignalThatKillsPayloadGives128PlusN) {
    RunOutput out = signal_after_ready(SIGTERM, {"ready", "sleep:30"});
    EXPECT_EQ(out.exit_code, 128 + SIGTERM) << out.stderr_text;
}

}  // namespace
}  // namespace nsbox::test
