// JSON report rendering (nlohmann_json is used only here).
#include <fmt/chrono.h>
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "nsbox/report.hpp"

namespace nsbox {
namespace {

using nlohmann::json;

std::string iso8601(std::chrono::system_clock::time_point t) {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()) % 1000;
    return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z",
                       fmt::gmtime(std::chrono::system_clock::to_time_t(t)), ms.count());
}

json error_json(const Error& error) {
    return {{"step", std::string(step_name(error.step))},
            {"message", error.message()},
            {"errno", error.sys_errno}};
}

json security_json(const SecurityLayers& l) {
    return {{"namespaces", l.namespaces},
            {"seccomp",
             {{"policy", l.seccomp_policy},
              {"action", l.seccomp_action},
              {"syscalls", l.seccomp_rules},
              {"bpf_instructions", l.seccomp_instructions},
              {"denials_counted", l.seccomp_counting}}},
            {"landlock",
             {{"abi", l.landlock_abi > 0 ? json(l.landlock_abi) : json(nullptr)},
              {"state", l.landlock}}},
            {"capabilities", l.capabilities},
            {"no_new_privs", l.no_new_privs}};
}

json sandbox_json(const Spec& spec, const RunResult* result) {
    json namespaces = {"user", "mount", "pid", "ipc", "uts", "cgroup"};
    if (spec.network.value == NetMode::kNone) namespaces.push_back("net");
    json sandbox = {
        {"profile", spec.profile_name},
        {"profile_path", spec.profile_path},
        {"rootfs", spec.rootfs.value == "host" ? json("host") : json(spec.rootfs.value)},
        {"rootfs_kind", spec.rootfs.value == "host" ? "host"
                        : spec.rootfs_name.empty()  ? "directory"
                                                    : "prepared"},
        {"rootfs_name", spec.rootfs_name.empty() ? json(nullptr) : json(spec.rootfs_name)},
        {"requirements", spec.requirements ? json{{"file", spec.requirements->file},
                                                  {"layer", spec.rootfs_layers.empty()
                                                                ? json(nullptr)
                                                                : json(spec.rootfs_layers.front())}}
                                           : json(nullptr)},
        {"workspace", spec.workspace.value},
        {"workspace_at", spec.workspace_dest.value},
        {"workspace_mode", workspace_mode_name(spec.workspace_mode.value)},
        {"network", net_mode_name(spec.network.value)},
        {"hostname", spec.hostname.value},
        {"namespaces", namespaces},
        {"terminal", spec.use_pty ? "pty" : "inherited"},
        {"timeout_s", spec.timeout.value.count() / 1000.0},
        {"command", spec.argv},
    };
    json user = {{"uid", kSandboxUid}, {"gid", kSandboxGid}};
    if (result) {
        user["host_uid"] = result->host_uid;
        user["host_gid"] = result->host_gid;
        sandbox["setup"] = result->privileged_setup ? "privileged" : "rootless";
    }
    sandbox["user"] = user;
    if (result && !result->layers.namespaces.empty())
        sandbox["security"] = security_json(result->layers);
    return sandbox;
}

json export_json(const Spec& spec, const RunResult& result) {
    if (spec.output_dir.empty()) return nullptr;
    json out = {{"dir", spec.output_dir}};
    if (result.exported) {
        json skipped = json::array();
        for (const ExportSkip& s : result.exported->skipped)
            skipped.push_back({{"path", s.path}, {"reason", s.reason}});
        out["written"] = result.exported->written;
        out["deleted"] = result.exported->deleted;
        out["skipped"] = skipped;
        out["bytes"] = result.exported->bytes;
    }
    out["error"] = result.export_error ? json(result.export_error->message()) : json(nullptr);
    return out;
}

json denials_json(const RunResult& r) {
    json denied = json::array();
    for (const SyscallDenial& d : r.denials)
        denied.push_back({{"syscall", d.name}, {"count", d.count}});
    return {{"denied", denied},
            {"killed_by", r.seccomp_kill ? json(*r.seccomp_kill) : json(nullptr)}};
}

template <class T>
json optional_json(const std::optional<T>& value) {
    return value ? json(*value) : json(nullptr);
}

json limits_json(const RunResult& r) {
    json statuses = json::array();
    for (const LimitStatus& s : r.limits) {
        statuses.push_back({{"limit", s.key},
                            {"value", s.value},
                            {"enforced", s.enforced && !s.partial},
                            {"partial", s.partial},
                            {"mechanism", s.mechanism.empty() ? json(nullptr) : json(s.mechanism)},
                            {"note", s.note.empty() ? json(nullptr) : json(s.note)}});
    }
    json cgroup = {{"used", r.cgroup.used}};
    if (r.cgroup.used) {
        cgroup["path"] = r.cgroup.path;
        cgroup["source"] = r.cgroup.source;
    } else if (!r.cgroup.why_not.empty()) {
        cgroup["why_not"] = r.cgroup.why_not;
    }
    return {{"mode", r.limits_mode}, {"limits", statuses}, {"cgroup", cgroup}};
}

json usage_json(const ResourceUsage& u) {
    auto ms = [](const std::optional<std::uint64_t>& us) {
        return us ? json(static_cast<double>(*us) / 1000.0) : json(nullptr);
    };
    return {{"cpu_user_ms", ms(u.cpu_user_us)},
            {"cpu_system_ms", ms(u.cpu_system_us)},
            {"peak_memory_bytes", optional_json(u.peak_memory_bytes)},
            {"peak_memory_source",
             u.peak_memory_source.empty() ? json(nullptr) : json(u.peak_memory_source)},
            {"pids_peak", optional_json(u.pids_peak)},
            {"oom_kills", optional_json(u.oom_kills)},
            {"cpu_throttled_ms", ms(u.cpu_throttled_us)},
            {"cpu_throttled_periods", optional_json(u.cpu_throttled_periods)},
            {"output_bytes", u.output_bytes},
            {"output_truncated", u.output_truncated}};
}

void add_result(json& report, const RunResult& r, const Spec* spec) {
    report["reason"] = std::string(reason_name(r.reason));
    report["exit_code"] = r.exit_code;
    report["signal"] = r.signal != 0 ? json(r.signal) : json(nullptr);
    report["error"] = r.error ? error_json(*r.error) : json(nullptr);
    report["started_at"] = iso8601(r.started_at);
    report["ended_at"] = iso8601(r.ended_at);
    report["wall_time_s"] = std::chrono::duration<double>(r.wall_time).count();
    if (spec) report["output"] = export_json(*spec, r);
    report["seccomp"] = denials_json(r);
    report["usage"] = usage_json(r.usage);
    report["resource_limits"] = limits_json(r);
}

}  // namespace

std::string render_report(const ReportInput& in) {
    json report = {{"report_version", 1}, {"nsbox_version", NSBOX_VERSION}, {"argv", in.argv}};
    if (in.result) {
        add_result(report, *in.result, in.spec);
    } else {
        const Error* error = in.error;
        report["reason"] = "setup_error";
        report["exit_code"] = error ? error->exit_code() : kExitLauncherError;
        report["signal"] = nullptr;
        report["error"] = error ? error_json(*error) : json(nullptr);
    }
    report["sandbox"] = in.spec ? sandbox_json(*in.spec, in.result) : json(nullptr);
    return report.dump(2) + "\n";
}

}  // namespace nsbox
