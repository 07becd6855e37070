// Leveled logging to stderr with the "nsbox: " prefix. Parent side only: nothing logs in the
// child between clone and exec.
#pragma once

#include <fmt/core.h>

#include <string_view>

namespace nsbox::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void set_level(Level level) noexcept;
[[nodiscard]] Level level() noexcept;
void write(Level level, std::string_view message);

template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
    if (level() <= Level::kDebug) write(Level::kDebug, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
    if (level() <= Level::kInfo) write(Level::kInfo, fmt::format(f, std::forward<Args>(args)...));
}
// Progress of slow work (a rootfs build, a requirements layer): shown unless -q.
template <class... Args>
void progress(fmt::format_string<Args...> f, Args&&... args) {
    if (level() <= Level::kWarn) write(Level::kInfo, fmt::format(f, std::forward<Args>(args)...));
}

template <class... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
    if (level() <= Level::kWarn) write(Level::kWarn, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace nsbox::log
