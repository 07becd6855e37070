// Profiles: TOML files that configure a sandbox (profiles/*.toml documents every key).
//
// A profile names a parent with `extends = "NAME"`; settings are merged parent first, so the
// child wins on scalars and appends to lists. Unknown keys are errors: a typo must never
// silently weaken a sandbox.
//
// Search order for a NAME (a value containing '/' or ending in ".toml" is a path instead):
// $XDG_CONFIG_HOME/nsbox/profiles (~/.config if unset), /etc/nsbox/profiles, the share dir
// next to the running binary (build tree or installed prefix), the configured install dir.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "nsbox/result.hpp"
#include "nsbox/spec.hpp"

namespace nsbox {

struct Profile {
    std::string path;
    std::string extends;  // empty: no parent
    int extends_line = 0;
    Settings settings;
};

// Parses profile text; `file` names the profile in errors and anchors relative paths.
Result<Profile> parse_profile(std::string_view text, const std::string& file);
Result<Profile> load_profile(const std::filesystem::path& file);

struct ResolvedProfile {
    std::string name;                // as asked for
    std::string path;                // the file that was loaded
    std::vector<std::string> chain;  // files, most derived first
    Settings settings;               // merged along the extends chain
};

std::vector<std::filesystem::path> profile_search_dirs();
Result<std::filesystem::path> find_profile(std::string_view name_or_path,
                                           const std::vector<std::filesystem::path>& dirs);
Result<ResolvedProfile> resolve_profile(std::string_view name_or_path,
                                        const std::vector<std::filesystem::path>& dirs);

// "SRC[:DST]" and "DST[:SIZE]" as used by --bind/--ro-bind/--tmpfs and the [mounts] table.
// On failure the returned string says what is wrong (the caller adds the location).
Result<BindSpec> parse_bind_arg(std::string_view text, bool read_only, const Origin& origin);
Result<TmpfsSpec> parse_tmpfs_arg(std::string_view text, const Origin& origin);

// Applies `overlay` on top of `base`: set scalars replace, lists append.
void merge_settings(Settings& base, const Settings& overlay);

}  // namespace nsbox
