// Unit tests for the security layers' pure parts: the seccomp policy builder (groups, names,
// conditions, profile edits), the compiled program's shape (architecture and x32 checks, the
// supervisor's errno table) and the Landlock ruleset plan.
#include "nsbox/security.hpp"

#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#include <cerrno>
#include <random>

#include "nsbox/validate.hpp"
#include "security/landlock.hpp"
#include "security/seccomp_compile.hpp"
#include "security/seccomp_policy.hpp"

namespace nsbox::security {
namespace {

Spec default_spec() {
    Spec spec;
    spec.seccomp_action = {SeccompAction::kErrno, Origin::builtin()};
    spec.landlock = {LandlockMode::kAuto, Origin::builtin()};
    spec.network = {NetMode::kNone, Origin::builtin()};
    spec.workspace_mode = {WorkspaceMode::kOverlay, Origin::builtin()};
    spec.workspace_dest = {kWorkspaceDir, Origin::builtin()};
    return spec;
}

Sourced<std::string> from_profile(std::string name, int line = 7) {
    return {std::move(name), Origin::profile("/p/edit.toml", line)};
}

SeccompPolicy policy_for(const Spec& spec) {
    auto policy = build_policy(spec, is_syscall);
    EXPECT_TRUE(policy) << (policy ? "" : policy.error().line());
    return policy ? *policy : SeccompPolicy{};
}

Verdict verdict_of(const SeccompPolicy& policy, std::string_view name) {
    const SyscallRule* rule = policy.find(name);
    EXPECT_NE(rule, nullptr) << name;
    return rule ? rule->verdict : Verdict::kAllow;
}

// ---- the default policy ----

TEST(SeccompPolicy, DeniesEveryCallTheThreatModelNames) {
    const SeccompPolicy policy = policy_for(default_spec());
    for (const char* name : {"io_uring_setup",
                             "io_uring_enter",
                             "io_uring_register",
                             "bpf",
                             "userfaultfd",
                             "perf_event_open",
                             "keyctl",
                             "add_key",
                             "request_key",
                             "ptrace",
                             "process_vm_readv",
                             "process_vm_writev",
                             "kexec_load",
                             "kexec_file_load",
                             "init_module",
                             "finit_module",
                             "delete_module",
                             "mount",
                             "fsopen",
                             "fsmount",
                             "fsconfig",
                             "fspick",
                             "move_mount",
                             "open_tree",
                             "mount_setattr",
                             "umount2",
                             "pivot_root",
                             "chroot",
                             "setns",
                             "open_by_handle_at",
                             "name_to_handle_at",
                             "swapon",
                             "swapoff",
                             "reboot",
                             "acct",
                             "quotactl",
                             "clock_settime",
                             "clock_adjtime",
                             "adjtimex",
                             "settimeofday",
                             "syslog",
                             "pidfd_getfd",
                             "kcmp",
                             "iopl",
                             "ioperm",
                             "modify_ldt"}) {
        EXPECT_EQ(verdict_of(policy, name), Verdict::kDeny) << name;
        EXPECT_EQ(policy.find(name)->err, EPERM) << name;
    }
}

TEST(SeccompPolicy, ArgumentCheckedCallsAreConditional) {
    const SeccompPolicy policy = policy_for(default_spec());
    const std::pair<const char*, Condition> expected[] = {
        {"clone", Condition::kNoNamespaceFlags},
        {"unshare", Condition::kNoNamespaceFlags},
        {"personality", Condition::kDefaultPersonality},
        {"ioctl", Condition::kNoTerminalInjection},
        {"socket", Condition::kInternetFamilies}};
    for (const auto& [name, condition] : expected) {
        ASSERT_EQ(verdict_of(policy, name), Verdict::kConditional) << name;
        EXPECT_EQ(policy.find(name)->condition, condition) << name;
    }
    EXPECT_EQ(policy.find("socket")->err, EAFNOSUPPORT);
}

TEST(SeccompPolicy, Clone3IsUnimplementedSoGlibcFallsBackToCheckableClone) {
    const SeccompPolicy policy = policy_for(default_spec());
    EXPECT_EQ(verdict_of(policy, "clone3"), Verdict::kNotImplemented);
    EXPECT_EQ(policy.find("clone3")->err, ENOSYS);
}

TEST(SeccompPolicy, WhatPythonNeedsIsAllowed) {
    const SeccompPolicy policy = policy_for(default_spec());
    for (const char* name : {"read",
                             "write",
                             "openat",
                             "mmap",
                             "mprotect",
                             "futex",
                             "execve",
                             "wait4",
                             "pipe2",
                             "socketpair",
                             "sched_getaffinity",
                             "getrandom",
                             "rseq",
                             "prlimit64",
                             "statx",
                             "shmget",
                             "memfd_create",
                             "eventfd2",
                             "epoll_pwait",
                             "sendmsg",
                             "recvmsg",
                             "seccomp",
                             "landlock_create_ruleset",
                             "close_range",
                             "faccessat2",
                             "pidfd_open",
                             "mbind"}) {
        EXPECT_EQ(verdict_of(policy, name), Verdict::kAllow) << name;
    }
}

TEST(SeccompPolicy, UnlistedCallsAreAbsentAndSoFailAsUnimplemented) {
    const SeccompPolicy policy = policy_for(default_spec());
    EXPECT_EQ(policy.find("vmsplice_nonexistent"), nullptr);
    EXPECT_EQ(policy.find("lookup_dcookie")->verdict, Verdict::kDeny);
    EXPECT_EQ(policy.find("nfsservctl")->verdict, Verdict::kDeny);
}

TEST(SeccompPolicy, RulesAreSortedAndUnique) {
    const SeccompPolicy policy = policy_for(default_spec());
    for (std::size_t i = 1; i < policy.rules.size(); ++i)
        EXPECT_LT(policy.rules[i - 1].name, policy.rules[i].name);
}

#if defined(__x86_64__)
TEST(SeccompPolicy, EveryNameIsASystemCallOfThisArchitecture) {
    for (const SyscallRule& rule : policy_for(default_spec()).rules)
        EXPECT_TRUE(is_syscall(rule.name)) << rule.name;
}
#endif

TEST(SeccompPolicy, GroupsNameTheirMembers) {
    EXPECT_TRUE(is_group("@mount"));
    EXPECT_TRUE(is_group("@kernel"));
    EXPECT_TRUE(is_group("@privileged"));
    EXPECT_FALSE(is_group("@nonsense"));
    for (const SyscallGroup& group : syscall_groups()) {
        EXPECT_TRUE(group.name.starts_with("@")) << group.name;
        EXPECT_FALSE(group.description.empty()) << group.name;
        EXPECT_FALSE(group.members.empty()) << group.name;
    }
}

// ---- profile edits ----

TEST(SeccompPolicy, AllowByNameLiftsADenial) {
    Spec spec = default_spec();
    spec.seccomp_allow = {from_profile("ptrace")};
    const SeccompPolicy policy = policy_for(spec);
    EXPECT_EQ(verdict_of(policy, "ptrace"), Verdict::kAllow);
    EXPECT_EQ(verdict_of(policy, "process_vm_readv"), Verdict::kDeny);
    EXPECT_EQ(policy.name, "default+profile");
}

TEST(SeccompPolicy, AllowAGroupLiftsItsConditionsToo) {
    Spec spec = default_spec();
    spec.seccomp_allow = {from_profile("@namespace")};
    const SeccompPolicy policy = policy_for(spec);
    EXPECT_EQ(verdict_of(policy, "setns"), Verdict::kAllow);
    EXPECT_EQ(verdict_of(policy, "unshare"), Verdict::kAllow);
    EXPECT_EQ(verdict_of(policy, "clone"), Verdict::kAllow);
}

TEST(SeccompPolicy, DenyByNameRefusesAnAllowedCall) {
    Spec spec = default_spec();
    spec.seccomp_deny = {from_profile("memfd_create")};
    const SeccompPolicy policy = policy_for(spec);
    EXPECT_EQ(verdict_of(policy, "memfd_create"), Verdict::kDeny);
    EXPECT_EQ(policy.find("memfd_create")->err, EPERM);
}

TEST(SeccompPolicy, DenyAGroupKeepsConditionalMembersUsable) {
    Spec spec = default_spec();
    spec.seccomp_allow = {from_profile("@namespace", 3)};
    spec.seccomp_deny = {from_profile("@debug", 4)};
    const SeccompPolicy policy = policy_for(spec);
    EXPECT_EQ(verdict_of(policy, "ptrace"), Verdict::kDeny);

    Spec again = default_spec();
    again.seccomp_deny = {from_profile("@namespace")};
    EXPECT_EQ(verdict_of(policy_for(again), "clone"), Verdict::kConditional);
}

TEST(SeccompPolicy, UnknownGroupNamesFileLineAndKey) {
    Spec spec = default_spec();
    spec.seccomp_deny = {from_profile("@networking", 12)};
    auto policy = build_policy(spec, is_syscall);
    ASSERT_FALSE(policy);
    EXPECT_EQ(policy.error().line(),
              "nsbox: /p/edit.toml:12: seccomp.deny: unknown group \"@networking\"");
}

TEST(SeccompPolicy, UnknownSystemCallIsAnError) {
    Spec spec = default_spec();
    spec.seccomp_allow = {from_profile("ptrace_all_the_things", 5)};
    auto policy = build_policy(spec, is_syscall);
    ASSERT_FALSE(policy);
    EXPECT_EQ(policy.error().line(),
              "nsbox: /p/edit.toml:5: seccomp.allow: \"ptrace_all_the_things\" is not a system "
              "call on this machine");
}

TEST(SeccompPolicy, ANameBothAllowedAndDeniedIsAnError) {
    Spec spec = default_spec();
    spec.seccomp_allow = {from_profile("bpf", 3)};
    spec.seccomp_deny = {from_profile("bpf", 9)};
    auto policy = build_policy(spec, is_syscall);
    ASSERT_FALSE(policy);
    EXPECT_EQ(policy.error().line(),
              "nsbox: /p/edit.toml:9: seccomp.deny: \"bpf\" is also in seccomp.allow "
              "(/p/edit.toml:3)");
}

TEST(SeccompPolicy, KillActionIsCarried) {
    Spec spec = default_spec();
    spec.seccomp_action.value = SeccompAction::kKill;
    EXPECT_EQ(policy_for(spec).action, SeccompAction::kKill);
}

// ---- complement_masks: "every value except these" as masked equalities ----

bool covered(const std::vector<std::pair<std::uint32_t, std::uint32_t>>& masks, std::uint32_t v) {
    for (const auto& [mask, value] : masks)
        if ((v & mask) == value) return true;
    return false;
}

TEST(ComplementMasks, CoverEverythingButTheExcludedValues) {
    const std::vector<std::uint32_t> excluded = {TIOCSTI, TIOCLINUX};
    const auto masks = complement_masks(excluded);
    EXPECT_FALSE(covered(masks, TIOCSTI));
    EXPECT_FALSE(covered(masks, TIOCLINUX));
    for (std::uint32_t v = 0x5400; v < 0x5500; ++v) {
        if (v != TIOCSTI && v != TIOCLINUX) {
            EXPECT_TRUE(covered(masks, v)) << std::hex << v;
        }
    }
    std::mt19937 rng(42);
    for (int i = 0; i < 100000; ++i) {
        const std::uint32_t v = rng();
        EXPECT_EQ(covered(masks, v), v != TIOCSTI && v != TIOCLINUX) << std::hex << v;
    }
    EXPECT_LE(masks.size(), 64U);  // every one is a BPF comparison on each ioctl
}

TEST(ComplementMasks, NothingExcludedIsOneMatchAll) {
    const auto masks = complement_masks({});
    ASSERT_EQ(masks.size(), 1U);
    EXPECT_EQ(masks[0], std::make_pair(0U, 0U));
}

// ---- the compiled program ----

TEST(SeccompCompile, ProgramChecksTheArchitectureFirst) {
    auto filter = compile_filter(policy_for(default_spec()), true);
    ASSERT_TRUE(filter) << filter.error().line();
    ASSERT_GE(filter->program.size(), 4U);
    EXPECT_LE(filter->program.size(), static_cast<std::size_t>(BPF_MAXINSNS));
    // Load seccomp_data.arch, compare with the native AUDIT_ARCH.
    EXPECT_EQ(filter->program[0].code, BPF_LD | BPF_W | BPF_ABS);
    EXPECT_EQ(filter->program[0].k, 4U);
    EXPECT_EQ(filter->program[1].code, BPF_JMP | BPF_JEQ | BPF_K);
#if defined(__x86_64__)
    EXPECT_EQ(filter->program[1].k, static_cast<std::uint32_t>(AUDIT_ARCH_X86_64));
#elif defined(__aarch64__)
    EXPECT_EQ(filter->program[1].k, static_cast<std::uint32_t>(AUDIT_ARCH_AARCH64));
#endif
}

#if defined(__x86_64__)
TEST(SeccompCompile, X32SystemCallsAreRefusedAsAnotherAbi) {
    auto filter = compile_filter(policy_for(default_spec()), true);
    ASSERT_TRUE(filter);
    bool x32_check = false;
    for (const sock_filter& insn : filter->program)
        x32_check |= insn.code == (BPF_JMP | BPF_JGE | BPF_K) && insn.k == 0x40000000U;
    EXPECT_TRUE(x32_check);
}
#endif

TEST(SeccompCompile, SupervisorAnswersWithThePolicysErrno) {
    auto filter = compile_filter(policy_for(default_spec()), true);
    ASSERT_TRUE(filter);
    EXPECT_TRUE(filter->notify);
    EXPECT_EQ(filter->errno_for(SYS_ptrace), EPERM);
    EXPECT_EQ(filter->errno_for(SYS_bpf), EPERM);
    EXPECT_EQ(filter->errno_for(SYS_socket), EAFNOSUPPORT);
    EXPECT_EQ(filter->errno_for(SYS_clone), EPERM);
    EXPECT_EQ(filter->errno_for(1000), ENOSYS);
    EXPECT_EQ(filter->errno_for(-1), ENOSYS);
}

TEST(SeccompCompile, WithoutNotificationTheProgramFailsCallsItself) {
    auto counted = compile_filter(policy_for(default_spec()), true);
    auto direct = compile_filter(policy_for(default_spec()), false);
    ASSERT_TRUE(counted);
    ASSERT_TRUE(direct);
    auto has_return = [](const CompiledFilter& f, std::uint32_t action) {
        for (const sock_filter& insn : f.program)
            if (insn.code == (BPF_RET | BPF_K) && insn.k == action) return true;
        return false;
    };
    EXPECT_TRUE(has_return(*counted, 0x7fc00000U));  // SECCOMP_RET_USER_NOTIF
    EXPECT_FALSE(has_return(*direct, 0x7fc00000U));
    EXPECT_TRUE(has_return(*direct, 0x00050000U | EPERM));  // SECCOMP_RET_ERRNO | EPERM
}

TEST(SeccompCompile, NamesRoundTripIncludingCallsNewerThanLibseccomp) {
    EXPECT_EQ(syscall_number("ptrace"), SYS_ptrace);
    EXPECT_EQ(syscall_name(SYS_ptrace), "ptrace");
    EXPECT_EQ(syscall_number("fchmodat2"), 452);
    EXPECT_EQ(syscall_name(452), "fchmodat2");
    EXPECT_FALSE(syscall_number("not_a_syscall"));
    EXPECT_EQ(syscall_name(100000), "syscall-100000");
}

TEST(SeccompCompile, PfcRenderingNamesTheDeniedCalls) {
    auto text = render_filter_pfc(policy_for(default_spec()), false);
    ASSERT_TRUE(text);
    EXPECT_NE(text->find("\"ptrace\""), std::string::npos);
    EXPECT_NE(text->find("ERRNO(1)"), std::string::npos);
}

// ---- Landlock planning ----

const LandlockRule* rule_for(const LandlockPlan& plan, const std::string& path) {
    for (const LandlockRule& rule : plan.rules)
        if (rule.path == path) return &rule;
    return nullptr;
}

TEST(LandlockPlan, WritableOnlyWhereTheSandboxHasWritableMounts) {
    Spec spec = default_spec();
    spec.binds = {{"/host/data", "/data", true, Origin::cli()},
                  {"/host/out", "/out", false, Origin::cli()}};
    spec.tmpfs = {{"/scratch", 1 << 20, Origin::cli()}};
    auto plan = plan_landlock(spec, 6, "");
    ASSERT_TRUE(plan);
    constexpr std::uint64_t kWriteFile = 1ULL << 1;
    constexpr std::uint64_t kMakeReg = 1ULL << 8;
    ASSERT_NE(rule_for(*plan, "/"), nullptr);
    EXPECT_EQ(rule_for(*plan, "/")->access & (kWriteFile | kMakeReg), 0U);
    for (const char* path : {"/tmp", "/dev/shm", kSandboxHome, kWorkspaceDir, "/out", "/scratch"}) {
        ASSERT_NE(rule_for(*plan, path), nullptr) << path;
        EXPECT_NE(rule_for(*plan, path)->access & kMakeReg, 0U) << path;
    }
    EXPECT_EQ(rule_for(*plan, "/data"), nullptr);
    EXPECT_EQ(plan->state, "ABI 6");
}

TEST(LandlockPlan, ReadOnlyWorkspaceGetsNoWriteRule) {
    Spec spec = default_spec();
    spec.workspace_mode.value = WorkspaceMode::kReadOnly;
    auto plan = plan_landlock(spec, 3, "");
    ASSERT_TRUE(plan);
    EXPECT_EQ(rule_for(*plan, kWorkspaceDir), nullptr);
}

TEST(LandlockPlan, TcpIsRefusedOnlyWithTheNetworkOff) {
    Spec spec = default_spec();
    EXPECT_EQ(plan_landlock(spec, 4, "")->handled_net, 3U);
    EXPECT_EQ(plan_landlock(spec, 3, "")->handled_net, 0U);  // ABI 3 has no network rules
    spec.landlock_allow_tcp.value = true;
    EXPECT_EQ(plan_landlock(spec, 6, "")->handled_net, 0U);
    spec.landlock_allow_tcp.value = false;
    spec.network.value = NetMode::kHost;
    EXPECT_EQ(plan_landlock(spec, 6, "")->handled_net, 0U);
}

TEST(LandlockPlan, ScopingNeedsAbi6) {
    const Spec spec = default_spec();
    EXPECT_EQ(plan_landlock(spec, 5, "")->scoped, 0U);
    EXPECT_EQ(plan_landlock(spec, 6, "")->scoped, 3U);
}

TEST(LandlockPlan, HandledRightsFollowTheAbi) {
    const Spec spec = default_spec();
    EXPECT_EQ(plan_landlock(spec, 1, "")->handled_fs, (1ULL << 13) - 1);
    EXPECT_EQ(plan_landlock(spec, 2, "")->handled_fs, (1ULL << 14) - 1);
    EXPECT_EQ(plan_landlock(spec, 3, "")->handled_fs, (1ULL << 15) - 1);
    EXPECT_EQ(plan_landlock(spec, 5, "")->handled_fs, (1ULL << 16) - 1);
}

TEST(LandlockPlan, UnavailableIsANoteUnlessRequired) {
    Spec spec = default_spec();
    auto plan = plan_landlock(spec, 0, "this kernel is built without Landlock");
    ASSERT_TRUE(plan);
    EXPECT_EQ(plan->abi, 0);
    EXPECT_EQ(plan->state, "unavailable (this kernel is built without Landlock)");
    spec.landlock.value = LandlockMode::kRequired;
    auto required = plan_landlock(spec, 0, "this kernel is built without Landlock");
    ASSERT_FALSE(required);
    EXPECT_NE(required.error().line().find("landlock.mode is \"required\""), std::string::npos);
}

TEST(LandlockPlan, OffMeansOff) {
    Spec spec = default_spec();
    spec.landlock.value = LandlockMode::kOff;
    auto plan = plan_landlock(spec, 7, "");
    ASSERT_TRUE(plan);
    EXPECT_EQ(plan->abi, 0);
    EXPECT_TRUE(plan->rules.empty());
}

}  // namespace
}  // namespace nsbox::security
