// Dotenv parsing (parse_dotenv) and bounded, fd-safe reading of env files (load_dotenv).
// The syntax is documented in nsbox/dotenv.hpp.
#include "nsbox/dotenv.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nsbox/unique_fd.hpp"

namespace nsbox {
namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_left(std::string_view s) {
    while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
    return s;
}

std::string_view trim_right(std::string_view s) {
    while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
    return s;
}

bool is_name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }

bool is_valid_name(std::string_view name) {
    if (name.empty() || !is_name_start(name.front())) return false;
    return std::all_of(name.begin(), name.end(),
                       [](char c) { return is_name_start(c) || (c >= '0' && c <= '9'); });
}

// "export NAME=v" drops the prefix, but "export=v" and "export = v" assign a variable named
// export, as in python-dotenv.
std::string_view strip_export(std::string_view line) {
    constexpr std::string_view kExport = "export";
    if (!line.starts_with(kExport)) return line;
    std::string_view after = line.substr(kExport.size());
    if (after.empty() || !is_blank(after.front())) return line;
    after = trim_left(after);
    if (after.empty() || after.front() == '=') return line;
    return after;
}

// Only a '#' after a blank starts a comment, so URLs like http://host/#frag survive unquoted.
std::string_view strip_inline_comment(std::string_view raw) {
    for (std::size_t i = 1; i < raw.size(); ++i) {
        if (raw[i] == '#' && is_blank(raw[i - 1])) return raw.substr(0, i);
    }
    return raw;
}

void append_escape(std::string& out, char c) {
    switch (c) {
        case 'n':
            out += '\n';
            break;
        case 't':
            out += '\t';
            break;
        case 'r':
            out += '\r';
            break;
        case '\\':
        case '"':
        case '$':
            out += c;
            break;
        default:
            // Unknown escapes stay as written so Windows paths and regexes are not mangled.
            out += '\\';
            out += c;
    }
}

// Files written on Windows must parse the same, including inside multi-line quoted values.
std::string normalize_newlines(std::string_view text) {
    if (text.starts_with(kUtf8Bom)) text.remove_prefix(kUtf8Bom.size());
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
        out += text[i];
    }
    return out;
}

// A NUL can never reach the environment (execve strings end at it), so the value would be
// silently truncated; refusing is clearer.
Result<void> check_no_nul(std::string_view text, const std::string& file) {
    const std::size_t nul = text.find('\0');
    if (nul == std::string_view::npos) return {};
    const std::string_view before = text.substr(0, nul);
    const auto line = 1 + std::count(before.begin(), before.end(), '\n');
    return fail(Error::profile(file, static_cast<int>(line), "", "contains a NUL byte"));
}

// Walks the text once; rest_ is the unparsed suffix and line_ the line number of its start.
class Parser {
 public:
    Parser(std::string_view text, const std::string& file) : rest_(text), file_(file) {}

    Result<std::vector<EnvEntry>> run() {
        while (!rest_.empty()) {
            if (auto ok = parse_line(); !ok) return fail(std::move(ok.error()));
        }
        return std::move(entries_);
    }

 private:
    [[nodiscard]] tl::unexpected<Error> error(int line, std::string_view key,
                                              std::string what) const {
        return fail(Error::profile(file_, line, std::string(key), std::move(what)));
    }

    [[nodiscard]] std::string_view current_line() const {
        return rest_.substr(0, rest_.find('\n'));
    }

    void skip_line() {
        const std::size_t eol = rest_.find('\n');
        if (eol == std::string_view::npos) {
            rest_ = {};
            return;
        }
        rest_.remove_prefix(eol + 1);
        ++line_;
    }

    Result<void> parse_line();
    Result<std::string> parse_value(std::string_view name, int line);
    Result<std::string> take_single_quoted(std::string_view name, int line);
    Result<std::string> take_double_quoted(std::string_view name, int line);

    std::string_view rest_;
    const std::string& file_;
    int line_ = 1;
    std::vector<EnvEntry> entries_;
};

