// Unit tests for dotenv parsing (parse_dotenv) and env-file reading (load_dotenv).
#include "nsbox/dotenv.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

namespace nsbox {
namespace {

using Entry = std::tuple<std::string, std::string, int>;

std::vector<Entry> flatten(const std::vector<EnvEntry>& entries) {
    std::vector<Entry> out;
    for (const auto& entry : entries) out.emplace_back(entry.name, entry.value, entry.line);
    return out;
}

std::vector<Entry> parse_ok(std::string_view text) {
    auto result = parse_dotenv(text, "app.env");
    EXPECT_TRUE(result.has_value()) << result.error().line();
    return result ? flatten(*result) : std::vector<Entry>{};
}

std::string parse_error(std::string_view text) {
    auto result = parse_dotenv(text, "app.env");
    EXPECT_FALSE(result.has_value());
    return result ? std::string() : result.error().line();
}

// A path under the test temp dir that is unique per process and call, removed on scope exit.
class TempPath {
 public:
    TempPath() {
        static int counter = 0;
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        path_ = std::filesystem::path(::testing::TempDir()) /
                ("nsbox_dotenv_" + std::to_string(::getpid()) + "_" + info->name() + "_" +
                 std::to_string(counter++));
    }
    TempPath(const TempPath&) = delete;
    TempPath& operator=(const TempPath&) = delete;
    ~TempPath() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }

    [[nodiscard]] const std::filesystem::path& path() const { return path_; }

    void write(const std::string& content) const {
        std::ofstream out(path_, std::ios::binary);
        out << content;
        ASSERT_TRUE(out.good());
    }

