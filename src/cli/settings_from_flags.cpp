// Flags -> Settings (see settings_from_flags.hpp). Relative paths stay relative here;
// validation resolves them against the caller's working directory.
#include "cli/settings_from_flags.hpp"

#include <fmt/core.h>

#include "nsbox/profile.hpp"
#include "nsbox/units.hpp"

namespace nsbox::cli {
namespace {

template <class T>
Sourced<T> from_cli(T value) {
    return Sourced<T>{std::move(value), Origin::cli()};
}

Result<void> add_mounts(const RunOptions& o, Settings& s) {
    for (const auto* list : {&o.binds, &o.ro_binds}) {
        const bool ro = list == &o.ro_binds;
        for (const std::string& arg : *list) {
            auto bind = parse_bind_arg(arg, ro, Origin::cli());
            if (!bind)
                return fail(Error::usage(
                    fmt::format("{}: {}", ro ? "--ro-bind" : "--bind", bind.error().what)));
            s.binds.push_back(*bind);
        }
    }
    for (const std::string& arg : o.tmpfs) {
        auto tmpfs = parse_tmpfs_arg(arg, Origin::cli());
        if (!tmpfs) return fail(Error::usage("--tmpfs: " + tmpfs.error().what));
        s.tmpfs.push_back(*tmpfs);
    }
    return {};
}

Result<void> add_env(const RunOptions& o, Settings& s) {
    for (const std::string& arg : o.setenv) {
        const auto eq = arg.find('=');
        if (eq == std::string::npos || eq == 0)
            return fail(
                Error::usage(fmt::format("--setenv: expected NAME=VALUE, got \"{}\"", arg)));
        s.env_set.push_back({arg.substr(0, eq), arg.substr(eq + 1), Origin::cli()});
    }
    for (const std::string& name : o.pass_env) s.env_pass.push_back(from_cli(name));
    for (const std::string& file : o.env_files) s.env_files.push_back(from_cli(file));
    return {};
}

// A limit flag: empty means not given, "none" means no limit (0).
template <class T, class Parse>
Result<void> limit_flag(const std::string& text, const char* flag, const char* example, Parse parse,
                        std::optional<Sourced<T>>& into) {
    if (text.empty()) return {};
    if (text == "none") {
        into = from_cli(T{});
        return {};
    }
    const std::optional<T> value = parse(text);
    if (!value)
        return fail(Error::usage(
            fmt::format("{}: expected {} or \"none\", got \"{}\"", flag, example, text)));
    into = from_cli(*value);
    return {};
}

Result<void> add_limits(const RunOptions& o, Settings& s) {
    // CLI11 has already restricted --limits to the known names.
    if (auto mode = parse_limits_mode(o.limits_mode)) s.limits_mode = from_cli(*mode);
    const auto size = [](std::string_view t) { return parse_size(t); };
    const auto count = [](std::string_view t) { return parse_count(t); };
    if (auto r = limit_flag(o.memory, "--memory", "a size such as 512M", size, s.memory_limit); !r)
        return r;
    if (auto r = limit_flag(o.pids, "--pids", "a number such as 256", count, s.pids_limit); !r)
        return r;
    if (auto r = limit_flag(
            o.cpus, "--cpus", "a number of CPUs such as 1.5",
            [](std::string_view t) { return parse_cpus(t); }, s.cpus_limit);
        !r)
        return r;
    if (auto r = limit_flag(
            o.cpu_time, "--cpu-time", "a duration such as 10s",
            [](std::string_view t) { return parse_duration(t); }, s.cpu_time_limit);
        !r)
        return r;
    if (auto r = limit_flag(o.output_limit, "--output-limit", "a size such as 10M", size,
                            s.output_limit);
        !r)
        return r;
    return limit_flag(o.open_files, "--open-files", "a number such as 1024", count,
                      s.open_files_limit);
}

}  // namespace

Result<Settings> settings_from_flags(const RunOptions& o) {
    Settings s;
    if (!o.rootfs.empty()) s.rootfs = from_cli(o.rootfs);
    if (!o.requirements.empty()) s.requirements_file = from_cli(o.requirements);
    if (!o.find_links.empty()) s.find_links = from_cli(o.find_links);
    if (o.no_index) s.no_index = from_cli(true);
    if (!o.hostname.empty()) s.hostname = from_cli(o.hostname);
    if (!o.workspace_at.empty()) s.workspace_at = from_cli(o.workspace_at);
    // CLI11 has already restricted both values to the known names.
    if (auto net = parse_net_mode(o.net)) s.network = from_cli(*net);
    if (auto mode = parse_workspace_mode(o.workspace_mode)) s.workspace_mode = from_cli(*mode);
    if (!o.timeout.empty()) {
        const auto timeout = parse_duration(o.timeout);
        if (!timeout)
            return fail(Error::usage(fmt::format(
                "--timeout: expected a duration such as 1.5s or 2m, got \"{}\"", o.timeout)));
        s.timeout = from_cli(*timeout);
    }
    if (auto r = add_mounts(o, s); !r) return fail(r.error());
    if (auto r = add_env(o, s); !r) return fail(r.error());
    if (auto r = add_limits(o, s); !r) return fail(r.error());
    return s;
}

}  // namespace nsbox::cli
