// The HTTP API's data: POST /v1/execute requests, checked field by field, and the responses
// (docs/api.md). Pure functions over JSON text, so every rule is unit-tested.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <utility>
#include <vector>

namespace nsbox::serve {

// What one request may ask for; set from the server's flags and profile.
struct ApiLimits {
    std::size_t max_files = 100;  // input files, and files returned
    std::uint64_t max_file_bytes = 10ULL
                                   << 20;  // decoded input files together; returned files together
    std::size_t max_env = 64;
    std::chrono::milliseconds default_timeout{30000};
    std::chrono::milliseconds max_timeout{30000};  // the profile's timeout
};

struct InputFile {
    std::string path;  // relative to /workspace, normalized
    std::string data;  // decoded
};

struct ExecuteRequest {
    std::string code;
    std::vector<InputFile> files;
    std::string stdin_data;
    std::chrono::milliseconds timeout{0};
    std::vector<std::pair<std::string, std::string>> env;
};

// A 400: `field` is the JSON path of the offending value ("files[\"a.txt\"]", "timeout_ms").
struct RequestError {
    std::string field;
    std::string message;
    [[nodiscard]] std::string text() const {
        return field.empty() ? message : field + ": " + message;
    }
};

tl::expected<ExecuteRequest, RequestError> parse_execute_request(std::string_view body,
                                                                 const ApiLimits& limits);

// A relative path below /workspace: no absolute path, no "." or ".." or empty component, no
// NUL, at most 255 bytes a component and 1024 in all.
bool is_valid_workspace_path(std::string_view path);

// True when `text` is valid UTF-8, the only form a JSON string (a returned file's name) can
// carry without changing it.
bool is_valid_utf8(std::string_view text);

std::string base64_encode(std::string_view data);
// Standard alphabet with padding; whitespace is not allowed. nullopt when malformed.
std::optional<std::string> base64_decode(std::string_view text);

// What the bootstrap inside the sandbox (bootstrap.py) reads first on stdin, in a form it can
// read without importing anything: "CODE_SIZE FILES ENVS\n" and the code; per file
// "PATH_SIZE DATA_SIZE\n", the path and the bytes; per variable "NAME_SIZE VALUE_SIZE\n", the
// name and the value. The request's stdin follows it.
std::string bootstrap_message(const ExecuteRequest& request);

struct OmittedFile {
    std::string path;
    std::string reason;
};

struct ExecuteResponse {
    bool success = false;
    int exit_code = 0;
    std::string reason;  // exited signaled timeout cpu_time oom output_limit setup_error
    std::string stdout_text;
    std::string stderr_text;
    bool truncated = false;
    std::optional<std::string> error;
    std::map<std::string, std::string> files;  // path -> content (encoded on output)
    std::vector<OmittedFile> files_omitted;
    double duration_ms = 0;
    std::optional<double> cpu_ms;
    std::optional<std::uint64_t> peak_memory_bytes;
};

std::string render_execute_response(const ExecuteResponse& response);
// {"error": message} (plus "field" for a request error), the body of every non-200 answer.
std::string render_error(std::string_view message, std::string_view field = {});

}  // namespace nsbox::serve
