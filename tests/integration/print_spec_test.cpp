// --print-spec: the fully resolved configuration, every value with its origin (built-in
// default, profile file:line, or command line), and nothing is run.
#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "harness.hpp"

namespace nsbox::test {
namespace {

namespace fs = std::filesystem;

struct SpecLine {
    std::string value;
    std::string origin;
};

// Finds `key = value  # origin`. The origin follows the last " # ", so a value containing
// " # " (a quoted env value) still parses.
std::optional<SpecLine> spec_line(const std::string& spec, const std::string& key) {
    for (const std::string& line : lines_of(spec)) {
        if (line.rfind(key, 0) != 0) continue;
        const auto rest = line.find_first_not_of(' ', key.size());
        if (rest == std::string::npos || line[rest] != '=') continue;
        const auto hash = line.rfind(" # ");
        if (hash == std::string::npos) return SpecLine{line.substr(rest + 1), ""};
        const auto value_start = line.find_first_not_of(' ', rest + 1);
        const auto value_end = line.find_last_not_of(' ', hash);
        return SpecLine{line.substr(value_start, value_end + 1 - value_start),
                        line.substr(hash + 3)};
    }
    return std::nullopt;
}

RunOutput print_spec(const std::vector<std::string>& flags,
                     const std::vector<std::string>& command = {"/bin/true"}) {
    const TempDir ws;
    std::vector<std::string> args = {"run", "--print-spec", "--workspace", ws.path().string()};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back("--");
    args.insert(args.end(), command.begin(), command.end());
    return run_nsbox(args);
}

std::string origin_of(const RunOutput& out, const std::string& key) {
    const auto line = spec_line(out.stdout_text, key);
    return line ? line->origin : "<" + key + " not printed>";
}

std::string value_of(const RunOutput& out, const std::string& key) {
    const auto line = spec_line(out.stdout_text, key);
    return line ? line->value : "<" + key + " not printed>";
}

TEST(PrintSpec, ExitsZero) {
    RunOutput out = print_spec({});
    EXPECT_EQ(out.exit_code, 0) << out.stderr_text;
}

TEST(PrintSpec, RunsNothing) {
    const TempDir ws;
    fs::permissions(ws.path(), fs::perms::all);  // so that a payload, had it run, could write
    RunOutput out = run_nsbox(probe_command(
        {"write:/workspace/ran.txt"},
        {"--print-spec", "--workspace", ws.path().string(), "--workspace-mode", "rw"}));
    EXPECT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_FALSE(fs::exists(ws.path() / "ran.txt"));
    EXPECT_EQ(out.stdout_text.find("write:/workspace/ran.txt\":"), std::string::npos)
        << out.stdout_text;
}

TEST(PrintSpec, EveryValueHasAnOrigin) {
    RunOutput out = print_spec({"--setenv", "NSBOX_TEST_A=1", "--hostname", "h"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    for (const std::string& line : lines_of(out.stdout_text)) {
        if (line.empty() || line[0] == '#') continue;
        EXPECT_NE(line.find(" # "), std::string::npos) << line;
    }
}

TEST(PrintSpec, DefaultProfileValueNamesFileAndLine) {
    RunOutput out = print_spec({});
    EXPECT_TRUE(
        std::regex_match(origin_of(out, "sandbox.hostname"), std::regex(R"(.*/default\.toml:\d+)")))
        << out.stdout_text;
}

TEST(PrintSpec, BuiltinValueOriginIsDefault) {
    RunOutput out = print_spec({});
    EXPECT_EQ(origin_of(out, "env.PATH").rfind("default", 0), 0U) << out.stdout_text;
}

TEST(PrintSpec, FlagValueOriginIsCommandLine) {
    RunOutput out = print_spec({"--hostname", "from-flag"});
    EXPECT_EQ(value_of(out, "sandbox.hostname"), "\"from-flag\"") << out.stdout_text;
    EXPECT_EQ(origin_of(out, "sandbox.hostname"), "command line") << out.stdout_text;
}

TEST(PrintSpec, TimeoutFlagOriginIsCommandLine) {
    RunOutput out = print_spec({"--timeout", "2s"});
    EXPECT_EQ(origin_of(out, "sandbox.timeout"), "command line") << out.stdout_text;
}

TEST(PrintSpec, SetenvOriginIsCommandLine) {
    RunOutput out = print_spec({"--setenv", "NSBOX_TEST_A=1"});
    EXPECT_EQ(origin_of(out, "env.NSBOX_TEST_A"), "command line") << out.stdout_text;
}

// A profile that sets the host name on its third line.
std::string custom_profile(const TempDir& dir) {
    dir.write("custom.toml",
              "extends = \"default\"\n"
              "[sandbox]\n"
              "hostname = \"from-profile\"\n");
    return (dir.path() / "custom.toml").string();
}

TEST(PrintSpec, ProfileValueOriginIsFileAndLine) {
    const TempDir dir;
    const std::string profile = custom_profile(dir);
    RunOutput out = print_spec({"--profile", profile});
    EXPECT_EQ(value_of(out, "sandbox.hostname"), "\"from-profile\"") << out.stdout_text;
    EXPECT_EQ(origin_of(out, "sandbox.hostname"), profile + ":3") << out.stdout_text;
}

TEST(PrintSpec, CommandLineOverridesProfile) {
    const TempDir dir;
    RunOutput out = print_spec({"--profile", custom_profile(dir), "--hostname", "flag"});
    EXPECT_EQ(value_of(out, "sandbox.hostname"), "\"flag\"") << out.stdout_text;
    EXPECT_EQ(origin_of(out, "sandbox.hostname"), "command line") << out.stdout_text;
}

TEST(PrintSpec, EnvFileValueOriginIsFileAndLine) {
    const TempDir dir;
    dir.write("app.env", "# comment\nNSBOX_TEST_B=2\n");
    const std::string file = (dir.path() / "app.env").string();
    RunOutput out = print_spec({"--env-file", file});
    EXPECT_EQ(origin_of(out, "env.NSBOX_TEST_B"), file + ":2") << out.stdout_text;
}

TEST(PrintSpec, CommandIsPrinted) {
    RunOutput out = print_spec({}, {"/bin/echo", "hello"});
    EXPECT_EQ(value_of(out, "command"), R"(["/bin/echo", "hello"])") << out.stdout_text;
    EXPECT_EQ(origin_of(out, "command"), "command line") << out.stdout_text;
}

}  // namespace
}  // namespace nsbox::test
