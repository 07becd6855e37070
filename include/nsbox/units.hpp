// Parsing of human sizes ("512M", "1.5G") and durations ("1.5s", "2m", "250ms").
// Pure functions; on failure they return std::nullopt and the caller names the key.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nsbox {

// Binary units: K=1024 ... T. A bare number is bytes. Fractions are allowed ("1.5G").
std::optional<std::uint64_t> parse_size(std::string_view text);
// Units ms, s, m, h; a bare number is seconds. "0" means zero.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// A whole number ("256"); no units, signs or fractions.
std::optional<std::uint64_t> parse_count(std::string_view text);
// CPUs as a decimal ("1.5", "0.25") in thousandths of a CPU; at most three decimals count.
std::optional<std::uint64_t> parse_cpus(std::string_view text);

std::string format_size(std::uint64_t bytes);
// Rounded for people: "228M", "1.4G", "512K" (one decimal below 10).
std::string format_size_rounded(std::uint64_t bytes);
std::string format_cpus(std::uint64_t milli);
std::string format_duration(std::chrono::milliseconds duration);

}  // namespace nsbox
