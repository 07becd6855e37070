// Unit tests for profile parsing (parse_profile, load_profile), extends chains (resolve_profile)
// and the SRC[:DST] / DST[:SIZE] mount arguments shared by profiles and the command line.
#include "nsbox/profile.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "nsbox/validate.hpp"
#include "temp_dir.hpp"

namespace nsbox {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr std::uint64_t kMiB = 1024 * 1024;

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

// 1-based number of the first line of `text` that starts with `prefix` (after indentation),
// after the line `section` when one is given, so assertions about the real default.toml survive
// comment edits and keys of the same name in other tables; 0 if there is none.
int line_starting_with(const std::string& text, const std::string& prefix,
                       const std::string& section = {}) {
    std::istringstream in(text);
    std::string line;
    bool in_section = section.empty();
    for (int number = 1; std::getline(in, line); ++number) {
        const auto start = line.find_first_not_of(" \t");
        if (start == std::string::npos) continue;
        if (line[start] == '[') in_section = section.empty() || line.substr(start) == section;
        if (in_section && line.compare(start, prefix.size(), prefix) == 0) return number;
    }
    return 0;
}

using testing_support::TempDir;

void expect_profile_origin(const Origin& origin, const std::string& file, int line) {
    EXPECT_EQ(origin.kind, OriginKind::kProfile);
    EXPECT_EQ(origin.file, file);
    EXPECT_EQ(origin.line, line);
}

const EnvVar* find_env(const std::vector<EnvVar>& env, const std::string& name) {
    const auto it =
        std::find_if(env.begin(), env.end(), [&](const EnvVar& var) { return var.name == name; });
    return it == env.end() ? nullptr : &*it;
}

// ---- the shipped default profile ----

TEST(DefaultProfile, ParsesWithTheBuiltInValuesItDocuments) {
    const std::string file = NSBOX_SOURCE_DIR "/profiles/default.toml";
    auto profile = load_profile(file);
    ASSERT_TRUE(profile) << profile.error().line();
    const Settings& s = profile->settings;
    EXPECT_EQ(profile->path, file);
    EXPECT_TRUE(profile->extends.empty());

    ASSERT_TRUE(s.rootfs && s.hostname && s.network && s.timeout);
    EXPECT_EQ(s.rootfs->value, "host");
    EXPECT_EQ(s.hostname->value, "nsbox");
    EXPECT_EQ(s.network->value, NetMode::kNone);
    EXPECT_EQ(s.timeout->value, milliseconds(0));  // "none"
    ASSERT_TRUE(s.workspace_mode && s.workspace_size);
    EXPECT_EQ(s.workspace_mode->value, WorkspaceMode::kOverlay);
    EXPECT_EQ(s.workspace_size->value, 1024 * kMiB);
    ASSERT_TRUE(s.tmp_size && s.shm_size && s.home_size);
    EXPECT_EQ(s.tmp_size->value, 512 * kMiB);
    EXPECT_EQ(s.shm_size->value, 256 * kMiB);
    EXPECT_EQ(s.home_size->value, 512 * kMiB);
    EXPECT_TRUE(s.binds.empty());
    EXPECT_TRUE(s.tmpfs.empty());
    EXPECT_TRUE(s.env_pass.empty());
    EXPECT_TRUE(s.env_files.empty());

    const std::vector<std::pair<std::string, std::string>> expected_env = {
        {"XDG_CACHE_HOME", "/home/sandbox/.cache"},
        {"XDG_CONFIG_HOME", "/home/sandbox/.config"},
        {"XDG_DATA_HOME", "/home/sandbox/.local/share"},
        {"TMPDIR", "/tmp"},
        {"PYTHONDONTWRITEBYTECODE", "1"},
        {"MPLCONFIGDIR", "/home/sandbox/.config/matplotlib"},
    };
    EXPECT_EQ(s.env_set.size(), expected_env.size());
    for (const auto& [name, value] : expected_env) {
        const EnvVar* var = find_env(s.env_set, name);
        ASSERT_NE(var, nullptr) << name;
        EXPECT_EQ(var->value, value) << name;
    }
}

TEST(DefaultProfile, EveryValueRemembersItsFileAndLine) {
    const std::string file = NSBOX_SOURCE_DIR "/profiles/default.toml";
    const std::string text = read_text(file);
    auto profile = parse_profile(text, file);
    ASSERT_TRUE(profile) << profile.error().line();
    const Settings& s = profile->settings;

    // The first "mode = " etc. in the file is the key itself: comments start with '#'.
    expect_profile_origin(s.rootfs->origin, file, line_starting_with(text, "rootfs ="));
    expect_profile_origin(s.hostname->origin, file, line_starting_with(text, "hostname ="));
    expect_profile_origin(s.network->origin, file, line_starting_with(text, "network ="));
    expect_profile_origin(s.timeout->origin, file, line_starting_with(text, "timeout ="));
    expect_profile_origin(s.workspace_mode->origin, file,
                          line_starting_with(text, "mode =", "[workspace]"));
    expect_profile_origin(s.workspace_size->origin, file,
                          line_starting_with(text, "size =", "[workspace]"));
    expect_profile_origin(s.limits_mode->origin, file,
                          line_starting_with(text, "mode =", "[limits]"));
    expect_profile_origin(s.memory_limit->origin, file, line_starting_with(text, "memory ="));
    expect_profile_origin(s.pids_limit->origin, file, line_starting_with(text, "pids ="));
    expect_profile_origin(s.cpu_time_limit->origin, file, line_starting_with(text, "cpu_time ="));
    expect_profile_origin(s.tmp_size->origin, file, line_starting_with(text, "tmp ="));
    expect_profile_origin(s.shm_size->origin, file, line_starting_with(text, "shm ="));
    expect_profile_origin(s.home_size->origin, file, line_starting_with(text, "home ="));
    for (const EnvVar& var : s.env_set) {
        SCOPED_TRACE(var.name);
        expect_profile_origin(var.origin, file, line_starting_with(text, var.name + " ="));
    }
}

// ---- parse_profile on inline text ----

TEST(ParseProfile, EveryKeyIsParsedWithItsLine) {
    const std::string text =
        "extends = \"base\"\n"          // 1
        "[sandbox]\n"                   // 2
        "rootfs = \"/srv/rootfs\"\n"    // 3
        "hostname = \"box\"\n"          // 4
        "network = \"host\"\n"          // 5
        "timeout = \"1.5s\"\n"          // 6
        "[workspace]\n"                 // 7
        "mode = \"rw\"\n"               // 8
        "size = \"2G\"\n"               // 9
        "[tmpfs]\n"                     // 10
        "tmp = \"64M\"\n"               // 11
        "shm = \"32M\"\n"               // 12
        "home = \"16M\"\n"              // 13
        "[mounts]\n"                    // 14
        "bind = [\"/srv/a:/a\"]\n"      // 15
        "ro_bind = [\"/srv/b\"]\n"      // 16
        "tmpfs = [\"/scratch:8M\"]\n"   // 17
        "[env]\n"                       // 18
        "pass = [\"TZ\"]\n"             // 19
        "files = [\"/etc/app.env\"]\n"  // 20
        "[env.set]\n"                   // 21
        "MODE = \"test\"\n";            // 22
    auto profile = parse_profile(text, "/p/x.toml");
    ASSERT_TRUE(profile) << profile.error().line();
    const Settings& s = profile->settings;
    EXPECT_EQ(profile->extends, "base");
    EXPECT_EQ(profile->extends_line, 1);
    EXPECT_EQ(s.rootfs->value, "/srv/rootfs");
    expect_profile_origin(s.rootfs->origin, "/p/x.toml", 3);
    EXPECT_EQ(s.hostname->value, "box");
    EXPECT_EQ(s.network->value, NetMode::kHost);
    expect_profile_origin(s.network->origin, "/p/x.toml", 5);
    EXPECT_EQ(s.timeout->value, milliseconds(1500));
    EXPECT_EQ(s.workspace_mode->value, WorkspaceMode::kReadWrite);
    expect_profile_origin(s.workspace_mode->origin, "/p/x.toml", 8);
    EXPECT_EQ(s.workspace_size->value, 2048 * kMiB);
    EXPECT_EQ(s.tmp_size->value, 64 * kMiB);
    EXPECT_EQ(s.shm_size->value, 32 * kMiB);
    EXPECT_EQ(s.home_size->value, 16 * kMiB);
    expect_profile_origin(s.home_size->origin, "/p/x.toml", 13);

    ASSERT_EQ(s.binds.size(), 2U);
    EXPECT_EQ(s.binds[0].source, "/srv/a");
    EXPECT_EQ(s.binds[0].dest, "/a");
    EXPECT_FALSE(s.binds[0].read_only);
    expect_profile_origin(s.binds[0].origin, "/p/x.toml", 15);
    EXPECT_EQ(s.binds[1].source, "/srv/b");
    EXPECT_EQ(s.binds[1].dest, "/srv/b");  // DST defaults to SRC
    EXPECT_TRUE(s.binds[1].read_only);
    expect_profile_origin(s.binds[1].origin, "/p/x.toml", 16);
    ASSERT_EQ(s.tmpfs.size(), 1U);
    EXPECT_EQ(s.tmpfs[0].dest, "/scratch");
    EXPECT_EQ(s.tmpfs[0].size, 8 * kMiB);
    expect_profile_origin(s.tmpfs[0].origin, "/p/x.toml", 17);
    ASSERT_EQ(s.env_pass.size(), 1U);
    EXPECT_EQ(s.env_pass[0].value, "TZ");
    expect_profile_origin(s.env_pass[0].origin, "/p/x.toml", 19);
    ASSERT_EQ(s.env_files.size(), 1U);
    EXPECT_EQ(s.env_files[0].value, "/etc/app.env");
    expect_profile_origin(s.env_files[0].origin, "/p/x.toml", 20);
    ASSERT_EQ(s.env_set.size(), 1U);
    EXPECT_EQ(s.env_set[0].name, "MODE");
    EXPECT_EQ(s.env_set[0].value, "test");
    expect_profile_origin(s.env_set[0].origin, "/p/x.toml", 22);
}

TEST(ParseProfile, MultiLineListItemsKeepTheirOwnLines) {
    const std::string text =
        "[mounts]\n"
        "ro_bind = [\n"
        "    \"/srv/one\",\n"
        "    \"/srv/two:/two\",\n"
        "]\n";
    auto profile = parse_profile(text, "/p/x.toml");
    ASSERT_TRUE(profile) << profile.error().line();
    ASSERT_EQ(profile->settings.binds.size(), 2U);
    EXPECT_EQ(profile->settings.binds[0].origin.line, 3);
    EXPECT_EQ(profile->settings.binds[1].origin.line, 4);
}

TEST(ParseProfile, TimeoutNoneMeansZero) {
    auto profile = parse_profile("[sandbox]\ntimeout = \"none\"\n", "/p/x.toml");
    ASSERT_TRUE(profile) << profile.error().line();
    EXPECT_EQ(profile->settings.timeout->value, milliseconds(0));
}

TEST(ParseProfile, StringsWithANulCharacterAreRefused) {
    // "/etc\0x" would pass every check as one path and reach the kernel as "/etc".
    auto profile = parse_profile("[workspace]\nat = \"/etc\\u0000x\"\n", "/p/x.toml");
    ASSERT_FALSE(profile);
    EXPECT_EQ(profile.error().line(), "nsbox: /p/x.toml:2: workspace.at: contains a NUL character");
}

TEST(ParseProfile, EmptyProfileSetsNothing) {
    auto profile = parse_profile("# nothing here\n", "/p/x.toml");
    ASSERT_TRUE(profile) << profile.error().line();
    EXPECT_FALSE(profile->settings.rootfs || profile->settings.hostname ||
                 profile->settings.network || profile->settings.timeout);
    EXPECT_TRUE(profile->settings.binds.empty());
    EXPECT_TRUE(profile->extends.empty());
}

TEST(ParseProfile, UnknownKeyNamesFileLineAndDottedKey) {
    auto profile = parse_profile("[sandbox]\nhostname = \"x\"\nnetwrok = \"none\"\n", "p.toml");
    ASSERT_FALSE(profile);
    EXPECT_EQ(profile.error().line(), "nsbox: p.toml:3: sandbox.netwrok: unknown key");
    EXPECT_EQ(profile.error().code, Errc::kProfile);
    EXPECT_EQ(profile.error().exit_code(), kExitLauncherError);
}

TEST(ParseProfile, SectionNameUsedAsValueIsUnknown) {
    // "sandbox" is a table in the schema; a scalar there is not a shorthand for anything.
    auto profile = parse_profile("sandbox = \"host\"\n", "p.toml");
    ASSERT_FALSE(profile);
    EXPECT_EQ(profile.error().line(), "nsbox: p.toml:1: sandbox: unknown key");
}

TEST(ParseProfile, MissingFileIsAProfileErrorNamingTheFile) {
    TempDir dir;
    const fs::path missing = dir.path() / "missing.toml";
    auto profile = load_profile(missing);
    ASSERT_FALSE(profile);
    EXPECT_EQ(profile.error().code, Errc::kProfile);
    EXPECT_EQ(
        profile.error().line().rfind("nsbox: " + missing.string() + ": cannot read profile", 0), 0U)
        << profile.error().line();
}

// ---- every tests/data/profiles/bad-*.toml produces exactly its .expected line ----

std::string trim_trailing_newlines(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    return text;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
    for (std::size_t pos = text.find(from); pos != std::string::npos;
         pos = text.find(from, pos + to.size())) {
        text.replace(pos, from.size(), to);
    }
    return text;
}

TEST(BadProfiles, EachProducesItsExactErrorLine) {
    const fs::path dir = fs::path(NSBOX_TEST_DATA_DIR) / "profiles";
    std::vector<fs::path> cases;
    for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("bad-", 0) == 0 && entry.path().extension() == ".toml")
            cases.push_back(entry.path());
    }
    std::sort(cases.begin(), cases.end());
    // Guards against a glob that silently matches nothing (moved data dir, renamed files).
    ASSERT_GE(cases.size(), 8U) << "too few bad-*.toml files in " << dir;

    for (const fs::path& toml : cases) {
        SCOPED_TRACE(toml.filename().string());
        fs::path expected_file = toml;
        expected_file.replace_extension(".expected");
        ASSERT_TRUE(fs::exists(expected_file)) << "missing " << expected_file;
        const std::string path = toml.string();
        const std::string expected =
            replace_all(trim_trailing_newlines(read_text(expected_file)), "@FILE@", path);

        auto profile = load_profile(path);
        ASSERT_FALSE(profile) << "the profile was accepted";
        EXPECT_EQ(profile.error().line(), expected);
        EXPECT_EQ(profile.error().code, Errc::kProfile);
        EXPECT_EQ(profile.error().line().find('\n'), std::string::npos);
    }
}

