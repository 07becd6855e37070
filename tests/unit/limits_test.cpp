// Unit tests for resource limits: the planner that decides how each limit is enforced on a
// given host (cgroup, rlimit, output relay, not at all), the best-effort warning and the strict
// error, the cgroup file parsers, and the limit values' parsing and validation.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "limits/cgroup.hpp"
#include "limits/plan.hpp"
#include "limits/systemd_scope.hpp"
#include "nsbox/profile.hpp"
#include "nsbox/units.hpp"
#include "nsbox/validate.hpp"
#include "temp_dir.hpp"

namespace nsbox {
namespace {

using limits::HostFacts;
using limits::LimitsPlan;
using limits::plan_limits;
using std::chrono::milliseconds;

// The default profile's limits, each from "the profile".
Limits default_limits() {
    const Origin origin = Origin::profile("default.toml", 7);
    return Limits{
        {LimitsMode::kBestEffort, origin}, {512ULL << 20, origin}, {256, origin}, {1000, origin},
        {milliseconds{3000}, origin},      {8ULL << 20, origin},   {1024, origin}};
}

HostFacts cgroup_v1_host() {
    HostFacts host;
    host.cgroup.cause = "this host binds them to cgroup v1";
    host.cgroup.fix = "boot with the unified hierarchy";
    host.nproc_per_userns = true;
    return host;
}

HostFacts cgroup_v2_host() {
    HostFacts host;
    host.cgroup.site =
        limits::CgroupSite{"/sys/fs/cgroup", "/sys/fs/cgroup/nsbox", "test", true, true, true};
    host.nproc_per_userns = true;
    return host;
}

const LimitStatus& status_of(const LimitsPlan& plan, const std::string& key) {
    const auto it = std::find_if(plan.statuses.begin(), plan.statuses.end(),
                                 [&](const LimitStatus& s) { return s.key == key; });
    EXPECT_NE(it, plan.statuses.end()) << key;
    static const LimitStatus missing;
    return it == plan.statuses.end() ? missing : *it;
}

bool has_rlimit(const LimitsPlan& plan, int resource, rlim_t soft, rlim_t hard) {
    return std::any_of(plan.rlimits.begin(), plan.rlimits.end(), [&](const auto& r) {
        return r.resource == resource && r.soft == soft && r.hard == hard;
    });
}

// ---- planning ----

TEST(LimitsPlan, CgroupV2EnforcesEveryLimitWithItsController) {
    const LimitsPlan plan = plan_limits(default_limits(), cgroup_v2_host());
    ASSERT_TRUE(plan.site);
    EXPECT_EQ(plan.cgroup.memory, 512ULL << 20);
    EXPECT_EQ(plan.cgroup.pids, 256U);
    EXPECT_EQ(plan.cgroup.cpus_milli, 1000U);
    EXPECT_EQ(plan.cpu_time, milliseconds{3000});
    for (const LimitStatus& s : plan.statuses) {
        EXPECT_TRUE(s.enforced) << s.key;
        EXPECT_FALSE(s.partial) << s.key;
    }
    EXPECT_EQ(status_of(plan, "memory").mechanism.rfind("cgroup memory.max", 0), 0U);
    EXPECT_EQ(limits::unenforced_summary(plan), "");
}

TEST(LimitsPlan, CgroupV1HostFallsBackToRlimitsAndSaysWhatIsLeft) {
    const LimitsPlan plan = plan_limits(default_limits(), cgroup_v1_host());
    EXPECT_FALSE(plan.site);
    EXPECT_FALSE(status_of(plan, "memory").enforced);
    EXPECT_FALSE(status_of(plan, "cpus").enforced);
    EXPECT_TRUE(status_of(plan, "pids").enforced);
    EXPECT_EQ(status_of(plan, "pids").mechanism.rfind("RLIMIT_NPROC", 0), 0U);
    EXPECT_TRUE(status_of(plan, "cpu_time").partial);
    EXPECT_TRUE(has_rlimit(plan, RLIMIT_NPROC, 256, 256));
    EXPECT_TRUE(has_rlimit(plan, RLIMIT_CPU, 3, 4));
    EXPECT_TRUE(has_rlimit(plan, RLIMIT_NOFILE, 1024, 1024));
    EXPECT_TRUE(has_rlimit(plan, RLIMIT_CORE, 0, 0));
    EXPECT_EQ(limits::unenforced_summary(plan),
              "limits not enforced: memory 512M, cpus 1; cpu_time 3s per process only: this "
              "host binds them to cgroup v1; to enforce them, boot with the unified hierarchy "
              "(-q silences this)");
}

TEST(LimitsPlan, OldKernelsDoNotGetRlimitNproc) {
    HostFacts host = cgroup_v1_host();
    host.nproc_per_userns = false;  // before 5.14 RLIMIT_NPROC counts the user's host processes
    const LimitsPlan plan = plan_limits(default_limits(), host);
    EXPECT_FALSE(status_of(plan, "pids").enforced);
    EXPECT_FALSE(std::any_of(plan.rlimits.begin(), plan.rlimits.end(),
                             [](const auto& r) { return r.resource == RLIMIT_NPROC; }));
}

TEST(LimitsPlan, RlimitsNeverExceedTheLaunchersOwnHardLimits) {
    HostFacts host = cgroup_v1_host();
    host.nofile_hard = 512;
    host.cpu_hard = 2;
    const LimitsPlan plan = plan_limits(default_limits(), host);
    EXPECT_TRUE(has_rlimit(plan, RLIMIT_NOFILE, 512, 512));
    EXPECT_TRUE(has_rlimit(plan, RLIMIT_CPU, 2, 2));
    EXPECT_NE(status_of(plan, "open_files").note.find("lowered to 512"), std::string::npos);
}

TEST(LimitsPlan, CpuTimeRoundsUpToWholeSecondsForTheRlimit) {
    Limits l = default_limits();
    l.cpu_time.value = milliseconds{1500};
    EXPECT_TRUE(has_rlimit(plan_limits(l, cgroup_v1_host()), RLIMIT_CPU, 2, 3));
}

TEST(LimitsPlan, MissingControllerIsNamed) {
    HostFacts host = cgroup_v2_host();
    host.cgroup.site->memory = false;
    const LimitsPlan plan = plan_limits(default_limits(), host);
    EXPECT_FALSE(status_of(plan, "memory").enforced);
    EXPECT_EQ(status_of(plan, "memory").note,
              "the memory controller is not enabled in /sys/fs/cgroup/nsbox");
    EXPECT_EQ(plan.cgroup.memory, 0U);
    EXPECT_TRUE(status_of(plan, "pids").enforced);
}

TEST(LimitsPlan, OutputIsRelayedOnlyWhereItIsNotATerminal) {
    HostFacts host = cgroup_v2_host();
    host.stdout_is_terminal = true;
    const LimitsPlan plan = plan_limits(default_limits(), host);
    EXPECT_FALSE(plan.relay_stdout);
    EXPECT_TRUE(plan.relay_stderr);
    EXPECT_EQ(status_of(plan, "output").note, "stdout is a terminal and is not counted");
}

TEST(LimitsPlan, NoLimitsNeedNoCgroup) {
    Limits l = default_limits();
    l.memory.value = l.pids.value = l.cpus.value = 0;
    l.cpu_time.value = milliseconds{0};
    const LimitsPlan plan = plan_limits(l, cgroup_v2_host());
    EXPECT_FALSE(plan.site);
    EXPECT_EQ(plan.statuses.size(), 2U);  // output, open_files
}

TEST(LimitsPlan, StrictNamesTheLimitItsOriginTheCauseAndTheFix) {
    Limits l = default_limits();
    l.mode.value = LimitsMode::kStrict;
    const auto r = limits::check_strict(l, plan_limits(l, cgroup_v1_host()));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().line(),
              "nsbox: limits: limits.mode is strict and memory 512M (default.toml:7) cannot be "
              "enforced: this host binds them to cgroup v1; boot with the unified hierarchy, or "
              "use --limits best-effort");
    EXPECT_EQ(r.error().exit_code(), 125);
    EXPECT_TRUE(limits::check_strict(l, plan_limits(l, cgroup_v2_host())));
}

TEST(LimitsPlan, NprocCountsPerUserNamespaceFrom514) {
    EXPECT_FALSE(limits::release_counts_nproc_per_userns("5.10.0-28-amd64"));
    EXPECT_FALSE(limits::release_counts_nproc_per_userns("4.19.0"));
    EXPECT_TRUE(limits::release_counts_nproc_per_userns("5.14.0"));
    EXPECT_TRUE(limits::release_counts_nproc_per_userns("6.1.0-56-cloud-amd64"));
    EXPECT_FALSE(limits::release_counts_nproc_per_userns("garbage"));
}

// ---- cgroup files ----

TEST(CgroupParse, FindsTheCgroup2MountInMountinfo) {
    const std::string mountinfo =
        "22 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
        "31 24 0:26 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
        "32 24 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
    const auto mount = limits::parse_cgroup2_mount(mountinfo);
    ASSERT_TRUE(mount);
    EXPECT_EQ(mount->point, "/sys/fs/cgroup/unified");
    EXPECT_EQ(mount->root, "/");
    EXPECT_FALSE(limits::parse_cgroup2_mount("22 1 254:0 / / rw - ext4 /dev/vda rw\n"));
}

TEST(CgroupParse, UnifiedPathIsTheZeroLine) {
    EXPECT_EQ(limits::parse_unified_path("12:memory:/x\n0::/user.slice/u.scope\n"),
              "/user.slice/u.scope");
    EXPECT_FALSE(limits::parse_unified_path("12:memory:/x\n"));
}

TEST(CgroupParse, FlatKeysAndControllers) {
    const std::string stat = "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_throttled 3\n";
    EXPECT_EQ(limits::flat_key_value(stat, "usage_usec"), 1500U);
    EXPECT_EQ(limits::flat_key_value(stat, "user_usec"), 1000U);
    EXPECT_FALSE(limits::flat_key_value(stat, "usage"));
    EXPECT_FALSE(limits::flat_key_value(stat, "throttled_usec"));
    EXPECT_EQ(limits::parse_count_line("536870912\n"), 536870912U);
    EXPECT_FALSE(limits::parse_count_line("max\n"));
    EXPECT_TRUE(limits::lists_controller("cpuset cpu io memory pids\n", "cpu"));
    EXPECT_TRUE(limits::lists_controller("cpuset cpu io memory pids\n", "pids"));
    EXPECT_FALSE(limits::lists_controller("cpuset io memory\n", "cpu"));
    EXPECT_FALSE(limits::lists_controller("hugetlb\n", "memory"));
}

TEST(SystemdScope, HelperSitsInLibexecBesideTheBinDirectory) {
    EXPECT_EQ(limits::scope_helper_for("/usr/bin/nsbox"), "/usr/libexec/nsbox/nsbox-scope");
    EXPECT_EQ(limits::scope_helper_for("/work/build/bin/nsbox"),
              "/work/build/libexec/nsbox/nsbox-scope");
}

// ---- values ----

TEST(LimitValues, CountsAndCpus) {
    EXPECT_EQ(parse_count("256"), 256U);
    EXPECT_FALSE(parse_count("-1"));
    EXPECT_FALSE(parse_count("2.5"));
    EXPECT_FALSE(parse_count(""));
    EXPECT_EQ(parse_cpus("1.5"), 1500U);
    EXPECT_EQ(parse_cpus("0.25"), 250U);
    EXPECT_EQ(parse_cpus("2"), 2000U);
    EXPECT_FALSE(parse_cpus("two"));
    EXPECT_FALSE(parse_cpus("1.5x"));
    EXPECT_EQ(format_cpus(1500), "1.5");
    EXPECT_EQ(format_cpus(2000), "2");
    EXPECT_EQ(format_cpus(250), "0.25");
}

TEST(LimitValues, ProfileKeysTakeNumbersAndNone) {
    auto profile = parse_profile(
        "[limits]\nmode = \"strict\"\nmemory = \"2G\"\npids = 100\ncpus = 1.5\n"
        "cpu_time = \"none\"\noutput = \"10M\"\nopen_files = 4096\n",
        "p.toml");
    ASSERT_TRUE(profile) << profile.error().line();
    const Settings& s = profile->settings;
    EXPECT_EQ(s.limits_mode->value, LimitsMode::kStrict);
    EXPECT_EQ(s.memory_limit->value, 2ULL << 30);
    EXPECT_EQ(s.pids_limit->value, 100U);
    EXPECT_EQ(s.pids_limit->origin.line, 4);
    EXPECT_EQ(s.cpus_limit->value, 1500U);
    EXPECT_EQ(s.cpu_time_limit->value.count(), 0);
    EXPECT_EQ(s.output_limit->value, 10ULL << 20);
    EXPECT_EQ(s.open_files_limit->value, 4096U);
}

TEST(LimitValues, NumbersAreRejectedWhereTextIsMeant) {
    auto profile = parse_profile("[sandbox]\nhostname = 42\n", "p.toml");
    ASSERT_FALSE(profile);
    EXPECT_EQ(profile.error().line(), "nsbox: p.toml:2: sandbox.hostname: expected a string");
}

}  // namespace
}  // namespace nsbox
