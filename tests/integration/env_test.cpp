// The payload's environment: built from scratch, so no host variable reaches it unless the
// profile or the command line names it.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "harness.hpp"

namespace nsbox::test {
namespace {

// Host variables a careless launcher would hand to untrusted code.
const std::map<std::string, std::string> kCanaries = {
    {"NSBOX_TEST_SECRET", "canary-nsbox-secret-4711"},
    {"AWS_SECRET_ACCESS_KEY", "canary-aws-secret-4711"},
    {"GITHUB_TOKEN", "canary-github-token-4711"},
    {"SSH_AUTH_SOCK", "/tmp/canary-ssh-agent-4711"},
    {"LD_LIBRARY_PATH", "/canary-ld-library-path-4711"},
    {"PYTHONPATH", "/canary-pythonpath-4711"},
};

const std::set<std::string> kAllowlist = {"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL"};
// Thread-pool sizes nsbox derives from the CPU limit (limits.cpus).
const std::set<std::string> kThreadCounts = {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                             "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"};

// The [env.set] table of the default profile: the only variables besides the allowlist that
// a plain run may carry. Read from the source tree so the test follows the profile.
std::map<std::string, std::string> default_profile_env_set() {
    std::ifstream in(std::string(NSBOX_SOURCE_DIR) + "/profiles/default.toml");
    std::map<std::string, std::string> values;
    bool in_table = false;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line[0] == '[') {
            in_table = line.rfind("[env.set]", 0) == 0;
            continue;
        }
        const auto equals = line.find('=');
        if (!in_table || line.empty() || line[0] == '#' || equals == std::string::npos) continue;
        const std::string key = line.substr(0, line.find_first_of(" =\t"));
        const auto open = line.find('"', equals);
        const auto close = line.find('"', open + 1);
        if (open == std::string::npos || close == std::string::npos) continue;
        values[key] = line.substr(open + 1, close - open - 1);
    }
    return values;
}

nlohmann::json payload_env(const std::vector<std::string>& flags = {},
                           const RunSettings& settings = {}) {
    RunOutput out = run_probe({"env"}, flags, settings);
    EXPECT_EQ(out.exit_code, 0) << out.stderr_text;
    // Checked here so that "variable absent" assertions cannot pass on a run that failed.
    EXPECT_TRUE(out.probe["env"].is_object()) << out.stdout_text;
    return out.probe["env"];
}

RunSettings with_canaries() {
    RunSettings settings;
    settings.extra_env = kCanaries;
    return settings;
}

// A dotenv file exercising the syntax the README documents; each test checks one variable.
constexpr const char* kDotenv =
    "# a comment line\n"
    "   # an indented comment\n"
    "# COMMENTED_OUT=1\n"
    "export EXPORTED=yes\n"
    "DOUBLE=\"two words # not a comment\"\n"
    "SINGLE='literal \\n $HOME'\n"
    "UNQUOTED=plain # trailing comment\n"
    "ESCAPED=\"line1\\nline2\\ttab\"\n"
    "NO_INTERPOLATION=$NSBOX_TEST_SECRET\n"
    "\n"
    "SHARED=from-env-file\n";

nlohmann::json env_with_dotenv(std::vector<std::string> flags = {},
                               const RunSettings& settings = {}) {
    const TempDir dir;
    dir.write("app.env", kDotenv);
    flags.insert(flags.begin(), {"--env-file", (dir.path() / "app.env").string()});
    return payload_env(flags, settings);
}

TEST(Env, NoCanaryVariableNameReachesPayload) {
    nlohmann::json env = payload_env({}, with_canaries());
    ASSERT_TRUE(env.is_object());
    for (const auto& [name, value] : kCanaries) EXPECT_FALSE(env.contains(name)) << name;
}

TEST(Env, NoCanaryValueReachesPayload) {
    nlohmann::json env = payload_env({}, with_canaries());
    ASSERT_TRUE(env.is_object());
    const std::string dumped = env.dump();
    for (const auto& [name, value] : kCanaries) {
        EXPECT_EQ(dumped.find(value), std::string::npos) << name << " leaked: " << dumped;
    }
}

TEST(Env, OnlyAllowlistAndProfileVariablesArePresent) {
    nlohmann::json env = payload_env({}, with_canaries());
    ASSERT_TRUE(env.is_object());
    const auto profile = default_profile_env_set();
    ASSERT_FALSE(profile.empty()) << "could not read [env.set] of the default profile";
    for (const auto& [name, value] : env.items()) {
        EXPECT_TRUE(kAllowlist.count(name) == 1 || profile.count(name) == 1 ||
                    kThreadCounts.count(name) == 1)
            << name << "=" << value;
    }
}

TEST(Env, EveryAllowlistedVariableIsSet) {
    nlohmann::json env = payload_env();
    for (const std::string& name : kAllowlist) EXPECT_TRUE(env.contains(name)) << name;
}

TEST(Env, ProfileEnvSetValuesReachPayload) {
    nlohmann::json env = payload_env();
    for (const auto& [name, value] : default_profile_env_set()) {
        EXPECT_EQ(env.value(name, "<unset>"), value) << name;
    }
}

TEST(Env, HomeIsTheSandboxHomeNotTheHostOne) {
    RunSettings settings;
    settings.extra_env = {{"HOME", "/canary-host-home"}};
    EXPECT_EQ(payload_env({}, settings)["HOME"], "/home/sandbox");
}

