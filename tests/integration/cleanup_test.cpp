// Nothing is left behind under load and under faults: a thousand runs in a row, a storm of
// SIGTERMs, and SIGKILL of nsbox while the sandbox is busy leave no process, mount or temporary
// directory (cgroups: see Cgroup.* in limits_test.cpp, run in the VM stage).
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "harness.hpp"

namespace nsbox::test {
namespace {

using namespace std::chrono_literals;

bool eventually_none(const std::string& marker, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!processes_with(marker).empty()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(20ms);
    }
    return true;
}

TEST(Cleanup, AThousandRunsLeaveNothingBehind) {
    const auto mounts_before = host_mount_points();
    const auto temp_before = nsbox_temp_entries();
    const TempDir ws;
    const std::string marker = unique_marker("thousand");
    for (int i = 0; i < 1000; ++i) {
        const RunOutput out = run_nsbox(
            {"run", "-q", "--workspace", ws.path().string(), "--", "/bin/sh", "-c", ": " + marker});
        ASSERT_EQ(out.exit_code, 0) << "run " << i << ": " << out.stderr_text;
    }
    EXPECT_TRUE(eventually_none(marker, 5s));
    EXPECT_EQ(host_mount_points(), mounts_before);
    EXPECT_EQ(nsbox_temp_entries(), temp_before);
}

TEST(Cleanup, SigtermStormEndsTheRunOnceAndCleanly) {
    const std::string marker = unique_marker("storm");
    TempDir ws;
    ws.write("job.py",
             "import signal, sys, time\n"
             "got = []\n"
             "signal.signal(signal.SIGTERM, lambda *a: got.append(1))\n"
             "print('ready', flush=True)\n"
             "end = time.monotonic() + 2\n"
             "while time.monotonic() < end: time.sleep(0.01)\n"
             "print('terms', len(got) > 0, flush=True)\n");
    RunSettings settings;
    settings.limit = 60s;
    AsyncRun nsbox({"run", "-q", (ws.path() / "job.py").string(), marker}, settings);
    ASSERT_TRUE(nsbox.wait_for_line("ready", 30s));
    for (int i = 0; i < 200; ++i) nsbox.send_signal(SIGTERM);
    const RunOutput out = nsbox.finish();
    EXPECT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_NE(out.stdout_text.find("terms True"), std::string::npos) << out.stdout_text;
    EXPECT_TRUE(eventually_none(marker, 5s));
}

TEST(Cleanup, SigkillOfNsboxWhileTheSandboxForksLeavesNoProcess) {
    const auto mounts_before = host_mount_points();
    const std::string marker = unique_marker("busy");
    TempDir ws;
    ws.write("job.py",
             "import os, time\n"
             "print('ready', flush=True)\n"
             "while True:\n"
             "    if os.fork() == 0:\n"
             "        time.sleep(0.05); os._exit(0)\n"
             "    try: os.waitpid(-1, os.WNOHANG)\n"
             "    except ChildProcessError: pass\n");
    RunSettings settings;
    settings.limit = 60s;
    AsyncRun nsbox({"run", "-q", "--cpu-time", "none", (ws.path() / "job.py").string(), marker},
                   settings);
    ASSERT_TRUE(nsbox.wait_for_line("ready", 30s));
    std::this_thread::sleep_for(300ms);
    nsbox.send_signal(SIGKILL);
    (void)nsbox.finish();
    EXPECT_TRUE(eventually_none(marker, 10s));
    EXPECT_EQ(host_mount_points(), mounts_before);
}

}  // namespace
}  // namespace nsbox::test