 private:
    std::filesystem::path path_;
};

TEST(Dotenv, SimpleAssignments) {
    EXPECT_EQ(parse_ok("A=1\nB=two\n"), (std::vector<Entry>{{"A", "1", 1}, {"B", "two", 2}}));
}

TEST(Dotenv, EmptyInputHasNoEntries) {
    EXPECT_TRUE(parse_ok("").empty());
    EXPECT_TRUE(parse_ok("\n\n  \n\t\n").empty());
}

TEST(Dotenv, LastLineWithoutNewline) {
    EXPECT_EQ(parse_ok("A=1\nB=2"), (std::vector<Entry>{{"A", "1", 1}, {"B", "2", 2}}));
}

TEST(Dotenv, BlankAndCommentLinesAreSkippedButCounted) {
    EXPECT_EQ(parse_ok("# header\n\n   # indented\n\t# tab\nA=1\n   \nB=2\n"),
              (std::vector<Entry>{{"A", "1", 5}, {"B", "2", 7}}));
}

TEST(Dotenv, NamesAllowUnderscoresAndDigits) {
    EXPECT_EQ(parse_ok("_x=1\nA_1_b=2\n"), (std::vector<Entry>{{"_x", "1", 1}, {"A_1_b", "2", 2}}));
}

TEST(Dotenv, ExportPrefixIsIgnored) {
    EXPECT_EQ(parse_ok("export A=1\nexport\tB=2\n  export   C = 3\n"),
              (std::vector<Entry>{{"A", "1", 1}, {"B", "2", 2}, {"C", "3", 3}}));
}

TEST(Dotenv, VariableNamedExport) {
    EXPECT_EQ(parse_ok("export=1\nexport = 2\nexportX=3\n"),
              (std::vector<Entry>{{"export", "1", 1}, {"export", "2", 2}, {"exportX", "3", 3}}));
}

TEST(Dotenv, BlanksAroundEqualsAndValueAreTrimmed) {
    EXPECT_EQ(parse_ok("  A \t=  hello world \t\n"), (std::vector<Entry>{{"A", "hello world", 1}}));
}

TEST(Dotenv, EmptyValues) {
    EXPECT_EQ(
        parse_ok("A=\nB=   \nC=''\nD=\"\"\nE= # nothing\n"),
        (std::vector<Entry>{{"A", "", 1}, {"B", "", 2}, {"C", "", 3}, {"D", "", 4}, {"E", "", 5}}));
}

TEST(Dotenv, InlineCommentNeedsPrecedingBlank) {
    EXPECT_EQ(parse_ok("A=b # comment\nB=b#not\nC=http://h/#frag\nD=#x\nE=x\t# tab comment\n"),
              (std::vector<Entry>{{"A", "b", 1},
                                  {"B", "b#not", 2},
                                  {"C", "http://h/#frag", 3},
                                  {"D", "#x", 4},
                                  {"E", "x", 5}}));
}

TEST(Dotenv, QuotesInsideUnquotedValueAreLiteral) {
    EXPECT_EQ(parse_ok("A=it's\nB=say \"hi\"\n"),
              (std::vector<Entry>{{"A", "it's", 1}, {"B", "say \"hi\"", 2}}));
}

TEST(Dotenv, SingleQuotedIsLiteral) {
    EXPECT_EQ(parse_ok("A='  a\\nb $HOME # not a comment \"x\" '\n"),
              (std::vector<Entry>{{"A", "  a\\nb $HOME # not a comment \"x\" ", 1}}));
}

TEST(Dotenv, DoubleQuotedKeepsInnerBlanksAndHash) {
    EXPECT_EQ(parse_ok("A=\"  x # y  \"\n"), (std::vector<Entry>{{"A", "  x # y  ", 1}}));
}

TEST(Dotenv, DoubleQuotedEscapes) {
    EXPECT_EQ(parse_ok(R"(A="n\nt\tr\rb\\q\"d\$")"),
              (std::vector<Entry>{{"A", "n\nt\tr\rb\\q\"d$", 1}}));
}

TEST(Dotenv, UnknownEscapeKeepsBothCharacters) {
    EXPECT_EQ(parse_ok(R"(A="\q C:\path \'")"), (std::vector<Entry>{{"A", R"(\q C:\path \')", 1}}));
}

TEST(Dotenv, DoubleQuotedSpansLines) {
    EXPECT_EQ(parse_ok("A=1\nKEY=\"-----BEGIN\nabc\n\n-----END\"\nB=2\n"),
              (std::vector<Entry>{
                  {"A", "1", 1}, {"KEY", "-----BEGIN\nabc\n\n-----END", 2}, {"B", "2", 6}}));
}

TEST(Dotenv, EscapedQuoteDoesNotCloseMultiLineValue) {
    EXPECT_EQ(parse_ok("A=\"x\\\"\ny\"\nB=1\n"),
              (std::vector<Entry>{{"A", "x\"\ny", 1}, {"B", "1", 3}}));
}

TEST(Dotenv, CommentAndBlanksAfterClosingQuote) {
    EXPECT_EQ(parse_ok("A=\"x\"   # c\nB='y' \t\nC=\"z\"#c\nD = 'w' # c\n"),
              (std::vector<Entry>{{"A", "x", 1}, {"B", "y", 2}, {"C", "z", 3}, {"D", "w", 4}}));
}

TEST(Dotenv, DollarIsNeverInterpolated) {
    EXPECT_EQ(parse_ok("A=$HOME\nB=${HOME}\nC=\"${PATH}\"\nD=\"\\$HOME\"\nE='$USER'\n"),
              (std::vector<Entry>{{"A", "$HOME", 1},
                                  {"B", "${HOME}", 2},
                                  {"C", "${PATH}", 3},
                                  {"D", "$HOME", 4},
                                  {"E", "$USER", 5}}));
}

TEST(Dotenv, CrlfLineEndings) {
    EXPECT_EQ(parse_ok("# c\r\nA=1\r\nB = 'two' \r\nC=\"x\r\ny\"\r\n\r\nD=4 # c\r\nE=\r\n"),
              (std::vector<Entry>{
                  {"A", "1", 2}, {"B", "two", 3}, {"C", "x\ny", 4}, {"D", "4", 7}, {"E", "", 8}}));
}

TEST(Dotenv, Utf8ByteOrderMarkIsIgnored) {
    EXPECT_EQ(parse_ok("\xEF\xBB\xBF"
                       "A=1\n"),
              (std::vector<Entry>{{"A", "1", 1}}));
}

TEST(Dotenv, DuplicatesAreKeptInOrder) {
    EXPECT_EQ(parse_ok("A=1\nB=2\nA=3\n"),
              (std::vector<Entry>{{"A", "1", 1}, {"B", "2", 2}, {"A", "3", 3}}));
}

TEST(Dotenv, MissingEqualsIsAnError) {
    EXPECT_EQ(parse_error("A=1\nJUSTANAME\n"), "nsbox: app.env:2: expected NAME=value");
    EXPECT_EQ(parse_error("export FOO\n"), "nsbox: app.env:1: expected NAME=value");
    EXPECT_EQ(parse_error("export\n"), "nsbox: app.env:1: expected NAME=value");
}

TEST(Dotenv, EmptyNameIsAnError) {
    EXPECT_EQ(parse_error("  = value\n"), "nsbox: app.env:1: expected NAME=value");
}

TEST(Dotenv, InvalidNameIsAnError) {
    EXPECT_EQ(parse_error("\n1ABC=x\n"), "nsbox: app.env:2: 1ABC: invalid variable name");
    EXPECT_EQ(parse_error("FOO-BAR=x\n"), "nsbox: app.env:1: FOO-BAR: invalid variable name");
    EXPECT_EQ(parse_error("FOO BAR=x\n"), "nsbox: app.env:1: FOO BAR: invalid variable name");
    EXPECT_EQ(parse_error("export 9=x\n"), "nsbox: app.env:1: 9: invalid variable name");
}

TEST(Dotenv, UnterminatedDoubleQuoteNamesStartingLine) {
    EXPECT_EQ(parse_error("A=1\n\nAPI_KEY=\"abc\n\ndef\n"),
              "nsbox: app.env:3: API_KEY: unterminated double-quoted value");
    EXPECT_EQ(parse_error("A=\"abc\\\""), "nsbox: app.env:1: A: unterminated double-quoted value");
    EXPECT_EQ(parse_error("A=\"abc\\"), "nsbox: app.env:1: A: unterminated double-quoted value");
}

TEST(Dotenv, UnterminatedSingleQuoteDoesNotSpanLines) {
    EXPECT_EQ(parse_error("A=1\nK='abc\ndef'\n"),
              "nsbox: app.env:2: K: unterminated single-quoted value");
}

TEST(Dotenv, TextAfterClosingQuoteIsAnError) {
    EXPECT_EQ(parse_error("K=\"abc\"def\n"),
              "nsbox: app.env:1: K: unexpected text after closing quote");
    EXPECT_EQ(parse_error("K=\"a\nb\" c\n"),
              "nsbox: app.env:1: K: unexpected text after closing quote");
}

TEST(Dotenv, SingleQuotedValueCannotContainSingleQuote) {
    EXPECT_EQ(parse_error("K='it's'\n"),
              "nsbox: app.env:1: K: unexpected text after closing quote");
}

TEST(Dotenv, NulByteIsAnError) {
    EXPECT_EQ(parse_error(std::string("A=1\nB=x\0y\n", 10)),
              "nsbox: app.env:2: contains a NUL byte");
    EXPECT_EQ(parse_error(std::string("# c\0\n", 5)), "nsbox: app.env:1: contains a NUL byte");
}

TEST(Dotenv, ErrorIsProfileError) {
    auto result = parse_dotenv("JUSTANAME\n", "app.env");
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code, Errc::kProfile);
    EXPECT_EQ(result.error().step, Step::kProfile);
    EXPECT_EQ(result.error().exit_code(), kExitLauncherError);
}

TEST(Dotenv, LoadsRegularFile) {
    TempPath file;
    file.write("# app\r\nexport A=1\nB=\"x\ny\"\n");
    auto result = load_dotenv(file.path());
    ASSERT_TRUE(result.has_value()) << result.error().line();
    EXPECT_EQ(flatten(*result), (std::vector<Entry>{{"A", "1", 2}, {"B", "x\ny", 3}}));
}

TEST(Dotenv, LoadErrorsNameTheFile) {
    TempPath file;
    file.write("A=1\nB='oops\n");
    auto result = load_dotenv(file.path());
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().line(),
              "nsbox: " + file.path().string() + ":2: B: unterminated single-quoted value");
}

TEST(Dotenv, LoadMissingFile) {
    TempPath file;
    auto result = load_dotenv(file.path());
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().line(), "nsbox: " + file.path().string() +
                                         ": cannot read env file: No such file or directory");
}

