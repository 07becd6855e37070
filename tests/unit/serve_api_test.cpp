// nsbox serve's request checks, base64 and the worker's result message.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "serve/api.hpp"
#include "serve/worker.hpp"

namespace nsbox::serve {
namespace {

ApiLimits limits() {
    ApiLimits l;
    l.max_files = 3;
    l.max_file_bytes = 10;
    l.max_env = 2;
    l.default_timeout = std::chrono::milliseconds(5000);
    l.max_timeout = std::chrono::milliseconds(30000);
    return l;
}

std::string field_of(std::string_view body) {
    auto r = parse_execute_request(body, limits());
    EXPECT_FALSE(r.has_value()) << body;
    return r ? std::string("<accepted>") : r.error().field;
}

TEST(ServeApi, Base64RoundTripsEveryLength) {
    std::string data;
    for (int i = 0; i < 300; ++i) {
        const std::string encoded = base64_encode(data);
        EXPECT_EQ(encoded.size() % 4, 0U);
        EXPECT_EQ(base64_decode(encoded), data);
        data += static_cast<char>(i * 7);
    }
    EXPECT_EQ(base64_encode("hello"), "aGVsbG8=");
}

TEST(ServeApi, Base64RejectsMalformedText) {
    for (const char* bad : {"a", "abc", "ab=c", "a===", "====", "ab c", "aGVsbG8=aGVs", "é123"})
        EXPECT_FALSE(base64_decode(bad).has_value()) << bad;
}

TEST(ServeApi, WorkspacePaths) {
    for (const char* good : {"a", "a/b.txt", "dir/sub/f", ".hidden", "a..b"})
        EXPECT_TRUE(is_valid_workspace_path(good)) << good;
    for (const char* bad : {"", "/etc/passwd", "../x", "a/../b", "a//b", "a/", "./a", "a/."})
        EXPECT_FALSE(is_valid_workspace_path(bad)) << bad;
    EXPECT_FALSE(is_valid_workspace_path(std::string(256, 'a')));
    EXPECT_FALSE(is_valid_workspace_path(std::string("a\0b", 3)));
}

TEST(ServeApi, Utf8Names) {
    for (const char* good : {"", "plain.txt", "caf\xc3\xa9", "\xf0\x9f\x90\x8d.py"})
        EXPECT_TRUE(is_valid_utf8(good)) << good;
    // A stray byte, a cut sequence, an overlong form and an encoded surrogate.
    for (const char* bad : {"bad\xffname", "cut\xc3", "\xc0\xaf", "\xed\xa0\x80"})
        EXPECT_FALSE(is_valid_utf8(bad)) << bad;
}

TEST(ServeApi, AcceptsAFullRequest) {
    auto r = parse_execute_request(
        R"j({"code": "print(1)", "files": {"d/a.txt": "aGk="}, "stdin": "x",
            "timeout_ms": 1000, "env": {"A_1": "v"}})j",
        limits());
    ASSERT_TRUE(r.has_value()) << r.error().text();
    EXPECT_EQ(r->code, "print(1)");
    ASSERT_EQ(r->files.size(), 1U);
    EXPECT_EQ(r->files[0].path, "d/a.txt");
    EXPECT_EQ(r->files[0].data, "hi");
    EXPECT_EQ(r->stdin_data, "x");
    EXPECT_EQ(r->timeout.count(), 1000);
    EXPECT_EQ(r->env.at(0), (std::pair<std::string, std::string>{"A_1", "v"}));
}

TEST(ServeApi, DefaultsAndNulls) {
    auto r =
        parse_execute_request(R"j({"code": "", "files": null, "timeout_ms": null})j", limits());
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->timeout.count(), 5000);
    EXPECT_TRUE(r->files.empty());
}

