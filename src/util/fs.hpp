// Small filesystem helpers for parent-side code: whole-file reads with a size cap, checked
// writes, and O_CLOEXEC opens that report errno as an Error.
#pragma once

#include <filesystem>
#include <string>

#include "nsbox/result.hpp"
#include "nsbox/unique_fd.hpp"

namespace nsbox::util {

// Reads a regular file of at most `max_bytes`. Errors: "No such file or directory",
// "not a regular file", "larger than N bytes" (message() gives the reason without the path).
Result<std::string> read_small_file(const std::filesystem::path& file, std::size_t max_bytes);

// Writes all of `data` to `fd`, retrying on EINTR and short writes.
Result<void> write_all(int fd, std::string_view data, Step step, const std::string& what);

Result<UniqueFd> open_fd(const std::string& path, int flags, Step step, mode_t mode = 0);

}  // namespace nsbox::util
