// Limit enforcement planning (see plan.hpp).
#include "limits/plan.hpp"

#include <fmt/core.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "nsbox/units.hpp"

namespace nsbox::limits {
namespace {

rlim_t clamp(rlim_t wanted, rlim_t hard) {
    return hard == RLIM_INFINITY || wanted < hard ? wanted : hard;
}

LimitStatus status(std::string key, std::string value) {
    LimitStatus s;
    s.key = std::move(key);
    s.value = std::move(value);
    return s;
}

void not_enforced(LimitStatus& s, std::string note) {
    s.enforced = false;
    s.note = std::move(note);
}

}  // namespace

bool release_counts_nproc_per_userns(std::string_view release) {
    unsigned major = 0;
    unsigned minor = 0;
    if (std::sscanf(std::string(release).c_str(), "%u.%u", &major, &minor) != 2) return false;
    return major > 5 || (major == 5 && minor >= 14);
}

HostFacts host_facts(const Limits& limits) {
    HostFacts facts;
    const bool wants_cgroup = limits.memory.value != 0 || limits.pids.value != 0 ||
                              limits.cpus.value != 0 || limits.cpu_time.value.count() != 0;
    if (wants_cgroup) facts.cgroup = find_cgroup_site();
    utsname uts{};
    facts.nproc_per_userns = ::uname(&uts) == 0 && release_counts_nproc_per_userns(uts.release);
    facts.stdout_is_terminal = ::isatty(STDOUT_FILENO) != 0;
    facts.stderr_is_terminal = ::isatty(STDERR_FILENO) != 0;
    rlimit r{};
    if (::getrlimit(RLIMIT_NOFILE, &r) == 0) facts.nofile_hard = r.rlim_max;
    if (::getrlimit(RLIMIT_NPROC, &r) == 0) facts.nproc_hard = r.rlim_max;
    if (::getrlimit(RLIMIT_CPU, &r) == 0) facts.cpu_hard = r.rlim_max;
    return facts;
}

LimitsPlan plan_limits(const Limits& limits, const HostFacts& host) {
    LimitsPlan plan;
    const std::optional<CgroupSite>& site = host.cgroup.site;
    const std::string no_cgroup = site ? std::string() : host.cgroup.cause;
    auto controller_missing = [&](const char* name) {
        return site ? fmt::format("the {} controller is not enabled in {}", name, site->parent)
                    : no_cgroup;
    };
    plan.site = site;
    plan.cgroup_cause = host.cgroup.cause;
    plan.cgroup_fix = host.cgroup.fix;
    // Core dumps would land in the sandbox's writable directories and cost time and memory.
    plan.rlimits.push_back({RLIMIT_CORE, 0, 0});

    // A limit only a cgroup controller can enforce: on the cgroup, or named as not enforced.
    auto by_controller = [&](const char* key, std::string value, bool available,
                             const char* controller, const char* mechanism, std::uint64_t& target,
                             std::uint64_t limit) {
        auto s = status(key, std::move(value));
        if (available) {
            s.enforced = true;
            s.mechanism = mechanism;
            target = limit;
        } else {
            not_enforced(s, controller_missing(controller));
        }
        plan.statuses.push_back(s);
    };
    if (limits.memory.value != 0)
        by_controller("memory", format_size(limits.memory.value), site && site->memory, "memory",
                      "cgroup memory.max (no swap, one OOM kills the sandbox)", plan.cgroup.memory,
                      limits.memory.value);
    if (limits.pids.value != 0) {
        auto s = status("pids", std::to_string(limits.pids.value));
        if (site && site->pids) {
            s.enforced = true;
            s.mechanism = "cgroup pids.max";
            plan.cgroup.pids = limits.pids.value;
        }
        // Since Linux 5.14 RLIMIT_NPROC counts the tasks of a uid within one user namespace,
        // and the sandbox has a user namespace of its own: it bounds exactly the sandbox.
        if (host.nproc_per_userns) {
            const rlim_t n = clamp(limits.pids.value, host.nproc_hard);
            plan.rlimits.push_back({RLIMIT_NPROC, n, n});
            if (!s.enforced) {
                s.enforced = true;
                s.mechanism = "RLIMIT_NPROC (counted in the sandbox's user namespace)";
            }
        } else if (!s.enforced) {
            not_enforced(s, controller_missing("pids") +
                                "; RLIMIT_NPROC counts per user namespace only from Linux 5.14");
        }
        plan.statuses.push_back(s);
    }
    if (limits.cpus.value != 0)
        by_controller("cpus", format_cpus(limits.cpus.value), site && site->cpu, "cpu",
                      "cgroup cpu.max", plan.cgroup.cpus_milli, limits.cpus.value);
    if (limits.cpu_time.value.count() != 0) {
        auto s = status("cpu_time", format_duration(limits.cpu_time.value));
        // Per process, in whole seconds: SIGXCPU at the limit, SIGKILL a second later.
        const auto seconds = static_cast<rlim_t>((limits.cpu_time.value.count() + 999) / 1000);
        plan.rlimits.push_back(
            {RLIMIT_CPU, clamp(seconds, host.cpu_hard), clamp(seconds + 1, host.cpu_hard)});
        if (site) {
            s.enforced = true;
            s.mechanism = "cgroup cpu.stat (whole sandbox), RLIMIT_CPU (each process)";
            plan.cpu_time = limits.cpu_time.value;
        } else {
            s.enforced = true;
            s.partial = true;
            s.mechanism = "RLIMIT_CPU";
            s.note =
                "per process only (RLIMIT_CPU, in whole seconds): no cgroup counts the "
                "whole sandbox, because " +
                no_cgroup;
        }
        plan.statuses.push_back(s);
    }
    if (limits.output.value != 0) {
        auto s = status("output", format_size(limits.output.value));
        plan.output_limit = limits.output.value;
        plan.relay_stdout = !host.pty && !host.stdout_is_terminal;
        plan.relay_stderr = !host.pty && !host.stderr_is_terminal;
        s.enforced = true;
        if (host.pty) {
            // Both streams are the sandbox's own terminal, which nsbox relays and counts.
            s.mechanism = "nsbox terminal relay";
        } else if (plan.relay_stdout || plan.relay_stderr) {
            s.mechanism = "nsbox output relay";
            if (!plan.relay_stdout || !plan.relay_stderr)
                s.note = fmt::format("{} is a terminal and is not counted",
                                     plan.relay_stdout ? "stderr" : "stdout");
        } else {
            // A person watching a terminal sees a flood and can stop it; pipes and files are
            // where it does harm unseen.
            s.mechanism = "none needed";
            s.note = "stdout and stderr are a terminal, which is not counted";
        }
        plan.statuses.push_back(s);
    }
    if (limits.open_files.value != 0) {
        auto s = status("open_files", std::to_string(limits.open_files.value));
        const rlim_t n = clamp(limits.open_files.value, host.nofile_hard);
        plan.rlimits.push_back({RLIMIT_NOFILE, n, n});
        s.enforced = true;
        s.mechanism = "RLIMIT_NOFILE (each process)";
        if (n != limits.open_files.value)
            s.note = fmt::format("lowered to {}, the launcher's own hard limit", n);
        plan.statuses.push_back(s);
    }
    if (!plan.cgroup.memory && !plan.cgroup.pids && !plan.cgroup.cpus_milli &&
        plan.cpu_time.count() == 0)
        plan.site.reset();
    return plan;
}

std::string unenforced_summary(const LimitsPlan& plan) {
    std::string missing;
    std::string partial;
    for (const LimitStatus& s : plan.statuses) {
        if (!s.enforced)
            missing += fmt::format("{}{} {}", missing.empty() ? "" : ", ", s.key, s.value);
        if (s.enforced && s.partial)
            partial += fmt::format("{}{} {} {}", partial.empty() ? "" : "; ", s.key, s.value,
                                   s.note.substr(0, s.note.find(" (")));
    }
    if (missing.empty() && partial.empty()) return {};
    std::string out;
    if (!missing.empty()) out = "limits not enforced: " + missing;
    if (!partial.empty()) out += (out.empty() ? "" : "; ") + partial;
    if (!plan.cgroup_cause.empty()) out += ": " + plan.cgroup_cause;
    if (!plan.cgroup_fix.empty()) out += "; to enforce them, " + plan.cgroup_fix;
    return out + " (-q silences this)";
}

Result<void> check_strict(const Limits& limits, const LimitsPlan& plan) {
    if (limits.mode.value != LimitsMode::kStrict) return {};
    for (const LimitStatus& s : plan.statuses) {
        if (s.enforced && !s.partial) continue;
        const Origin* origin = nullptr;
        for (const auto& [key, o] : {std::pair{"memory", &limits.memory.origin},
                                     {"pids", &limits.pids.origin},
                                     {"cpus", &limits.cpus.origin},
                                     {"cpu_time", &limits.cpu_time.origin},
                                     {"output", &limits.output.origin},
                                     {"open_files", &limits.open_files.origin}})
            if (s.key == key) origin = o;
        std::string fix = plan.cgroup_fix.empty() ? "" : "; " + plan.cgroup_fix;
        return fail(Error::system(
            Step::kLimits, 0,
            fmt::format("limits.mode is strict and {} {} ({}) cannot be enforced: {}{}, or use "
                        "--limits best-effort",
                        s.key, s.value, origin ? origin->describe() : "default", s.note, fix)));
    }
    return {};
}

}  // namespace nsbox::limits
