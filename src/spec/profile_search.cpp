// Finding profiles by name, following `extends` chains, and parsing mount arguments.
#include <fmt/core.h>
#include <unistd.h>

#include <cstdlib>
#include <system_error>

#include "nsbox/profile.hpp"
#include "nsbox/units.hpp"
#include "spec/embedded_profile.hpp"
#include "util/path.hpp"

namespace nsbox {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxExtendsDepth = 16;

}  // namespace

std::vector<fs::path> profile_search_dirs() {
    return util::config_search_dirs("profiles", NSBOX_INSTALL_PROFILE_DIR);
}

Result<fs::path> find_profile(std::string_view name_or_path, const std::vector<fs::path>& dirs) {
    if (name_or_path.empty()) return fail(Error::usage("empty profile name"));
    if (util::looks_like_toml_path(name_or_path)) {
        std::error_code ec;
        const fs::path path(name_or_path);
        if (!fs::exists(path, ec))
            return fail(Error::profile(path.string(), 0, {}, "profile not found"));
        return path;
    }
    std::string searched;
    for (const fs::path& dir : dirs) {
        const fs::path candidate = dir / (std::string(name_or_path) + ".toml");
        std::error_code ec;
        if (fs::is_regular_file(candidate, ec)) return candidate;
        searched += (searched.empty() ? "" : ", ") + dir.string();
    }
    return fail(Error::usage(
        fmt::format("profile \"{}\" not found (searched {})", name_or_path, searched)));
}

Result<ResolvedProfile> resolve_profile(std::string_view name_or_path,
                                        const std::vector<fs::path>& dirs) {
    ResolvedProfile resolved;
    resolved.name = std::string(name_or_path);
    std::vector<Profile> chain;
    std::string next(name_or_path);
    std::string asked_from;  // "file:line" of the extends that named `next`
    fs::path relative_to;    // a relative extends path is relative to the profile naming it
    while (!next.empty()) {
        if (!relative_to.empty() && util::looks_like_toml_path(next) && next.front() != '/')
            next = (relative_to / next).lexically_normal().string();
        auto path = find_profile(next, dirs);
        if (!path && next == "default") {
            auto builtin = parse_profile(kEmbeddedDefaultProfile, kEmbeddedDefaultName);
            if (!builtin) return fail(builtin.error());
            resolved.chain.push_back(kEmbeddedDefaultName);
            next = builtin->extends;
            chain.push_back(std::move(*builtin));
            continue;
        }
        if (!path) {
            if (asked_from.empty()) return fail(path.error());
            // A name search already says where it looked; a path does not.
            const std::string what = path.error().code == Errc::kUsage
                                         ? path.error().what
                                         : fmt::format("profile \"{}\" not found", next);
            return fail(Error::profile(asked_from, 0, "extends", what));
        }
        const std::string canonical = fs::weakly_canonical(*path).string();
        for (const std::string& seen : resolved.chain) {
            if (seen == canonical)
                return fail(Error::profile(asked_from, 0, "extends",
                                           "profile inheritance loops back to " + canonical));
        }
        if (static_cast<int>(chain.size()) >= kMaxExtendsDepth)
            return fail(Error::profile(asked_from, 0, "extends", "profile inheritance too deep"));
        auto profile = load_profile(*path);
        if (!profile) return fail(profile.error());
        resolved.chain.push_back(canonical);
        next = profile->extends;
        asked_from = profile->path + ":" + std::to_string(profile->extends_line);
        relative_to = fs::absolute(*path).parent_path();
        chain.push_back(std::move(*profile));
    }
    resolved.path = chain.front().path;
    for (auto it = chain.rbegin(); it != chain.rend(); ++it)
        merge_settings(resolved.settings, it->settings);
    return resolved;
}

Result<BindSpec> parse_bind_arg(std::string_view text, bool read_only, const Origin& origin) {
    const auto colon = text.find(':');
    BindSpec spec;
    spec.source = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) spec.dest = std::string(text.substr(colon + 1));
    if (spec.source.empty())
        return fail(Error::usage(fmt::format("expected SRC[:DST], got \"{}\"", text)));
    if (colon != std::string_view::npos && (spec.dest.empty() || spec.dest.front() != '/'))
        return fail(
            Error::usage(fmt::format("destination in \"{}\" must be an absolute path", text)));
    spec.read_only = read_only;
    spec.origin = origin;
    return spec;
}

Result<TmpfsSpec> parse_tmpfs_arg(std::string_view text, const Origin& origin) {
    TmpfsSpec spec;
    spec.origin = origin;
    const auto colon = text.rfind(':');
    spec.dest = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) {
        const auto size = parse_size(text.substr(colon + 1));
        if (!size || *size == 0)
            return fail(
                Error::usage(fmt::format("expected DST[:SIZE] with a size such as "
                                         "\"64M\", got \"{}\"",
                                         text)));
        spec.size = *size;
    }
    if (spec.dest.empty() || spec.dest.front() != '/')
        return fail(
            Error::usage(fmt::format("tmpfs destination in \"{}\" must be an absolute "
                                     "path",
                                     text)));
    return spec;
}

}  // namespace nsbox