TEST(ServeApi, NamesTheOffendingField) {
    EXPECT_EQ(field_of("[]"), "");
    EXPECT_EQ(field_of("{\"code\": 1}"), "code");
    EXPECT_EQ(field_of("{}"), "code");
    EXPECT_EQ(field_of(R"j({"code": "", "extra": 1})j"), "extra");
    EXPECT_EQ(field_of(R"j({"code": "", "timeout_ms": 0})j"), "timeout_ms");
    EXPECT_EQ(field_of(R"j({"code": "", "timeout_ms": 1.5})j"), "timeout_ms");
    EXPECT_EQ(field_of(R"j({"code": "", "timeout_ms": 30001})j"), "timeout_ms");
    EXPECT_EQ(field_of(R"j({"code": "", "files": []})j"), "files");
    EXPECT_EQ(field_of(R"j({"code": "", "files": {"../a": ""}})j"), "files[\"../a\"]");
    EXPECT_EQ(field_of(R"j({"code": "", "files": {"a": 1}})j"), "files[\"a\"]");
    EXPECT_EQ(field_of(R"j({"code": "", "files": {"a": "!!!!"}})j"), "files[\"a\"]");
    EXPECT_EQ(field_of(R"j({"code": "", "files": {"a": "", "a/b": ""}})j"), "files[\"a/b\"]");
    EXPECT_EQ(field_of(R"j({"code": "", "files": {"a": "", "b": "", "c": "", "d": ""}})j"),
              "files");
    EXPECT_EQ(field_of(R"j({"code": "", "files": {"a": "YWFhYWFhYWFhYWFh"}})j"), "files");
    EXPECT_EQ(field_of(R"j({"code": "", "env": {"1A": ""}})j"), "env[\"1A\"]");
    EXPECT_EQ(field_of(R"j({"code": "", "env": {"A": 1}})j"), "env[\"A\"]");
    EXPECT_EQ(field_of(R"j({"code": "", "env": {"A": "", "B": "", "C": ""}})j"), "env");
    EXPECT_EQ(field_of(R"j({"code": "", "stdin": 3})j"), "stdin");
}

TEST(ServeApi, MalformedJsonSaysWhere) {
    auto r = parse_execute_request("{\"code\": \"x\"", limits());
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message.find("malformed JSON at byte"), std::string::npos);
}

TEST(ServeApi, BootstrapMessageIsLengthPrefixed) {
    ExecuteRequest request;
    request.code = "print('\u00e9')\n";
    request.files.push_back({"d/a.txt", std::string("h\0i\n", 4)});
    request.env.emplace_back("X", "1 2");
    EXPECT_EQ(bootstrap_message(request), std::string("12 1 1\nprint('\u00e9')\n"
                                                      "7 4\nd/a.txth\0i\n"
                                                      "1 3\nX1 2",
                                                      42));
}

TEST(ServeApi, ResponseReplacesInvalidUtf8AndEncodesFiles) {
    ExecuteResponse r;
    r.reason = "exited";
    r.stdout_text = "ok \xff\n";
    r.files["out.bin"] = std::string("\0\1", 2);
    const auto doc = nlohmann::json::parse(render_execute_response(r));
    EXPECT_EQ(doc["stdout"], "ok \xEF\xBF\xBD\n");
    EXPECT_EQ(doc["files"]["out.bin"], "AAE=");
    EXPECT_TRUE(doc["error"].is_null());
    EXPECT_TRUE(doc["cpu_ms"].is_null());
}

TEST(ServeApi, WorkerResultRoundTrips) {
    WorkerResult r;
    r.reason = "timeout";
    r.exit_code = 124;
    r.cpu_us = 1200;
    r.cpu_at_start_us = 200;
    r.stopped = true;
    r.skipped.emplace_back("big.bin", "limit: max_bytes");
    const auto back = parse_worker_result(render_worker_result(r));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->reason, "timeout");
    EXPECT_EQ(back->exit_code, 124);
    EXPECT_EQ(back->cpu_us, 1200U);
    EXPECT_EQ(back->cpu_at_start_us, 200U);
    EXPECT_TRUE(back->stopped);
    EXPECT_FALSE(back->error.has_value());
    ASSERT_EQ(back->skipped.size(), 1U);
    EXPECT_EQ(back->skipped[0].second, "limit: max_bytes");
    EXPECT_FALSE(parse_worker_result("{\"reason\": 1}").has_value());
    EXPECT_FALSE(parse_worker_result("garbage").has_value());
}

}  // namespace
}  // namespace nsbox::serve