Result<void> Parser::parse_line() {
    const int line = line_;
    std::string_view text = trim_left(current_line());
    if (text.empty() || text.front() == '#') {
        skip_line();
        return {};
    }
    text = strip_export(text);
    const std::size_t eq = text.find('=');
    if (eq == std::string_view::npos) return error(line, "", "expected NAME=value");
    const std::string_view name = trim_right(text.substr(0, eq));
    if (name.empty()) return error(line, "", "expected NAME=value");
    if (!is_valid_name(name)) return error(line, name, "invalid variable name");

    // From here rest_ starts at the value, because a quoted value may run past this line.
    rest_.remove_prefix(static_cast<std::size_t>(text.data() + eq + 1 - rest_.data()));
    auto value = parse_value(name, line);
    if (!value) return fail(std::move(value.error()));
    entries_.push_back(EnvEntry{std::string(name), std::move(*value), line});
    return {};
}

Result<std::string> Parser::parse_value(std::string_view name, int line) {
    const std::string_view raw = current_line();
    const std::string_view start = trim_left(raw);
    if (start.empty() || (start.front() != '\'' && start.front() != '"')) {
        skip_line();
        return std::string(trim_right(trim_left(strip_inline_comment(raw))));
    }
    const char quote = start.front();
    rest_.remove_prefix(static_cast<std::size_t>(start.data() + 1 - rest_.data()));
    auto value = quote == '"' ? take_double_quoted(name, line) : take_single_quoted(name, line);
    if (!value) return value;
    const std::string_view tail = trim_left(current_line());
    if (!tail.empty() && tail.front() != '#') {
        return error(line, name, "unexpected text after closing quote");
    }
    skip_line();
    return value;
}

// Single quotes stay on one line: a missing closing quote would otherwise swallow the file.
Result<std::string> Parser::take_single_quoted(std::string_view name, int line) {
    const std::string_view text = current_line();
    const std::size_t close = text.find('\'');
    if (close == std::string_view::npos) {
        return error(line, name, "unterminated single-quoted value");
    }
    std::string value(text.substr(0, close));
    rest_.remove_prefix(close + 1);
    return value;
}

Result<std::string> Parser::take_double_quoted(std::string_view name, int line) {
    std::string value;
    std::size_t i = 0;
    while (i < rest_.size()) {
        const char c = rest_[i];
        if (c == '"') {
            rest_.remove_prefix(i + 1);
            return value;
        }
        if (c == '\\' && i + 1 < rest_.size()) {
            if (rest_[i + 1] == '\n') ++line_;
            append_escape(value, rest_[i + 1]);
            i += 2;
            continue;
        }
        if (c == '\n') ++line_;
        value += c;
        ++i;
    }
    return error(line, name, "unterminated double-quoted value");
}

// Call right after the failing system call; errno is captured before anything allocates.
tl::unexpected<Error> read_error(const std::filesystem::path& file) {
    const int err = errno;
    return fail(Error::profile(file.string(), 0, "",
                               std::string("cannot read env file: ") + std::strerror(err)));
}

Result<std::string> read_all(int fd, const std::filesystem::path& file) {
    std::string text;
    std::array<char, 65536> buffer{};
    for (;;) {
        const ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return read_error(file);
        if (n == 0) return text;
        text.append(buffer.data(), static_cast<std::size_t>(n));
        // The file may have grown since fstat; the limit holds for what is actually read.
        if (text.size() > kMaxDotenvBytes) {
            return fail(Error::profile(file.string(), 0, "", "env file is larger than 1 MiB"));
        }
    }
}

// O_NONBLOCK keeps a FIFO without a writer from hanging the open; it is rejected just after.
Result<std::string> read_env_file(const std::filesystem::path& file) {
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd) return read_error(file);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return read_error(file);
    if (!S_ISREG(st.st_mode)) {
        return fail(Error::profile(file.string(), 0, "", "not a regular file"));
    }
    if (static_cast<std::uintmax_t>(st.st_size) > kMaxDotenvBytes) {
        return fail(Error::profile(file.string(), 0, "", "env file is larger than 1 MiB"));
    }
    return read_all(fd.get(), file);
}

}  // namespace

Result<std::vector<EnvEntry>> parse_dotenv(std::string_view text, const std::string& file) {
    if (auto ok = check_no_nul(text, file); !ok) return fail(std::move(ok.error()));
    const std::string normalized = normalize_newlines(text);
    return Parser(normalized, file).run();
}

Result<std::vector<EnvEntry>> load_dotenv(const std::filesystem::path& file) {
    auto text = read_env_file(file);
    if (!text) return fail(std::move(text.error()));
    return parse_dotenv(*text, file.string());
}

}  // namespace nsbox
