// Parent side: Spec -> SecurityPlan, and the layer summary for --print-spec and the report.
#include "security/plan.hpp"

#include <fmt/core.h>

namespace nsbox {
namespace security {
namespace {

std::vector<std::string> namespaces_for(const Spec& spec) {
    std::vector<std::string> out = {"user", "mount", "pid", "ipc", "uts", "cgroup"};
    if (spec.network.value == NetMode::kNone) out.emplace_back("net");
    return out;
}

}  // namespace

Result<SecurityPlan> plan_security(const Spec& spec) {
    SecurityPlan plan;
    auto policy = build_policy(spec, is_syscall);
    if (!policy) return fail(policy.error());
    auto filter = compile_filter(*policy, notify_supported());
    if (!filter) return fail(filter.error());
    plan.seccomp = std::move(*filter);
    std::string why;
    const int abi = spec.landlock.value == LandlockMode::kOff ? 0 : landlock_abi(&why);
    auto landlock = plan_landlock(spec, abi, why);
    if (!landlock) return fail(landlock.error());
    plan.landlock = std::move(*landlock);
    auto caps = CapsPlan::prepare();
    if (!caps) return fail(caps.error());
    plan.caps = std::move(*caps);

    SecurityLayers& l = plan.layers;
    l.namespaces = namespaces_for(spec);
    l.seccomp_policy = plan.seccomp.policy_name;
    l.seccomp_action = std::string(seccomp_action_name(plan.seccomp.action));
    l.seccomp_rules = plan.seccomp.rule_count;
    l.seccomp_instructions = plan.seccomp.program.size();
    l.seccomp_counting = plan.seccomp.notify;
    l.landlock_abi = plan.landlock.abi;
    l.landlock = plan.landlock.state;
    l.capabilities = "none (all five sets empty, securebits locked)";
    l.no_new_privs = true;
    return plan;
}

}  // namespace security

Result<SecurityLayers> describe_security(const Spec& spec) {
    auto plan = security::plan_security(spec);
    if (!plan) return fail(plan.error());
    return std::move(plan->layers);
}

std::string render_security(const SecurityLayers& l) {
    std::string ns;
    for (const std::string& n : l.namespaces) ns += (ns.empty() ? "" : ", ") + n;
    std::string out = "# security layers on this machine\n";
    out += fmt::format("#   namespaces     {}\n", ns);
    out += fmt::format(
        "#   seccomp        policy \"{}\", {} system calls, {} BPF instructions, "
        "action {}, denials {}\n",
        l.seccomp_policy, l.seccomp_rules, l.seccomp_instructions, l.seccomp_action,
        l.seccomp_counting ? "counted" : "not counted");
    out += fmt::format("#   landlock       {}\n", l.landlock);
    out += fmt::format("#   capabilities   {}\n", l.capabilities);
    out += fmt::format("#   no_new_privs   {}\n", l.no_new_privs ? "set" : "not set");
    return out;
}

}  // namespace nsbox
