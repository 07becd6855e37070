// Log level state and the single stderr writer.
#include "util/log.hpp"

#include <unistd.h>

#include <string>

namespace nsbox::log {
namespace {
Level g_level = Level::kWarn;
}  // namespace

void set_level(Level new_level) noexcept { g_level = new_level; }
Level level() noexcept { return g_level; }

void write(Level message_level, std::string_view message) {
    std::string line = "nsbox: ";
    if (message_level == Level::kWarn) line += "warning: ";
    line.append(message);
    line += '\n';
    // One write(2) per line so lines from concurrent sandboxes do not interleave.
    (void)!::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace nsbox::log
