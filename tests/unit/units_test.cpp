// Unit tests for human sizes and durations (parse_size, parse_duration and their formatters).
#include "nsbox/units.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace nsbox {
namespace {

using std::chrono::milliseconds;

constexpr std::uint64_t kKiB = 1024;
constexpr std::uint64_t kMiB = kKiB * 1024;
constexpr std::uint64_t kGiB = kMiB * 1024;
constexpr std::uint64_t kTiB = kGiB * 1024;

TEST(ParseSize, SuffixesAreBinaryUnits) {
    EXPECT_EQ(parse_size("512M"), 512 * kMiB);
    EXPECT_EQ(parse_size("64K"), 64 * kKiB);
    EXPECT_EQ(parse_size("2G"), 2 * kGiB);
    EXPECT_EQ(parse_size("1T"), kTiB);
}

TEST(ParseSize, BareNumberIsBytes) { EXPECT_EQ(parse_size("4096"), 4096U); }

TEST(ParseSize, FractionsScaleByTheUnit) { EXPECT_EQ(parse_size("1.5G"), 1536 * kMiB); }

TEST(ParseSize, IecAndByteSpellingsMeanTheSameUnit) {
    // "1Gi", "2GB" and lower case are common in docs and other tools' flags; all are binary here.
    EXPECT_EQ(parse_size("1Gi"), kGiB);
    EXPECT_EQ(parse_size("1GiB"), kGiB);
    EXPECT_EQ(parse_size("2GB"), 2 * kGiB);
    EXPECT_EQ(parse_size("256m"), 256 * kMiB);
}

TEST(ParseSize, RejectsMalformedText) {
    for (const char* bad : {"", "lots", "-1", "1X", "1.2.3", "M", "1MM", "1 parsec", "1iB"}) {
        EXPECT_EQ(parse_size(bad), std::nullopt) << '"' << bad << '"';
    }
}

TEST(ParseSize, RejectsValuesThatOverflow64Bits) {
    EXPECT_EQ(parse_size("99999999T"), std::nullopt);
}

TEST(ParseDuration, UnitsAreMillisecondsSecondsMinutesHours) {
    EXPECT_EQ(parse_duration("250ms"), milliseconds(250));
    EXPECT_EQ(parse_duration("2m"), milliseconds(120'000));
    EXPECT_EQ(parse_duration("1h"), milliseconds(3'600'000));
    EXPECT_EQ(parse_duration("30s"), milliseconds(30'000));
}

TEST(ParseDuration, FractionalSecondsBecomeMilliseconds) {
    EXPECT_EQ(parse_duration("1.5s"), milliseconds(1500));
}

TEST(ParseDuration, BareNumberIsSeconds) {
    EXPECT_EQ(parse_duration("3"), milliseconds(3000));
    EXPECT_EQ(parse_duration("0"), milliseconds(0));
}

TEST(ParseDuration, RejectsMalformedText) {
    for (const char* bad : {"", "5 parsecs", "-1s", "s", "1d", "1.2.3s", "ms"}) {
        EXPECT_EQ(parse_duration(bad), std::nullopt) << '"' << bad << '"';
    }
}

TEST(FormatSize, UsesTheLargestExactUnit) {
    EXPECT_EQ(format_size(512 * kMiB), "512M");
    EXPECT_EQ(format_size(1536 * kMiB), "1536M");
    EXPECT_EQ(format_size(4096), "4K");
    EXPECT_EQ(format_size(1000), "1000");
    EXPECT_EQ(format_size(0), "0");
    EXPECT_EQ(format_size(3 * kTiB), "3T");
}

TEST(FormatSize, RoundTripsThroughParseSize) {
    for (std::uint64_t bytes : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{4095}, 4 * kKiB,
                                1536 * kMiB, kGiB, 5 * kTiB, 1024 * kTiB}) {
        EXPECT_EQ(parse_size(format_size(bytes)), bytes) << format_size(bytes);
    }
}

TEST(FormatDuration, UsesTheLargestExactUnit) {
    EXPECT_EQ(format_duration(milliseconds(1500)), "1500ms");
    EXPECT_EQ(format_duration(milliseconds(30'000)), "30s");
    EXPECT_EQ(format_duration(milliseconds(120'000)), "2m");
    EXPECT_EQ(format_duration(milliseconds(3'600'000)), "1h");
    EXPECT_EQ(format_duration(milliseconds(90'000)), "90s");
    EXPECT_EQ(format_duration(milliseconds(0)), "0s");
}

TEST(FormatDuration, RoundTripsThroughParseDuration) {
    for (std::int64_t ms : {0, 1, 250, 1500, 30'000, 90'000, 120'000, 3'600'000, 5'400'000}) {
        const milliseconds duration(ms);
        EXPECT_EQ(parse_duration(format_duration(duration)), duration) << format_duration(duration);
    }
}

}  // namespace
}  // namespace nsbox
