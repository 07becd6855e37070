// toml++ at the edge, for the project's two TOML formats (profiles, rootfs recipes): parse
// errors become file:line Errors, and tables are walked in file order.
#pragma once

#include <toml++/toml.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nsbox/result.hpp"

namespace nsbox {

// toml++ throws on bad syntax; this converts that to "file:line: description".
Result<toml::table> parse_toml(std::string_view text, const std::string& file);

// A table's entries in the order they appear in the file (toml++ iterates alphabetically, and
// errors must name the first problem in the file).
std::vector<std::pair<const toml::key*, const toml::node*>> in_file_order(const toml::table& table);

}  // namespace nsbox
