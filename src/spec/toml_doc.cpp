// TOML parsing helpers (see toml_doc.hpp).
#include "spec/toml_doc.hpp"

#include <algorithm>

namespace nsbox {

Result<toml::table> parse_toml(std::string_view text, const std::string& file) {
    try {
        return toml::parse(text, file);
    } catch (const toml::parse_error& e) {  // toml++ throws; this edge converts
        return fail(Error::profile(file, static_cast<int>(e.source().begin.line), {},
                                   std::string(e.description())));
    }
}

std::vector<std::pair<const toml::key*, const toml::node*>> in_file_order(
    const toml::table& table) {
    std::vector<std::pair<const toml::key*, const toml::node*>> entries;
    for (const auto& [name, node] : table) entries.emplace_back(&name, &node);
    std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
        return a.first->source().begin < b.first->source().begin;
    });
    return entries;
}

}  // namespace nsbox
