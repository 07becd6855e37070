// Smoke test: a probe runs inside the sandbox and reports.
#include <gtest/gtest.h>

#include "harness.hpp"

namespace nsbox::test {

TEST(Smoke, ProbeRunsInside) {
    TempDir ws;
    const RunOutput out =
        run_nsbox(probe_command({"ping", "ids"}, {"--workspace", ws.path().string()}));
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe.value("pong", false), true) << out.stdout_text;
}

}  // namespace nsbox::test
