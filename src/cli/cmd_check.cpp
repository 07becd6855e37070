// `nsbox check [PROFILE]`: load and validate a profile chain; print its settings.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdio>
#include <filesystem>

#include "cli/options.hpp"
#include "nsbox/validate.hpp"

namespace nsbox::cli {

int check_command(const CheckOptions& options) {
    auto profile = resolve_profile(options.profile, profile_search_dirs());
    if (!profile) {
        std::fprintf(stderr, "%s\n", profile.error().line().c_str());
        return profile.error().exit_code();
    }
    // Validate the settings as a run in the current directory would use them.
    RunRequest request;
    request.command = {"/bin/true"};
    HostContext host;
    std::error_code ec;
    host.cwd = std::filesystem::current_path(ec).string();
    request.workspace = host.cwd;
    auto spec = build_spec(*profile, request, host);
    if (!spec) {
        std::fprintf(stderr, "%s\n", spec.error().line().c_str());
        return spec.error().exit_code();
    }
    fmt::print("{}: ok", profile->path);
    if (profile->chain.size() > 1)
        fmt::print(" (extends {})",
                   fmt::join(profile->chain.begin() + 1, profile->chain.end(), " -> "));
    fmt::print("\n");
    if (options.explain) std::fputs(render_spec(*spec).c_str(), stdout);
    return 0;
}

}  // namespace nsbox::cli
