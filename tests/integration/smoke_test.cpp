// Smoke tests: a probe runs inside the sandbox and reports; the demo's example runs.
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

// The README's demo (scripts/demo.sh) runs this example in the default sandbox.
TEST(Smoke, DemoExampleRunsInTheDefaultSandbox) {
    const RunOutput out =
        run_nsbox({"run", "-q", std::string(NSBOX_SOURCE_DIR) + "/examples/whats_hidden.py"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_NE(out.stdout_text.find("secret-looking variables     none"), std::string::npos)
        << out.stdout_text;
    EXPECT_NE(out.stdout_text.find("network interfaces           lo\n"), std::string::npos)
        << out.stdout_text;
    EXPECT_NE(out.stdout_text.find("working directory            /workspace"), std::string::npos)
        << out.stdout_text;
}

}  // namespace nsbox::test
