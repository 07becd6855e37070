// Dotenv (.env) parsing for --env-file and profile env files. Pure: no environment lookups.
//
// Accepted syntax, one assignment per line:
//   NAME=value          unquoted: surrounding blanks trimmed; " #" starts a comment
//   export NAME=value   the "export " prefix is ignored
//   NAME='raw value'    single quotes: literal, no escapes
//   NAME="a\nb"         double quotes: \n \t \r \\ \" \$ escapes; may span lines
//   # comment, blank lines
// There is no ${VAR} interpolation: a value never pulls in a host variable.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "nsbox/result.hpp"

namespace nsbox {

struct EnvEntry {
    std::string name;
    std::string value;
    int line = 0;  // 1-based line of the NAME=
};

// Files larger than this are rejected rather than read.
inline constexpr std::size_t kMaxDotenvBytes = 1U << 20;

// `file` is only used to build error locations ("file:line: NAME: ...").
Result<std::vector<EnvEntry>> parse_dotenv(std::string_view text, const std::string& file);

// Reads and parses a file; errors name the file (and line and key where there is one).
Result<std::vector<EnvEntry>> load_dotenv(const std::filesystem::path& file);

}  // namespace nsbox
