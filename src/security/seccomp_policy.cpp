// The default seccomp policy's tables and the profile allow/deny logic (pure).
#include "security/seccomp_policy.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cerrno>
#include <map>

namespace nsbox::security {
namespace {

// What CPython, its C extensions (numpy/OpenBLAS, ssl, sqlite3, ctypes), multiprocessing,
// subprocess, a shell and coreutils call. Names that do not exist on this architecture are
// skipped when compiling. Calls that need a capability the payload never has (setns, mount, ...)
// are not here: they are denied by name below, so that their denial is reported.
constexpr std::string_view kAllowed[] = {
    "accept",
    "accept4",
    "access",
    "alarm",
    "arch_prctl",
    "bind",
    "brk",
    "cachestat",
    "capget",
    "capset",
    "chdir",
    "chmod",
    "chown",
    "clock_getres",
    "clock_gettime",
    "clock_nanosleep",
    "close",
    "close_range",
    "connect",
    "copy_file_range",
    "creat",
    "dup",
    "dup2",
    "dup3",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_wait",
    "eventfd",
    "eventfd2",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "faccessat",
    "faccessat2",
    "fadvise64",
    "fallocate",
    "fanotify_mark",
    "fchdir",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "fchown",
    "fchownat",
    "fcntl",
    "fdatasync",
    "fgetxattr",
    "flistxattr",
    "flock",
    "fork",
    "fremovexattr",
    "fsetxattr",
    "fstat",
    "fstatfs",
    "fsync",
    "ftruncate",
    "futex",
    "futex_requeue",
    "futex_wait",
    "futex_waitv",
    "futex_wake",
    "futimesat",
    "get_mempolicy",
    "get_robust_list",
    "get_thread_area",
    "getcpu",
    "getcwd",
    "getdents",
    "getdents64",
    "getegid",
    "geteuid",
    "getgid",
    "getgroups",
    "getitimer",
    "getpeername",
    "getpgid",
    "getpgrp",
    "getpid",
    "getppid",
    "getpriority",
    "getrandom",
    "getresgid",
    "getresuid",
    "getrlimit",
    "getrusage",
    "getsid",
    "getsockname",
    "getsockopt",
    "gettid",
    "gettimeofday",
    "getuid",
    "getxattr",
    "getxattrat",
    "inotify_add_watch",
    "inotify_init",
    "inotify_init1",
    "inotify_rm_watch",
    "io_cancel",
    "io_destroy",
    "io_getevents",
    "io_pgetevents",
    "io_setup",
    "io_submit",
    "ioprio_get",
    "ioprio_set",
    "kill",
    "landlock_add_rule",
    "landlock_create_ruleset",
    "landlock_restrict_self",
    "lchown",
    "lgetxattr",
    "link",
    "linkat",
    "listen",
    "listxattr",
    "listxattrat",
    "llistxattr",
    "lremovexattr",
    "lseek",
    "lsetxattr",
    "lsm_get_self_attr",
    "lsm_list_modules",
    "lstat",
    "madvise",
    "map_shadow_stack",
    "mbind",
    "membarrier",
    "memfd_create",
    "mincore",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "mlock",
    "mlock2",
    "mlockall",
    "mmap",
    "mprotect",
    "mq_getsetattr",
    "mq_notify",
    "mq_open",
    "mq_timedreceive",
    "mq_timedsend",
    "mq_unlink",
    "mremap",
    "mseal",
    "msgctl",
    "msgget",
    "msgrcv",
    "msgsnd",
    "msync",
    "munlock",
    "munlockall",
    "munmap",
    "nanosleep",
    "newfstatat",
    "open",
    "openat",
    "openat2",
    "pause",
    "pidfd_open",
    "pidfd_send_signal",
    "pipe",
    "pipe2",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    "poll",
    "ppoll",
    "prctl",
    "pread64",
    "preadv",
    "preadv2",
    "prlimit64",
    "process_mrelease",
    "pselect6",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "read",
    "readahead",
    "readlink",
    "readlinkat",
    "readv",
    "recvfrom",
    "recvmmsg",
    "recvmsg",
    "remap_file_pages",
    "removexattr",
    "removexattrat",
    "rename",
    "renameat",
    "renameat2",
    "restart_syscall",
    "rmdir",
    "rseq",
    "rt_sigaction",
    "rt_sigpending",
    "rt_sigprocmask",
    "rt_sigqueueinfo",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_tgsigqueueinfo",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_getaffinity",
    "sched_getattr",
    "sched_getparam",
    "sched_getscheduler",
    "sched_rr_get_interval",
    "sched_setaffinity",
    "sched_setattr",
    "sched_setparam",
    "sched_setscheduler",
    "sched_yield",
    "seccomp",
    "select",
    "semctl",
    "semget",
    "semop",
    "semtimedop",
    "sendfile",
    "sendmmsg",
    "sendmsg",
    "sendto",
    "set_mempolicy",
    "set_mempolicy_home_node",
    "set_robust_list",
    "set_thread_area",
    "set_tid_address",
    "setfsgid",
    "setfsuid",
    "setgid",
    "setgroups",
    "setitimer",
    "setpgid",
    "setpriority",
    "setregid",
    "setresgid",
    "setresuid",
    "setreuid",
    "setrlimit",
    "setsid",
    "setsockopt",
    "setuid",
    "setxattr",
    "setxattrat",
    "shmat",
    "shmctl",
    "shmdt",
    "shmget",
    "shutdown",
    "sigaltstack",
    "signalfd",
    "signalfd4",
    "socketpair",
    "splice",
    "stat",
    "statfs",
    "statx",
    "symlink",
    "symlinkat",
    "sync",
    "sync_file_range",
    "syncfs",
    "sysinfo",
    "tee",
    "tgkill",
    "time",
    "timer_create",
    "timer_delete",
    "timer_getoverrun",
    "timer_gettime",
    "timer_settime",
    "timerfd_create",
    "timerfd_gettime",
    "timerfd_settime",
    "times",
    "tkill",
    "truncate",
    "umask",
    "uname",
    "unlink",
    "unlinkat",
    "uretprobe",
    "utime",
    "utimensat",
    "utimes",
    "vfork",
    "vmsplice",
    "wait4",
    "waitid",
    "write",
    "writev",
};

struct Member {
    std::string_view name;
    Condition condition = Condition::kNone;  // kNone: denied outright
    int err = EPERM;
};

struct Group {
    std::string_view name;
    std::string_view description;
    std::vector<Member> members;
};

// Denied by default. A member with a condition stays usable with safe arguments.
const std::vector<Group>& groups() {
    static const std::vector<Group> table = {
        {"@mount",
         "mounting and the new mount API (the payload gets its file system from nsbox)",
         {{"mount"},
          {"umount2"},
          {"pivot_root"},
          {"chroot"},
          {"fsopen"},
          {"fsconfig"},
          {"fsmount"},
          {"fspick"},
          {"move_mount"},
          {"open_tree"},
          {"open_tree_attr"},
          {"mount_setattr"},
          {"statmount"},
          {"listmount"}}},
        {"@namespace",
         "new or other namespaces: setns, and clone/unshare with CLONE_NEW* flags",
         {{"setns"},
          {"unshare", Condition::kNoNamespaceFlags},
          {"clone", Condition::kNoNamespaceFlags}}},
        {"@kernel",
         "kernel attack surface: io_uring, bpf, userfaultfd, perf events, modules, kexec, raw I/O",
         {{"io_uring_setup"},
          {"io_uring_enter"},
          {"io_uring_register"},
          {"bpf"},
          {"userfaultfd"},
          {"perf_event_open"},
          {"kexec_load"},
          {"kexec_file_load"},
          {"init_module"},
          {"finit_module"},
          {"delete_module"},
          {"create_module"},
          {"query_module"},
          {"get_kernel_syms"},
          {"lookup_dcookie"},
          {"iopl"},
          {"ioperm"},
          {"modify_ldt"},
          {"syslog"},
          {"uselib"},
          {"_sysctl"},
          {"sysfs"},
          {"ustat"},
          {"nfsservctl"},
          {"fanotify_init"},
          {"memfd_secret"},
          {"lsm_set_self_attr"}}},
        {"@keyring", "the kernel keyrings", {{"add_key"}, {"request_key"}, {"keyctl"}}},
        {"@debug",
         "tracing and reading other processes",
         {{"ptrace"},
          {"process_vm_readv"},
          {"process_vm_writev"},
          {"kcmp"},
          {"pidfd_getfd"},
          {"process_madvise"}}},
        {"@privileged",
         "system administration: reboot, swap, accounting, quotas, file handles, host names",
         {{"reboot"},
          {"swapon"},
          {"swapoff"},
          {"acct"},
          {"quotactl"},
          {"quotactl_fd"},
          {"vhangup"},
          {"open_by_handle_at"},
          {"name_to_handle_at"},
          {"sethostname"},
          {"setdomainname"}}},
        {"@clock",
         "setting the system clock",
         {{"settimeofday"}, {"clock_settime"}, {"clock_adjtime"}, {"adjtimex"}}},
        {"@personality",
         "execution domains other than the default (e.g. disabling ASLR)",
         {{"personality", Condition::kDefaultPersonality}}},
        {"@terminal",
         "injecting input into a terminal: ioctl TIOCSTI and TIOCLINUX",
         {{"ioctl", Condition::kNoTerminalInjection}}},
        {"@socket-family",
         "sockets other than AF_UNIX, AF_INET and AF_INET6 (netlink, packet, vsock, ...)",
         {{"socket", Condition::kInternetFamilies, EAFNOSUPPORT}}},
    };
    return table;
}

const Group* find_group(std::string_view name) {
    for (const Group& g : groups())
        if (g.name == name) return &g;
    return nullptr;
}

Error list_error(const Sourced<std::string>& item, const std::string& key,
                 const std::string& what) {
    if (item.origin.kind == OriginKind::kProfile)
        return Error::profile(item.origin.file, item.origin.line, key, what);
    return Error::usage(
        fmt::format("--seccomp-{}: {}", key == "seccomp.allow" ? "allow" : "deny", what));
}

using RuleMap = std::map<std::string, SyscallRule, std::less<>>;

RuleMap default_rules() {
    RuleMap rules;
    for (std::string_view name : kAllowed) rules[std::string(name)] = {std::string(name)};
    for (const Group& g : groups()) {
        for (const Member& m : g.members) {
            const Verdict verdict =
                m.condition == Condition::kNone ? Verdict::kDeny : Verdict::kConditional;
            rules[std::string(m.name)] = {std::string(m.name), verdict, m.condition, m.err};
        }
    }
    // clone3 passes its flags in memory that seccomp cannot inspect: refusing it as
    // unimplemented makes glibc fall back to clone, whose flags are checked.
    rules["clone3"] = {"clone3", Verdict::kNotImplemented, Condition::kNone, ENOSYS};
    return rules;
}

// Applies one list entry. `allow` permits unconditionally; deny refuses (a group's conditional
// members fall back to their conditional form, so `deny = ["@namespace"]` keeps fork working).
Result<void> apply_entry(RuleMap& rules, const Sourced<std::string>& item, bool allow,
                         bool (*is_syscall)(std::string_view)) {
    const std::string key = allow ? "seccomp.allow" : "seccomp.deny";
    const std::string& name = item.value;
    if (name.starts_with("@")) {
        const Group* g = find_group(name);
        if (!g) return fail(list_error(item, key, fmt::format("unknown group \"{}\"", name)));
        for (const Member& m : g->members) {
            SyscallRule& r = rules[std::string(m.name)];
            if (allow) {
                r = {std::string(m.name)};
            } else if (m.condition != Condition::kNone) {
                r = {std::string(m.name), Verdict::kConditional, m.condition, m.err};
            } else {
                r = {std::string(m.name), Verdict::kDeny, Condition::kNone, m.err};
            }
        }
        return {};
    }
    if (!is_syscall(name))
        return fail(list_error(item, key,
                               fmt::format("\"{}\" is not a system call on this machine", name)));
    rules[name] =
        allow ? SyscallRule{name} : SyscallRule{name, Verdict::kDeny, Condition::kNone, EPERM};
    return {};
}

void collect_complement(int bit, std::uint32_t mask, std::uint32_t value,
                        const std::vector<std::uint32_t>& excluded,
                        std::vector<std::pair<std::uint32_t, std::uint32_t>>& out) {
    if (excluded.empty()) {
        out.emplace_back(mask, value);
        return;
    }
    if (bit < 0) return;  // the prefix is a whole excluded value
    const std::uint32_t b = 1U << bit;
    for (const std::uint32_t set : {0U, b}) {
        std::vector<std::uint32_t> matching;
        for (const std::uint32_t v : excluded)
            if ((v & b) == set) matching.push_back(v);
        collect_complement(bit - 1, mask | b, value | set, matching, out);
    }
}

}  // namespace

std::vector<std::pair<std::uint32_t, std::uint32_t>> complement_masks(
    const std::vector<std::uint32_t>& excluded) {
    std::vector<std::pair<std::uint32_t, std::uint32_t>> out;
    collect_complement(31, 0, 0, excluded, out);
    return out;
}

const SyscallRule* SeccompPolicy::find(std::string_view wanted) const {
    auto it = std::lower_bound(rules.begin(), rules.end(), wanted,
                               [](const SyscallRule& r, std::string_view n) { return r.name < n; });
    return it != rules.end() && it->name == wanted ? &*it : nullptr;
}

const std::vector<SyscallGroup>& syscall_groups() {
    static const std::vector<SyscallGroup> table = [] {
        std::vector<SyscallGroup> out;
        for (const Group& g : groups()) {
            SyscallGroup sg{g.name, g.description, {}};
            for (const Member& m : g.members) sg.members.push_back(m.name);
            out.push_back(std::move(sg));
        }
        return out;
    }();
    return table;
}

bool is_group(std::string_view name) { return find_group(name) != nullptr; }

Result<SeccompPolicy> build_policy(const Spec& spec, bool (*is_syscall)(std::string_view)) {
    for (const auto& allowed : spec.seccomp_allow) {
        for (const auto& denied : spec.seccomp_deny) {
            if (allowed.value == denied.value)
                return fail(list_error(denied, "seccomp.deny",
                                       fmt::format("\"{}\" is also in seccomp.allow ({})",
                                                   denied.value, allowed.origin.describe())));
        }
    }
    RuleMap rules = default_rules();
    for (const auto& item : spec.seccomp_deny)
        if (auto r = apply_entry(rules, item, false, is_syscall); !r) return fail(r.error());
    for (const auto& item : spec.seccomp_allow)
        if (auto r = apply_entry(rules, item, true, is_syscall); !r) return fail(r.error());
    SeccompPolicy policy;
    policy.action = spec.seccomp_action.value;
    if (!spec.seccomp_allow.empty() || !spec.seccomp_deny.empty()) policy.name = "default+profile";
    for (auto& [name, rule] : rules) policy.rules.push_back(std::move(rule));
    return policy;
}

}  // namespace nsbox::security
