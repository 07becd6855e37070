// --print-spec: the fully resolved configuration, each value with where it came from.
#include <fmt/core.h>

#include "nsbox/units.hpp"
#include "nsbox/validate.hpp"

namespace nsbox {
namespace {

std::string quoted(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out + "\"";
}

void line(std::string& out, const std::string& key, const std::string& value,
          const Origin& origin) {
    // Wide enough for env.PYTHONDONTWRITEBYTECODE; longer keys push the comment right.
    out += fmt::format("{:<28} = {:<40} # {}\n", key, value, origin.describe());
}

}  // namespace

std::string Origin::describe() const {
    switch (kind) {
        case OriginKind::kCli:
            return "command line";
        case OriginKind::kProfile:
            return line > 0 ? fmt::format("{}:{}", file, line) : file;
        case OriginKind::kDefault:
            break;
    }
    return note.empty() ? "default" : fmt::format("default ({})", note);
}

std::string render_spec(const Spec& spec) {
    std::string out = fmt::format("# profile {} ({})\n", spec.profile_name, spec.profile_path);
    line(out, "sandbox.rootfs",
         quoted(spec.rootfs_name.empty()
                    ? spec.rootfs.value
                    : fmt::format("{} ({})", spec.rootfs_name, spec.rootfs.value)),
         spec.rootfs.origin);
    if (spec.requirements) {
        const RequirementsSpec& req = *spec.requirements;
        line(out, "requirements.file", quoted(req.file), req.origin);
        if (!req.find_links.empty())
            line(out, "requirements.find_links", quoted(req.find_links), req.origin);
        line(out, "requirements.no_index", req.no_index ? "true" : "false", req.origin);
    }
    line(out, "sandbox.hostname", quoted(spec.hostname.value), spec.hostname.origin);
    line(out, "sandbox.network", quoted(std::string(net_mode_name(spec.network.value))),
         spec.network.origin);
    line(out, "sandbox.timeout",
         quoted(spec.timeout.value.count() == 0 ? "none" : format_duration(spec.timeout.value)),
         spec.timeout.origin);
    line(out, "workspace.path", quoted(spec.workspace.value), spec.workspace.origin);
    line(out, "workspace.at", quoted(spec.workspace_dest.value), spec.workspace_dest.origin);
    line(out, "workspace.mode", quoted(std::string(workspace_mode_name(spec.workspace_mode.value))),
         spec.workspace_mode.origin);
    line(out, "workspace.size", quoted(format_size(spec.workspace_size.value)),
         spec.workspace_size.origin);
    line(out, "tmpfs.tmp", quoted(format_size(spec.tmp_size.value)), spec.tmp_size.origin);
    line(out, "tmpfs.shm", quoted(format_size(spec.shm_size.value)), spec.shm_size.origin);
    line(out, "tmpfs.home", quoted(format_size(spec.home_size.value)), spec.home_size.origin);
    for (const BindSpec& bind : spec.binds) {
        line(out, bind.read_only ? "mounts.ro_bind" : "mounts.bind",
             quoted(bind.source + ":" + bind.dest), bind.origin);
    }
    for (const TmpfsSpec& tmpfs : spec.tmpfs)
        line(out, "mounts.tmpfs", quoted(tmpfs.dest + ":" + format_size(tmpfs.size)), tmpfs.origin);
    for (const EnvVar& var : spec.env) line(out, "env." + var.name, quoted(var.value), var.origin);
    line(out, "seccomp.action", quoted(std::string(seccomp_action_name(spec.seccomp_action.value))),
         spec.seccomp_action.origin);
    for (const auto& name : spec.seccomp_allow)
        line(out, "seccomp.allow", quoted(name.value), name.origin);
    for (const auto& name : spec.seccomp_deny)
        line(out, "seccomp.deny", quoted(name.value), name.origin);
    line(out, "landlock.mode", quoted(std::string(landlock_mode_name(spec.landlock.value))),
         spec.landlock.origin);
    line(out, "landlock.allow_tcp", spec.landlock_allow_tcp.value ? "true" : "false",
         spec.landlock_allow_tcp.origin);
    const Limits& limits = spec.limits;
    auto size_or_none = [](std::uint64_t v) { return v == 0 ? "none" : format_size(v); };
    auto count_or_none = [](std::uint64_t v) { return v == 0 ? "none" : std::to_string(v); };
    line(out, "limits.mode", quoted(std::string(limits_mode_name(limits.mode.value))),
         limits.mode.origin);
    line(out, "limits.memory", quoted(size_or_none(limits.memory.value)), limits.memory.origin);
    line(out, "limits.pids", quoted(count_or_none(limits.pids.value)), limits.pids.origin);
    line(out, "limits.cpus",
         quoted(limits.cpus.value == 0 ? "none" : format_cpus(limits.cpus.value)),
         limits.cpus.origin);
    line(out, "limits.cpu_time",
         quoted(limits.cpu_time.value.count() == 0 ? "none"
                                                   : format_duration(limits.cpu_time.value)),
         limits.cpu_time.origin);
    line(out, "limits.output", quoted(size_or_none(limits.output.value)), limits.output.origin);
    line(out, "limits.open_files", quoted(count_or_none(limits.open_files.value)),
         limits.open_files.origin);
    std::string argv;
    for (const std::string& arg : spec.argv) argv += (argv.empty() ? "" : ", ") + quoted(arg);
    line(out, "command", "[" + argv + "]", Origin::cli());
    if (!spec.output_dir.empty()) line(out, "output", quoted(spec.output_dir), Origin::cli());
    if (!spec.report_path.empty()) line(out, "report", quoted(spec.report_path), Origin::cli());
    return out;
}

}  // namespace nsbox
