// Size and duration parsing and formatting for profiles and the command line.
#include "nsbox/units.hpp"

#include <fmt/core.h>

#include <charconv>
#include <cmath>

namespace nsbox {
namespace {

// Splits "1.5G" into 1.5 and "G". Rejects empty numbers, signs, and trailing garbage.
std::optional<std::pair<double, std::string_view>> split_number(std::string_view text) {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
    std::size_t digits = 0;
    while (digits < text.size() &&
           ((text[digits] >= '0' && text[digits] <= '9') || text[digits] == '.'))
        ++digits;
    if (digits == 0) return std::nullopt;
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + digits, value);
    if (ec != std::errc{} || end != text.data() + digits || !std::isfinite(value))
        return std::nullopt;
    return std::make_pair(value, text.substr(digits));
}

}  // namespace

std::optional<std::uint64_t> parse_size(std::string_view text) {
    const auto parts = split_number(text);
    if (!parts) return std::nullopt;
    auto [value, unit] = *parts;
    if (!unit.empty() && (unit.back() == 'B' || unit.back() == 'b')) unit.remove_suffix(1);
    if (unit.size() == 2 && (unit[1] == 'i' || unit[1] == 'I')) unit.remove_suffix(1);
    double scale = 1;
    if (unit.size() > 1) return std::nullopt;
    if (!unit.empty()) {
        switch (unit[0]) {
            case 'k':
            case 'K':
                scale = 1024.0;
                break;
            case 'm':
            case 'M':
                scale = 1024.0 * 1024;
                break;
            case 'g':
            case 'G':
                scale = 1024.0 * 1024 * 1024;
                break;
            case 't':
            case 'T':
                scale = 1024.0 * 1024 * 1024 * 1024;
                break;
            default:
                return std::nullopt;
        }
    }
    const double bytes = value * scale;
    if (bytes >= 18e18) return std::nullopt;
    return static_cast<std::uint64_t>(bytes);
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
    const auto parts = split_number(text);
    if (!parts) return std::nullopt;
    const auto [value, unit] = *parts;
    double ms = 0;
    if (unit.empty() || unit == "s") {
        ms = value * 1000;
    } else if (unit == "ms") {
        ms = value;
    } else if (unit == "m" || unit == "min") {
        ms = value * 60'000;
    } else if (unit == "h") {
        ms = value * 3'600'000;
    } else {
        return std::nullopt;
    }
    if (ms > 1e15) return std::nullopt;
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(ms)));
}

std::optional<std::uint64_t> parse_count(std::string_view text) {
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

std::optional<std::uint64_t> parse_cpus(std::string_view text) {
    const auto parts = split_number(text);
    if (!parts || !parts->second.empty() || parts->first > 1e6) return std::nullopt;
    return static_cast<std::uint64_t>(std::llround(parts->first * 1000));
}

std::string format_cpus(std::uint64_t milli) {
    if (milli % 1000 == 0) return fmt::format("{}", milli / 1000);
    std::string text = fmt::format("{}.{:03}", milli / 1000, milli % 1000);
    while (text.back() == '0') text.pop_back();
    return text;
}

std::string format_size(std::uint64_t bytes) {
    constexpr const char* kUnits[] = {"", "K", "M", "G", "T"};
    int unit = 0;
    while (unit < 4 && bytes != 0 && bytes % 1024 == 0) {
        bytes /= 1024;
        ++unit;
    }
    return fmt::format("{}{}", bytes, kUnits[unit]);
}

std::string format_size_rounded(std::uint64_t bytes) {
    constexpr const char* kUnits[] = {"B", "K", "M", "G", "T"};
    double value = static_cast<double>(bytes);
    int unit = 0;
    while (unit < 4 && value >= 1024) {
        value /= 1024;
        ++unit;
    }
    return value < 10 && unit > 0 ? fmt::format("{:.1f}{}", value, kUnits[unit])
                                  : fmt::format("{:.0f}{}", value, kUnits[unit]);
}

std::string format_duration(std::chrono::milliseconds duration) {
    const auto ms = duration.count();
    if (ms % 1000 != 0) return fmt::format("{}ms", ms);
    const auto s = ms / 1000;
    if (s != 0 && s % 3600 == 0) return fmt::format("{}h", s / 3600);
    if (s != 0 && s % 60 == 0) return fmt::format("{}m", s / 60);
    return fmt::format("{}s", s);
}

}  // namespace nsbox
