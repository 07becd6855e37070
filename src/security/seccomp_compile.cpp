// Parent side: SeccompPolicy -> BPF with libseccomp (see seccomp_compile.hpp).
#include "security/seccomp_compile.hpp"

#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "nsbox/unique_fd.hpp"
#include "security/seccomp_cache.hpp"

namespace nsbox::security {
namespace {

// System calls added after libseccomp 2.5.4's table. From 424 on, every architecture nsbox
// builds for shares one numbering (asm-generic's unified table).
struct NewSyscall {
    std::string_view name;
    int nr;
};
constexpr NewSyscall kNewSyscalls[] = {
    {"futex_waitv", 449},       {"set_mempolicy_home_node", 450},
    {"cachestat", 451},         {"fchmodat2", 452},
    {"map_shadow_stack", 453},  {"futex_wake", 454},
    {"futex_wait", 455},        {"futex_requeue", 456},
    {"statmount", 457},         {"listmount", 458},
    {"lsm_get_self_attr", 459}, {"lsm_set_self_attr", 460},
    {"lsm_list_modules", 461},  {"mseal", 462},
    {"setxattrat", 463},        {"getxattrat", 464},
    {"listxattrat", 465},       {"removexattrat", 466},
    {"open_tree_attr", 467},    {"file_getattr", 468},
    {"file_setattr", 469},
#if defined(__x86_64__)
    {"uretprobe", 335},
#endif
};

// The highest system call number the errno table covers; numbers above get ENOSYS.
constexpr int kMaxTableNr = 1024;

constexpr scmp_datum_t kCloneNamespaceFlags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS |
                                              CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
                                              CLONE_NEWNET;
// CLONE_NEWTIME shares its bit with clone()'s exit-signal byte, so it is checked for unshare only.
constexpr scmp_datum_t kUnshareNamespaceFlags = kCloneNamespaceFlags | 0x80;
constexpr scmp_datum_t kLow32 = 0xffffffffULL;
constexpr scmp_datum_t kPersonalityQuery = 0xffffffffULL;

struct CtxDeleter {
    void operator()(void* ctx) const noexcept { seccomp_release(ctx); }
};
using Ctx = std::unique_ptr<void, CtxDeleter>;

Error lib_error(int rc, const std::string& what) {
    return Error::system(Step::kPlan, -rc, "seccomp: " + what);
}

std::uint32_t deny_action(const SeccompPolicy& policy, bool notify, int err) {
    if (notify) return SCMP_ACT_NOTIFY;
    if (policy.action == SeccompAction::kKill) return SCMP_ACT_KILL_PROCESS;
    return SCMP_ACT_ERRNO(static_cast<std::uint16_t>(err));
}

// Allow rules for the safe argument forms; deny rules for the dangerous forms seccomp can name
// (the rest falls to the default action, which the supervisor answers with the rule's errno).
Result<void> add_conditional(scmp_filter_ctx ctx, const SyscallRule& rule, int nr,
                             std::uint32_t deny, std::uint32_t fallback) {
    auto add = [&](std::uint32_t action, scmp_arg_cmp cmp) -> Result<void> {
        if (action == fallback) return {};
        const int rc = seccomp_rule_add_exact_array(ctx, action, nr, 1, &cmp);
        if (rc != 0) return fail(lib_error(rc, "rule for " + rule.name));
        return {};
    };
    switch (rule.condition) {
        case Condition::kNoNamespaceFlags: {
            const scmp_datum_t mask =
                rule.name == "unshare" ? kUnshareNamespaceFlags : kCloneNamespaceFlags;
            if (auto r = add(SCMP_ACT_ALLOW, SCMP_A0(SCMP_CMP_MASKED_EQ, mask, 0)); !r) return r;
            for (scmp_datum_t bit = 1; bit != 0 && bit <= mask; bit <<= 1) {
                if ((mask & bit) == 0) continue;
                if (auto r = add(deny, SCMP_A0(SCMP_CMP_MASKED_EQ, bit, bit)); !r) return r;
            }
            return {};
        }
        case Condition::kDefaultPersonality:
            // The kernel takes an unsigned int: the upper half of the register is ignored.
            if (auto r = add(SCMP_ACT_ALLOW, SCMP_A0(SCMP_CMP_MASKED_EQ, kLow32, 0)); !r) return r;
            return add(SCMP_ACT_ALLOW, SCMP_A0(SCMP_CMP_MASKED_EQ, kLow32, kPersonalityQuery));
        case Condition::kNoTerminalInjection:
            // The request is an int: only its low 32 bits count, whatever the caller put above.
            for (const auto& [mask, value] : complement_masks({TIOCSTI, TIOCLINUX}))
                if (auto r = add(SCMP_ACT_ALLOW, SCMP_A1(SCMP_CMP_MASKED_EQ, mask, value)); !r)
                    return r;
            if (auto r = add(deny, SCMP_A1(SCMP_CMP_MASKED_EQ, kLow32, TIOCSTI)); !r) return r;
            return add(deny, SCMP_A1(SCMP_CMP_MASKED_EQ, kLow32, TIOCLINUX));
        case Condition::kInternetFamilies:
            for (const scmp_datum_t family : {AF_UNIX, AF_INET, AF_INET6})
                if (auto r = add(SCMP_ACT_ALLOW, SCMP_A0(SCMP_CMP_EQ, family, 0)); !r) return r;
            return {};
        case Condition::kNone:
            break;
    }
    return {};
}

// The supervisor's answer table and the rule count; no libseccomp filter needed.
void fill_tables(const SeccompPolicy& policy, CompiledFilter& out) {
    out.errno_by_nr.assign(kMaxTableNr, ENOSYS);
    for (const SyscallRule& rule : policy.rules) {
        const auto nr = syscall_number(rule.name);
        if (!nr) continue;  // not a call on this architecture
        ++out.rule_count;
        if (*nr >= 0 && *nr < kMaxTableNr)
            out.errno_by_nr[static_cast<std::size_t>(*nr)] = static_cast<std::int16_t>(rule.err);
    }
}

Result<Ctx> build_ctx(const SeccompPolicy& policy, bool notify) {
    const bool kill = policy.action == SeccompAction::kKill;
    const std::uint32_t fallback =
        notify ? SCMP_ACT_NOTIFY : (kill ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_ERRNO(ENOSYS));
    Ctx ctx{seccomp_init(fallback)};
    if (!ctx) return fail(Error::system(Step::kPlan, ENOMEM, "seccomp: create a filter"));
    // Calls from another ABI (i386 int 0x80, x32) are answered as a kernel without that ABI
    // would, or kill under the kill action; libseccomp checks the x32 bit for x86_64 itself.
    const std::uint32_t bad_arch = kill ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_ERRNO(ENOSYS);
    if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, bad_arch); rc != 0)
        return fail(lib_error(rc, "set the bad-architecture action"));
    // A binary search over ~350 calls instead of a linear scan: every system call pays for it.
    (void)seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2);
    for (const SyscallRule& rule : policy.rules) {
        const auto nr = syscall_number(rule.name);
        if (!nr) continue;  // not a call on this architecture
        const std::uint32_t deny = deny_action(policy, notify, rule.err);
        int rc = 0;
        switch (rule.verdict) {
            case Verdict::kAllow:
                rc = seccomp_rule_add_exact(ctx.get(), SCMP_ACT_ALLOW, *nr, 0);
                break;
            case Verdict::kNotImplemented:
                if (SCMP_ACT_ERRNO(ENOSYS) != fallback)
                    rc = seccomp_rule_add_exact(ctx.get(), SCMP_ACT_ERRNO(ENOSYS), *nr, 0);
                break;
            case Verdict::kDeny:
                // libseccomp refuses a rule that repeats the default action; the default
                // already denies this call then.
                if (deny != fallback) rc = seccomp_rule_add_exact(ctx.get(), deny, *nr, 0);
                break;
            case Verdict::kConditional:
                if (auto r = add_conditional(ctx.get(), rule, *nr, deny, fallback); !r)
                    return fail(r.error());
                break;
        }
        if (rc != 0) return fail(lib_error(rc, "rule for " + rule.name));
    }
    return ctx;
}

