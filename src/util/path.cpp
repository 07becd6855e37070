// Path helpers (see path.hpp).
#include "util/path.hpp"

#include <cstdlib>

namespace nsbox::util {

bool is_below(const std::string& path, const std::string& dir) {
    if (dir == "/") return path.size() > 1 && path.front() == '/';
    return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
           path[dir.size()] == '/';
}

std::filesystem::path xdg_base_dir(const char* variable, const char* fallback) {
    if (const char* value = std::getenv(variable); value && *value == '/') return value;
    if (const char* home = std::getenv("HOME"); home && *home == '/')
        return std::filesystem::path(home) / fallback;
    return {};
}

std::filesystem::path share_dir_of_executable() {
    std::error_code ec;
    const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) return {};
    return (exe.parent_path() / "../share/nsbox").lexically_normal();
}

std::vector<std::filesystem::path> config_search_dirs(const std::string& kind,
                                                      const std::string& install_dir) {
    std::vector<std::filesystem::path> dirs;
    if (const auto config = xdg_base_dir("XDG_CONFIG_HOME", ".config"); !config.empty())
        dirs.push_back(config / "nsbox" / kind);
    dirs.push_back(std::filesystem::path("/etc/nsbox") / kind);
    if (const auto share = share_dir_of_executable(); !share.empty()) dirs.push_back(share / kind);
    dirs.emplace_back(install_dir);
    return dirs;
}

bool looks_like_toml_path(std::string_view name) {
    return name.find('/') != std::string_view::npos ||
           (name.size() > 5 && name.substr(name.size() - 5) == ".toml");
}

}  // namespace nsbox::util
