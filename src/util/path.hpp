// Pure path and directory-location helpers, shared by the planner, validation and the CLI.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace nsbox::util {

// True when normalised absolute `path` lies strictly below directory `dir` ("/a/b" below "/a",
// not "/ab"; everything but "/" below "/").
bool is_below(const std::string& path, const std::string& dir);

// An XDG base directory: $`variable` when it is absolute, else $HOME/`fallback` (".config",
// ".local/share"); empty when neither is set.
std::filesystem::path xdg_base_dir(const char* variable, const char* fallback);

// DIR/../share/nsbox for the directory of the running binary (a build tree or an installed
// prefix); empty if /proc/self/exe cannot be read.
std::filesystem::path share_dir_of_executable();

// Where named TOML files of one kind ("profiles", "rootfs") are looked for, in order:
// $XDG_CONFIG_HOME/nsbox/KIND (~/.config if unset), /etc/nsbox/KIND, the share dir next to the
// running binary, then `install_dir`.
std::vector<std::filesystem::path> config_search_dirs(const std::string& kind,
                                                      const std::string& install_dir);

// A name that is a path to a TOML file rather than a name to search for: it has a '/' or ends
// in ".toml".
bool looks_like_toml_path(std::string_view name);

}  // namespace nsbox::util
