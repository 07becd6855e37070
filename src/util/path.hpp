// Pure path and directory-location helpers, shared by the planner, validation and the CLI.
#pragma once

#include <filesystem>
#include <string>

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

}  // namespace nsbox::util