// ---- relative paths ----

TEST(ParseProfile, RelativePathsAreRelativeToTheProfileDirectory) {
    TempDir dir;
    fs::create_directory(dir.path() / "conf");
    const fs::path file = dir.write("conf/p.toml",
                                    "[sandbox]\n"
                                    "rootfs = \"../rootfs\"\n"
                                    "[mounts]\n"
                                    "bind = [\"data:/data\"]\n"
                                    "ro_bind = [\"./models\"]\n"
                                    "[env]\n"
                                    "files = [\"app.env\"]\n");
    auto profile = load_profile(file);
    ASSERT_TRUE(profile) << profile.error().line();
    const Settings& s = profile->settings;
    const fs::path conf = dir.path() / "conf";
    EXPECT_EQ(s.rootfs->value, (dir.path() / "rootfs").string());
    ASSERT_EQ(s.binds.size(), 2U);
    EXPECT_EQ(s.binds[0].source, (conf / "data").string());
    EXPECT_EQ(s.binds[0].dest, "/data");
    EXPECT_EQ(s.binds[1].source, (conf / "models").string());
    EXPECT_EQ(s.binds[1].dest, (conf / "models").string());
    ASSERT_EQ(s.env_files.size(), 1U);
    EXPECT_EQ(s.env_files[0].value, (conf / "app.env").string());
}