TEST(Env, LocaleIsCUtf8WhateverTheHostUses) {
    RunSettings settings;
    settings.extra_env = {{"LANG", "de_DE.UTF-8"}, {"LC_ALL", "de_DE.UTF-8"}};
    nlohmann::json env = payload_env({}, settings);
    EXPECT_EQ(env["LANG"], "C.UTF-8");
    EXPECT_EQ(env["LC_ALL"], "C.UTF-8");
}

// The harness attaches pipes, not a terminal, so the host's TERM has nothing to describe.
TEST(Env, TermIsNotPassedWithoutTerminal) {
    RunSettings settings;
    settings.extra_env = {{"TERM", "xterm-canary"}};
    EXPECT_FALSE(payload_env({}, settings).contains("TERM"));
}

TEST(Env, TermIsPassedWhenATerminalIsAttached) {
    RunSettings settings;
    settings.extra_env = {{"TERM", "xterm-canary"}};
    settings.terminal = true;
    EXPECT_EQ(payload_env({}, settings)["TERM"], "xterm-canary");
}

TEST(Env, SetenvReachesPayload) {
    EXPECT_EQ(payload_env({"--setenv", "NSBOX_TEST_SET=hello world"})["NSBOX_TEST_SET"],
              "hello world");
}

TEST(Env, SetenvOverridesProfileValue) {
    EXPECT_EQ(payload_env({"--setenv", "TMPDIR=/workspace"})["TMPDIR"], "/workspace");
}

TEST(Env, PassEnvCopiesHostVariable) {
    RunSettings settings = with_canaries();
    EXPECT_EQ(payload_env({"--pass-env", "NSBOX_TEST_SECRET"}, settings)["NSBOX_TEST_SECRET"],
              kCanaries.at("NSBOX_TEST_SECRET"));
}

TEST(Env, PassEnvCopiesOnlyTheNamedVariable) {
    nlohmann::json env = payload_env({"--pass-env", "NSBOX_TEST_SECRET"}, with_canaries());
    EXPECT_FALSE(env.contains("AWS_SECRET_ACCESS_KEY"));
}

TEST(Env, PassEnvOfUnsetVariableAddsNothing) {
    EXPECT_FALSE(
        payload_env({"--pass-env", "NSBOX_TEST_NEVER_SET"}).contains("NSBOX_TEST_NEVER_SET"));
}

TEST(Env, EnvFileExportPrefixIsAccepted) { EXPECT_EQ(env_with_dotenv()["EXPORTED"], "yes"); }

TEST(Env, EnvFileDoubleQuotesKeepBlanksAndHash) {
    EXPECT_EQ(env_with_dotenv()["DOUBLE"], "two words # not a comment");
}

TEST(Env, EnvFileSingleQuotesAreLiteral) {
    EXPECT_EQ(env_with_dotenv()["SINGLE"], "literal \\n $HOME");
}

TEST(Env, EnvFileUnquotedValueEndsAtComment) { EXPECT_EQ(env_with_dotenv()["UNQUOTED"], "plain"); }

TEST(Env, EnvFileDoubleQuotedEscapesAreDecoded) {
    EXPECT_EQ(env_with_dotenv()["ESCAPED"], "line1\nline2\ttab");
}

TEST(Env, EnvFileCommentedVariableIsAbsent) {
    EXPECT_FALSE(env_with_dotenv().contains("COMMENTED_OUT"));
}

// "$NAME" must stay literal: interpolation would let a .env file pull in host secrets.
TEST(Env, EnvFileNeverInterpolatesHostVariables) {
    EXPECT_EQ(env_with_dotenv({}, with_canaries())["NO_INTERPOLATION"], "$NSBOX_TEST_SECRET");
}

TEST(Env, SetenvAfterEnvFileOverridesIt) {
    EXPECT_EQ(env_with_dotenv({"--setenv", "SHARED=from-setenv"})["SHARED"], "from-setenv");
}

// The override is by kind, not by position on the command line.
TEST(Env, SetenvBeforeEnvFileStillOverridesIt) {
    const TempDir dir;
    dir.write("app.env", kDotenv);
    nlohmann::json env = payload_env(
        {"--setenv", "SHARED=from-setenv", "--env-file", (dir.path() / "app.env").string()});
    EXPECT_EQ(env["SHARED"], "from-setenv");
}

TEST(Env, ProfileEnvSetReachesPayload) {
    const TempDir dir;
    dir.write("custom.toml",
              "extends = \"default\"\n"
              "[env.set]\n"
              "NSBOX_TEST_FROM_PROFILE = \"profile value\"\n");
    nlohmann::json env = payload_env({"--profile", (dir.path() / "custom.toml").string()});
    EXPECT_EQ(env["NSBOX_TEST_FROM_PROFILE"], "profile value");
}

TEST(Env, ProfileEnvPassCopiesHostVariable) {
    const TempDir dir;
    dir.write("custom.toml",
              "extends = \"default\"\n"
              "[env]\n"
              "pass = [\"NSBOX_TEST_SECRET\"]\n");
    nlohmann::json env =
        payload_env({"--profile", (dir.path() / "custom.toml").string()}, with_canaries());
    EXPECT_EQ(env["NSBOX_TEST_SECRET"], kCanaries.at("NSBOX_TEST_SECRET"));
}

}  // namespace
}  // namespace nsbox::test
