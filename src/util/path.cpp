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

}  // namespace nsbox::util