Result<std::string> read_all(int fd) {
    std::string data;
    if (::lseek(fd, 0, SEEK_SET) != 0) return fail(Error::from_errno(Step::kPlan, "seccomp: seek"));
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) return fail(Error::from_errno(Step::kPlan, "seccomp: read the program"));
        if (n == 0) return data;
        data.append(buf, static_cast<std::size_t>(n));
    }
}

Result<UniqueFd> scratch_memfd() {
    UniqueFd fd{static_cast<int>(::syscall(SYS_memfd_create, "nsbox-seccomp", MFD_CLOEXEC))};
    if (!fd) return fail(Error::from_errno(Step::kPlan, "seccomp: memfd_create"));
    return fd;
}

}  // namespace

int CompiledFilter::errno_for(int nr) const noexcept {
    if (nr < 0 || static_cast<std::size_t>(nr) >= errno_by_nr.size()) return ENOSYS;
    return errno_by_nr[static_cast<std::size_t>(nr)];
}

bool notify_supported() {
    seccomp_notif_sizes sizes{};
    return ::syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) == 0;
}

std::optional<int> syscall_number(std::string_view name) {
    for (const NewSyscall& s : kNewSyscalls)
        if (s.name == name) return s.nr;
    const int nr = seccomp_syscall_resolve_name(std::string(name).c_str());
    if (nr < 0) return std::nullopt;  // __NR_SCMP_ERROR, or a pseudo-number of another arch
    return nr;
}