TEST(ParseProfile, RootfsHostAndAbsolutePathsAreKeptAsWritten) {
    auto profile = parse_profile(
        "[sandbox]\nrootfs = \"host\"\n[mounts]\nbind = [\"/srv/x\"]\n[env]\nfiles = "
        "[\"/e.env\"]\n",
        "/p/x.toml");
    ASSERT_TRUE(profile) << profile.error().line();
    EXPECT_EQ(profile->settings.rootfs->value, "host");
    EXPECT_EQ(profile->settings.binds[0].source, "/srv/x");
    EXPECT_EQ(profile->settings.env_files[0].value, "/e.env");
}

// ---- extends chains ----

TEST(ResolveProfile, ChildWinsOnScalarsAndAppendsToLists) {
    TempDir dir;
    dir.write("base.toml",
              "[sandbox]\nhostname = \"base\"\nnetwork = \"host\"\n"
              "[mounts]\nro_bind = [\"/srv/base\"]\n"
              "[env]\npass = [\"TZ\"]\n");
    const fs::path child = dir.write("child.toml",
                                     "extends = \"base\"\n"
                                     "[sandbox]\nhostname = \"child\"\n"
                                     "[mounts]\nro_bind = [\"/srv/child\"]\n"
                                     "[env]\npass = [\"LANGUAGE\"]\n");
    auto resolved = resolve_profile("child", {dir.path()});
    ASSERT_TRUE(resolved) << resolved.error().line();
    const Settings& s = resolved->settings;
    EXPECT_EQ(resolved->name, "child");
    EXPECT_EQ(resolved->path, child.string());
    EXPECT_EQ(resolved->chain,
              (std::vector<std::string>{child.string(), (dir.path() / "base.toml").string()}));

    EXPECT_EQ(s.hostname->value, "child");
    expect_profile_origin(s.hostname->origin, child.string(), 3);
    // Set only by the parent: kept, with the parent's origin.
    EXPECT_EQ(s.network->value, NetMode::kHost);
    expect_profile_origin(s.network->origin, (dir.path() / "base.toml").string(), 3);

    ASSERT_EQ(s.binds.size(), 2U);
    EXPECT_EQ(s.binds[0].source, "/srv/base");
    EXPECT_EQ(s.binds[1].source, "/srv/child");
    ASSERT_EQ(s.env_pass.size(), 2U);
    EXPECT_EQ(s.env_pass[0].value, "TZ");
    EXPECT_EQ(s.env_pass[1].value, "LANGUAGE");
}

