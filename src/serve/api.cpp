// The HTTP API's data (see api.hpp).
#include "serve/api.hpp"

#include <fmt/core.h>

#include <array>
#include <nlohmann/json.hpp>
#include <set>

namespace nsbox::serve {
namespace {

using nlohmann::json;

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

tl::unexpected<RequestError> bad(std::string field, std::string message) {
    return tl::unexpected(RequestError{std::move(field), std::move(message)});
}

std::string_view type_name(const json& value) {
    switch (value.type()) {
        case json::value_t::null:
            return "null";
        case json::value_t::boolean:
            return "a boolean";
        case json::value_t::string:
            return "a string";
        case json::value_t::array:
            return "an array";
        case json::value_t::object:
            return "an object";
        default:
            return "a number";
    }
}

std::string wrong_type(std::string_view expected, const json& value) {
    return fmt::format("must be {}, not {}", expected, type_name(value));
}

bool is_env_name(std::string_view name) {
    if (name.empty() || name.size() > 255 || (name[0] >= '0' && name[0] <= '9')) return false;
    for (const char c : name) {
        const bool ok =
            (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        if (!ok) return false;
    }
    return true;
}

tl::expected<void, RequestError> parse_files(const json& files, const ApiLimits& limits,
                                             ExecuteRequest& out) {
    if (!files.is_object()) return bad("files", wrong_type("an object of path: base64", files));
    if (files.size() > limits.max_files)
        return bad("files", fmt::format("at most {} files", limits.max_files));
    std::uint64_t total = 0;
    for (const auto& [path, content] : files.items()) {
        const std::string field = fmt::format("files[\"{}\"]", path);
        if (!is_valid_workspace_path(path))
            return bad(field,
                       "must be a relative path inside /workspace (no '..', '.', empty or "
                       "absolute parts)");
        if (!content.is_string()) return bad(field, wrong_type("a base64 string", content));
        auto data = base64_decode(content.get_ref<const std::string&>());
        if (!data) return bad(field, "is not valid base64");
        total += data->size();
        if (total > limits.max_file_bytes)
            return bad("files", fmt::format("more than {} bytes in all", limits.max_file_bytes));
        out.files.push_back({path, std::move(*data)});
    }
    // A file may not also be a directory of another ("a" and "a/b").
    std::set<std::string_view> names;
    for (const InputFile& f : out.files) names.insert(f.path);
    for (const InputFile& f : out.files) {
        for (std::size_t slash = f.path.find('/'); slash != std::string::npos;
             slash = f.path.find('/', slash + 1)) {
            if (names.contains(std::string_view(f.path).substr(0, slash)))
                return bad(fmt::format("files[\"{}\"]", f.path),
                           fmt::format("\"{}\" is also given as a file", f.path.substr(0, slash)));
        }
    }
    return {};
}

tl::expected<void, RequestError> parse_env(const json& env, const ApiLimits& limits,
                                           ExecuteRequest& out) {
    if (!env.is_object()) return bad("env", wrong_type("an object of NAME: string", env));
    if (env.size() > limits.max_env)
        return bad("env", fmt::format("at most {} variables", limits.max_env));
    for (const auto& [name, value] : env.items()) {
        const std::string field = fmt::format("env[\"{}\"]", name);
        if (!is_env_name(name))
            return bad(field,
                       "is not a variable name (letters, digits and '_', not first a digit)");
        if (!value.is_string()) return bad(field, wrong_type("a string", value));
        const auto& text = value.get_ref<const std::string&>();
        if (text.find('\0') != std::string::npos) return bad(field, "contains a NUL byte");
        out.env.emplace_back(name, text);
    }
    return {};
}

}  // namespace

bool is_valid_workspace_path(std::string_view path) {
    if (path.empty() || path.size() > 1024 || path.front() == '/') return false;
    std::size_t start = 0;
    while (start <= path.size()) {
        const std::size_t end = std::min(path.find('/', start), path.size());
        const std::string_view part = path.substr(start, end - start);
        if (part.empty() || part == "." || part == ".." || part.size() > 255) return false;
        if (part.find('\0') != std::string_view::npos) return false;
        start = end + 1;
    }
    return true;
}

std::string base64_encode(std::string_view data) {
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    std::size_t i = 0;
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(data[k]); };
    for (; i + 2 < data.size(); i += 3) {
        const unsigned v = (byte(i) << 16U) | (byte(i + 1) << 8U) | byte(i + 2);
        out += kAlphabet[(v >> 18U) & 63U];
        out += kAlphabet[(v >> 12U) & 63U];
        out += kAlphabet[(v >> 6U) & 63U];
        out += kAlphabet[v & 63U];
    }
    if (i + 1 == data.size()) {
        const unsigned v = byte(i) << 16U;
        out += kAlphabet[(v >> 18U) & 63U];
        out += kAlphabet[(v >> 12U) & 63U];
        out += "==";
    } else if (i + 2 == data.size()) {
        const unsigned v = (byte(i) << 16U) | (byte(i + 1) << 8U);
        out += kAlphabet[(v >> 18U) & 63U];
        out += kAlphabet[(v >> 12U) & 63U];
        out += kAlphabet[(v >> 6U) & 63U];
        out += '=';
    }
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) return std::nullopt;
    std::array<int, 256> value{};
    value.fill(-1);
    for (std::size_t k = 0; k < kAlphabet.size(); ++k)
        value[static_cast<unsigned char>(kAlphabet[k])] = static_cast<int>(k);
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        const bool last = i + 4 == text.size();
        int v[4];
        int padding = 0;
        for (int k = 0; k < 4; ++k) {
            const char c = text[i + static_cast<std::size_t>(k)];
            if (c == '=' && last && k >= 2) {
                ++padding;
                v[k] = 0;
                continue;
            }
            if (padding != 0) return std::nullopt;  // data after padding
            v[k] = value[static_cast<unsigned char>(c)];
            if (v[k] < 0) return std::nullopt;
        }
        const auto bits = static_cast<unsigned>((v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3]);
        out += static_cast<char>((bits >> 16U) & 0xFFU);
        if (padding < 2) out += static_cast<char>((bits >> 8U) & 0xFFU);
        if (padding < 1) out += static_cast<char>(bits & 0xFFU);
    }
    return out;
}

