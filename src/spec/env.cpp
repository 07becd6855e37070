// The payload's environment: an allowlist built from defaults, profile and command line.
#include <fmt/core.h>

#include <algorithm>

#include "nsbox/dotenv.hpp"
#include "nsbox/validate.hpp"

namespace nsbox {
namespace {

bool valid_name(std::string_view name) {
    if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '_';
    });
}

void put(std::vector<EnvVar>& env, EnvVar var) {
    for (EnvVar& existing : env) {
        if (existing.name == var.name) {
            existing = std::move(var);
            return;
        }
    }
    env.push_back(std::move(var));
}

// Where an env error is reported: the profile line, or the flag that introduced it.
Error env_error(const Origin& origin, const std::string& flag, const std::string& name,
                const std::string& what) {
    if (origin.kind == OriginKind::kProfile)
        return Error::profile(origin.file, origin.line, name, what);
    return Error::usage(fmt::format("{} {}: {}", flag, name, what));
}

std::vector<EnvVar> builtin_environment(const HostContext& host) {
    const Origin builtin = Origin::builtin();
    std::vector<EnvVar> env = {
        {"PATH", "/usr/local/bin:/usr/bin:/bin", builtin},
        {"HOME", kSandboxHome, builtin},
        {"USER", kSandboxUser, builtin},
        {"LOGNAME", kSandboxUser, builtin},
        {"LANG", "C.UTF-8", builtin},
        {"LC_ALL", "C.UTF-8", builtin},
    };
    if (host.terminal_attached) {
        if (auto term = host.environment.find("TERM"); term != host.environment.end())
            env.push_back({"TERM", term->second, Origin::builtin("a terminal is attached")});
    }
    return env;
}

Result<void> apply_layer(std::vector<EnvVar>& env, const Settings& settings,
                         const HostContext& host, OriginKind layer) {
    for (const auto& file : settings.env_files) {
        if (file.origin.kind != layer) continue;
        auto entries = load_dotenv(file.value);
        if (!entries) return fail(entries.error());
        for (EnvEntry& entry : *entries)
            put(env, {entry.name, std::move(entry.value), Origin::profile(file.value, entry.line)});
    }
    for (const auto& name : settings.env_pass) {
        if (name.origin.kind != layer) continue;
        if (!valid_name(name.value))
            return fail(env_error(name.origin, "--pass-env", name.value, "invalid variable name"));
        if (auto it = host.environment.find(name.value); it != host.environment.end())
            put(env, {name.value, it->second, name.origin});
    }
    for (const EnvVar& var : settings.env_set) {
        if (var.origin.kind != layer) continue;
        if (!valid_name(var.name))
            return fail(env_error(var.origin, "--setenv", var.name, "invalid variable name"));
        if (var.value.find('\0') != std::string::npos)
            return fail(env_error(var.origin, "--setenv", var.name, "value contains a NUL byte"));
        put(env, var);
    }
    return {};
}

}  // namespace

Result<std::vector<EnvVar>> build_environment(const Settings& settings, const HostContext& host) {
    std::vector<EnvVar> env = builtin_environment(host);
    for (OriginKind layer : {OriginKind::kDefault, OriginKind::kProfile, OriginKind::kCli}) {
        if (auto r = apply_layer(env, settings, host, layer); !r) return fail(r.error());
    }
    return env;
}

}  // namespace nsbox