TEST(ResolveProfile, EnvSetMergesWithTheChildWinningByName) {
    TempDir dir;
    dir.write("base.toml", "[env.set]\nKEEP = \"base\"\nOVERRIDE = \"base\"\n");
    const fs::path child = dir.write(
        "child.toml", "extends = \"base\"\n[env.set]\nOVERRIDE = \"child\"\nNEW = \"c\"\n");
    auto resolved = resolve_profile("child", {dir.path()});
    ASSERT_TRUE(resolved) << resolved.error().line();

    auto env = build_environment(resolved->settings, HostContext{});
    ASSERT_TRUE(env) << env.error().line();
    ASSERT_NE(find_env(*env, "KEEP"), nullptr);
    EXPECT_EQ(find_env(*env, "KEEP")->value, "base");
    ASSERT_NE(find_env(*env, "OVERRIDE"), nullptr);
    EXPECT_EQ(find_env(*env, "OVERRIDE")->value, "child");
    expect_profile_origin(find_env(*env, "OVERRIDE")->origin, child.string(), 3);
    ASSERT_NE(find_env(*env, "NEW"), nullptr);
    EXPECT_EQ(find_env(*env, "NEW")->value, "c");
    EXPECT_EQ(std::count_if(env->begin(), env->end(),
                            [](const EnvVar& var) { return var.name == "OVERRIDE"; }),
              1);
}