tl::expected<ExecuteRequest, RequestError> parse_execute_request(std::string_view body,
                                                                 const ApiLimits& limits) {
    json doc;
    try {
        doc = json::parse(body);
    } catch (const json::parse_error& e) {
        return bad("", fmt::format("malformed JSON at byte {}", e.byte));
    }
    if (!doc.is_object()) return bad("", "the body must be a JSON object");
    ExecuteRequest out;
    out.timeout = limits.default_timeout;
    bool has_code = false;
    for (const auto& [key, value] : doc.items()) {
        if (key == "code") {
            if (!value.is_string()) return bad("code", wrong_type("a string", value));
            out.code = value.get<std::string>();
            if (out.code.find('\0') != std::string::npos) return bad("code", "contains a NUL byte");
            has_code = true;
        } else if (key == "files") {
            if (!value.is_null())
                if (auto r = parse_files(value, limits, out); !r) return tl::unexpected(r.error());
        } else if (key == "stdin") {
            if (!value.is_null()) {
                if (!value.is_string()) return bad("stdin", wrong_type("a string", value));
                out.stdin_data = value.get<std::string>();
            }
        } else if (key == "timeout_ms") {
            if (value.is_null()) continue;
            if (!value.is_number_integer())
                return bad("timeout_ms", wrong_type("an integer", value));
            const auto ms = value.get<std::int64_t>();
            if (ms <= 0) return bad("timeout_ms", "must be positive");
            if (ms > limits.max_timeout.count())
                return bad("timeout_ms", fmt::format("at most {} (the server's profile)",
                                                     limits.max_timeout.count()));
            out.timeout = std::chrono::milliseconds(ms);
        } else if (key == "env") {
            if (!value.is_null())
                if (auto r = parse_env(value, limits, out); !r) return tl::unexpected(r.error());
        } else {
            return bad(key, "unknown field (known: code, files, stdin, timeout_ms, env)");
        }
    }
    if (!has_code) return bad("code", "is required");
    return out;
}

std::string bootstrap_message(const ExecuteRequest& request) {
    std::string out =
        fmt::format("{} {} {}\n", request.code.size(), request.files.size(), request.env.size());
    out += request.code;
    for (const InputFile& f : request.files) {
        out += fmt::format("{} {}\n", f.path.size(), f.data.size());
        out += f.path;
        out += f.data;
    }
    for (const auto& [name, value] : request.env) {
        out += fmt::format("{} {}\n", name.size(), value.size());
        out += name;
        out += value;
    }
    return out;
}

bool is_valid_utf8(std::string_view text) {
    try {
        static_cast<void>(json(std::string(text)).dump());
        return true;
    } catch (const json::type_error&) {
        return false;
    }
}

std::string render_execute_response(const ExecuteResponse& r) {
    json files = json::object();
    for (const auto& [path, data] : r.files) files[path] = base64_encode(data);
    json omitted = json::array();
    for (const OmittedFile& f : r.files_omitted)
        omitted.push_back({{"path", f.path}, {"reason", f.reason}});
    json doc{
        {"success", r.success},
        {"exit_code", r.exit_code},
        {"reason", r.reason},
        {"stdout", r.stdout_text},
        {"stderr", r.stderr_text},
        {"truncated", r.truncated},
        {"error", r.error ? json(*r.error) : json(nullptr)},
        {"files", std::move(files)},
        {"files_omitted", std::move(omitted)},
        {"duration_ms", r.duration_ms},
        {"cpu_ms", r.cpu_ms ? json(*r.cpu_ms) : json(nullptr)},
        {"peak_memory_bytes", r.peak_memory_bytes ? json(*r.peak_memory_bytes) : json(nullptr)}};
    // Program output need not be UTF-8: invalid bytes become U+FFFD rather than failing.
    return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string render_error(std::string_view message, std::string_view field) {
    json doc{{"error", std::string(message)}};
    if (!field.empty()) doc["field"] = std::string(field);
    return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace nsbox::serve