TEST(Dotenv, LoadRejectsDirectory) {
    TempPath dir;
    ASSERT_TRUE(std::filesystem::create_directory(dir.path()));
    auto result = load_dotenv(dir.path());
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().line(), "nsbox: " + dir.path().string() + ": not a regular file");
}

TEST(Dotenv, LoadRejectsFifoWithoutBlocking) {
    TempPath fifo;
    ASSERT_EQ(::mkfifo(fifo.path().c_str(), 0600), 0);
    auto result = load_dotenv(fifo.path());
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().line(), "nsbox: " + fifo.path().string() + ": not a regular file");
}

TEST(Dotenv, LoadRejectsFileOverOneMiB) {
    TempPath file;
    file.write(std::string(kMaxDotenvBytes + 1, '\n'));
    auto result = load_dotenv(file.path());
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().line(),
              "nsbox: " + file.path().string() + ": env file is larger than 1 MiB");
}

TEST(Dotenv, LoadAcceptsFileOfExactlyOneMiB) {
    TempPath file;
    const std::string head = "A=1\n#";
    file.write(head + std::string(kMaxDotenvBytes - head.size() - 1, 'x') + "\n");
    auto result = load_dotenv(file.path());
    ASSERT_TRUE(result.has_value()) << result.error().line();
    EXPECT_EQ(flatten(*result), (std::vector<Entry>{{"A", "1", 1}}));
}

}  // namespace
}  // namespace nsbox