std::string syscall_name(int nr) {
    for (const NewSyscall& s : kNewSyscalls)
        if (s.nr == nr) return std::string(s.name);
    char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
    if (!name) return "syscall-" + std::to_string(nr);
    std::string out = name;
    std::free(name);
    return out;
}

bool is_syscall(std::string_view name) { return syscall_number(name).has_value(); }

Result<CompiledFilter> compile_filter(const SeccompPolicy& policy, bool notify) {
    CompiledFilter out;
    out.notify = notify;
    out.action = policy.action;
    out.policy_name = policy.name;
    fill_tables(policy, out);
    const std::string key = filter_cache_key(policy, notify);
    const std::optional<std::string> cache = filter_cache_dir();
    if (cache) {
        if (auto program = load_cached_filter(*cache, key)) {
            out.program = std::move(*program);
            return out;
        }
    }
    auto ctx = build_ctx(policy, notify);
    if (!ctx) return fail(ctx.error());
    // libseccomp 2.5 exports only to a file descriptor.
    auto memfd = scratch_memfd();
    if (!memfd) return fail(memfd.error());
    if (int rc = seccomp_export_bpf(ctx->get(), memfd->get()); rc != 0)
        return fail(lib_error(rc, "export the program"));
    auto bytes = read_all(memfd->get());
    if (!bytes) return fail(bytes.error());
    if (bytes->empty() || bytes->size() % sizeof(sock_filter) != 0)
        return fail(Error::system(Step::kPlan, EINVAL, "seccomp: malformed program"));
    if (bytes->size() / sizeof(sock_filter) > BPF_MAXINSNS)
        return fail(Error::system(Step::kPlan, E2BIG, "seccomp: the program is too long"));
    out.program.resize(bytes->size() / sizeof(sock_filter));
    std::memcpy(out.program.data(), bytes->data(), bytes->size());
    if (cache) store_cached_filter(*cache, key, out.program);
    return out;
}

Result<std::string> render_filter_pfc(const SeccompPolicy& policy, bool notify) {
    auto ctx = build_ctx(policy, notify);
    if (!ctx) return fail(ctx.error());
    auto memfd = scratch_memfd();
    if (!memfd) return fail(memfd.error());
    if (int rc = seccomp_export_pfc(ctx->get(), memfd->get()); rc != 0)
        return fail(lib_error(rc, "export the program"));
    return read_all(memfd->get());
}

}  // namespace nsbox::security