TEST(ResolveProfile, ThreeLevelChainAppliesGrandparentFirst) {
    TempDir dir;
    dir.write("a.toml", "[sandbox]\nhostname = \"a\"\ntimeout = \"1m\"\n[tmpfs]\ntmp = \"1M\"\n");
    dir.write("b.toml", "extends = \"a\"\n[sandbox]\nhostname = \"b\"\ntimeout = \"2m\"\n");
    dir.write("c.toml", "extends = \"b\"\n[sandbox]\nhostname = \"c\"\n");
    auto resolved = resolve_profile("c", {dir.path()});
    ASSERT_TRUE(resolved) << resolved.error().line();
    EXPECT_EQ(resolved->chain.size(), 3U);
    EXPECT_EQ(resolved->settings.hostname->value, "c");
    EXPECT_EQ(resolved->settings.timeout->value, milliseconds(120'000));
    EXPECT_EQ(resolved->settings.tmp_size->value, kMiB);
}

TEST(ResolveProfile, CycleIsAnErrorAtTheExtendsLine) {
    TempDir dir;
    const fs::path a = dir.write("a.toml", "extends = \"b\"\n");
    const fs::path b = dir.write("b.toml", "# b goes back to a\nextends = \"a\"\n");
    auto resolved = resolve_profile("a", {dir.path()});
    ASSERT_FALSE(resolved);
    EXPECT_EQ(resolved.error().code, Errc::kProfile);
    EXPECT_EQ(
        resolved.error().line(),
        "nsbox: " + b.string() + ":2: extends: profile inheritance loops back to " + a.string());
}

TEST(ResolveProfile, SelfExtendIsACycle) {
    TempDir dir;
    const fs::path a = dir.write("a.toml", "extends = \"a\"\n");
    auto resolved = resolve_profile("a", {dir.path()});
    ASSERT_FALSE(resolved);
    EXPECT_NE(resolved.error().line().find("extends"), std::string::npos)
        << resolved.error().line();
}

TEST(ResolveProfile, MissingParentNamesTheExtendsLine) {
    TempDir dir;
    const fs::path child = dir.write("child.toml", "# comment\n\nextends = \"nonexistent\"\n");
    auto resolved = resolve_profile("child", {dir.path()});
    ASSERT_FALSE(resolved);
    EXPECT_EQ(resolved.error().code, Errc::kProfile);
    EXPECT_EQ(resolved.error().line(),
              "nsbox: " + child.string() +
                  ":3: extends: profile \"nonexistent\" not found (searched " +
                  dir.path().string() + ")");
}

TEST(ResolveProfile, ParentErrorKeepsTheParentsFileAndLine) {
    TempDir dir;
    const fs::path base = dir.write("base.toml", "[sandbox]\nnetwork = \"bridge\"\n");
    dir.write("child.toml", "extends = \"base\"\n");
    auto resolved = resolve_profile("child", {dir.path()});
    ASSERT_FALSE(resolved);
    EXPECT_EQ(resolved.error().line(), "nsbox: " + base.string() +
                                           ":2: sandbox.network: expected \"none\" or \"host\", "
                                           "got \"bridge\"");
}

TEST(ResolveProfile, RelativeExtendsPathIsRelativeToTheProfile) {
    // Like rootfs, binds and env files, a path in a profile must not depend on the caller's cwd.
    TempDir dir;
    fs::create_directory(dir.path() / "conf");
    dir.write("conf/base.toml", "[sandbox]\nhostname = \"base\"\n");
    const fs::path child = dir.write("conf/child.toml", "extends = \"base.toml\"\n");
    auto resolved = resolve_profile(child.string(), {});
    ASSERT_TRUE(resolved) << resolved.error().line();
    EXPECT_EQ(resolved->settings.hostname->value, "base");
}

TEST(ResolveProfile, NameFoundInTheFirstDirectoryThatHasIt) {
    TempDir first;
    TempDir second;
    second.write("p.toml", "[sandbox]\nhostname = \"second\"\n");
    auto resolved = resolve_profile("p", {first.path(), second.path()});
    ASSERT_TRUE(resolved) << resolved.error().line();
    EXPECT_EQ(resolved->settings.hostname->value, "second");
    first.write("p.toml", "[sandbox]\nhostname = \"first\"\n");
    resolved = resolve_profile("p", {first.path(), second.path()});
    ASSERT_TRUE(resolved) << resolved.error().line();
    EXPECT_EQ(resolved->settings.hostname->value, "first");
}

TEST(ResolveProfile, UnknownNameListsTheSearchedDirectories) {
    TempDir dir;
    auto resolved = resolve_profile("nope", {dir.path()});
    ASSERT_FALSE(resolved);
    EXPECT_EQ(resolved.error().line(),
              "nsbox: profile \"nope\" not found (searched " + dir.path().string() + ")");
}

// ---- SRC[:DST] and DST[:SIZE] ----

TEST(ParseBindArg, SourceOnlyLeavesDestEmpty) {
    auto bind = parse_bind_arg("/srv/data", false, Origin::cli());
    ASSERT_TRUE(bind) << bind.error().line();
    EXPECT_EQ(bind->source, "/srv/data");
    EXPECT_EQ(bind->dest, "");
    EXPECT_FALSE(bind->read_only);
    EXPECT_EQ(bind->origin.kind, OriginKind::kCli);
}

TEST(ParseBindArg, SourceAndDestAreSplitAtTheColon) {
    auto bind = parse_bind_arg("data:/mnt/data", true, Origin::profile("p.toml", 4));
    ASSERT_TRUE(bind) << bind.error().line();
    EXPECT_EQ(bind->source, "data");
    EXPECT_EQ(bind->dest, "/mnt/data");
    EXPECT_TRUE(bind->read_only);
    expect_profile_origin(bind->origin, "p.toml", 4);
}

TEST(ParseBindArg, RejectsEmptySourceAndRelativeOrEmptyDest) {
    struct Case {
        const char* text;
        const char* line;
    };
    const Case cases[] = {
        {"", "nsbox: expected SRC[:DST], got \"\""},
        {":/dst", "nsbox: expected SRC[:DST], got \":/dst\""},
        {"/src:", "nsbox: destination in \"/src:\" must be an absolute path"},
        {"/src:dst", "nsbox: destination in \"/src:dst\" must be an absolute path"},
    };
    for (const Case& c : cases) {
        auto bind = parse_bind_arg(c.text, false, Origin::cli());
        ASSERT_FALSE(bind) << c.text;
        EXPECT_EQ(bind.error().line(), c.line);
    }
}

TEST(ParseTmpfsArg, DestOnlyUsesTheDefaultSize) {
    auto tmpfs = parse_tmpfs_arg("/scratch", Origin::cli());
    ASSERT_TRUE(tmpfs) << tmpfs.error().line();
    EXPECT_EQ(tmpfs->dest, "/scratch");
    EXPECT_EQ(tmpfs->size, 0U);
}

TEST(ParseTmpfsArg, SizeAfterTheLastColon) {
    auto tmpfs = parse_tmpfs_arg("/scratch:64M", Origin::profile("p.toml", 2));
    ASSERT_TRUE(tmpfs) << tmpfs.error().line();
    EXPECT_EQ(tmpfs->dest, "/scratch");
    EXPECT_EQ(tmpfs->size, 64 * kMiB);
    expect_profile_origin(tmpfs->origin, "p.toml", 2);
}

TEST(ParseTmpfsArg, RejectsBadSizesAndRelativeDestinations) {
    struct Case {
        const char* text;
        const char* line;
    };
    const Case cases[] = {
        {"/scratch:lots",
         "nsbox: expected DST[:SIZE] with a size such as \"64M\", got \"/scratch:lots\""},
        {"/scratch:0",
         "nsbox: expected DST[:SIZE] with a size such as \"64M\", got \"/scratch:0\""},
        {"/scratch:", "nsbox: expected DST[:SIZE] with a size such as \"64M\", got \"/scratch:\""},
        {"scratch", "nsbox: tmpfs destination in \"scratch\" must be an absolute path"},
        {"", "nsbox: tmpfs destination in \"\" must be an absolute path"},
        {":64M", "nsbox: tmpfs destination in \":64M\" must be an absolute path"},
    };
    for (const Case& c : cases) {
        auto tmpfs = parse_tmpfs_arg(c.text, Origin::cli());
        ASSERT_FALSE(tmpfs) << c.text;
        EXPECT_EQ(tmpfs.error().line(), c.line);
    }
}

}  // namespace
}  // namespace nsbox
