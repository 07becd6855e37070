// Identity and privilege facts seen from inside the sandbox: user namespace maps, setgroups,
// capabilities, no_new_privs, and the cgroup and IPC namespaces.
#include <gtest/gtest.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include <sstream>
#include <string>
#include <vector>

#include "harness.hpp"

namespace nsbox::test {
namespace {

// The whitespace-separated fields of every line of a /proc/PID/{uid,gid}_map.
std::vector<std::vector<std::string>> map_lines(const nlohmann::json& text) {
    std::vector<std::vector<std::string>> lines;
    if (!text.is_string()) return lines;
    for (const std::string& line : lines_of(text.get<std::string>())) {
        std::istringstream in(line);
        std::vector<std::string> fields;
        for (std::string field; in >> field;) fields.push_back(field);
        if (!fields.empty()) lines.push_back(fields);
    }
    return lines;
}

// Run as root, nsbox must still never make the payload host root: it maps to the overflow id.
constexpr unsigned kRootCallerHostId = 65534;

std::string expected_host_uid() {
    return std::to_string(::geteuid() == 0 ? kRootCallerHostId : ::geteuid());
}

std::string expected_host_gid() {
    return std::to_string(::geteuid() == 0 ? kRootCallerHostId : ::getegid());
}

// A capability mask with no bit set, as /proc/self/status prints it.
bool empty_mask(const nlohmann::json& value) {
    return value.is_string() &&
           value.get<std::string>().find_first_not_of('0') == std::string::npos;
}

TEST(Isolation, UidInsideIs1000) {
    RunOutput out = run_probe({"ids"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["uid"], 1000) << out.stdout_text;
    EXPECT_EQ(out.probe["euid"], 1000) << out.stdout_text;
}

TEST(Isolation, GidInsideIs1000) {
    RunOutput out = run_probe({"ids"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["gid"], 1000) << out.stdout_text;
    EXPECT_EQ(out.probe["egid"], 1000) << out.stdout_text;
}

TEST(Isolation, UidMapHasOneLineForTheSandboxUser) {
    RunOutput out = run_probe({"ids"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    const auto lines = map_lines(out.probe["uid_map"]);
    const std::vector<std::vector<std::string>> expected = {{"1000", expected_host_uid(), "1"}};
    EXPECT_EQ(lines, expected) << out.probe["uid_map"];
}

TEST(Isolation, GidMapHasOneLineForTheSandboxGroup) {
    RunOutput out = run_probe({"ids"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    const auto lines = map_lines(out.probe["gid_map"]);
    const std::vector<std::vector<std::string>> expected = {{"1000", expected_host_gid(), "1"}};
    EXPECT_EQ(lines, expected) << out.probe["gid_map"];
}

TEST(Isolation, SetgroupsIsDenied) {
    RunOutput out = run_probe({"ids"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["setgroups"], "deny\n");
}

TEST(Isolation, NoEffectiveCapabilities) {
    RunOutput out = run_probe({"status"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_TRUE(empty_mask(out.probe["status"]["CapEff"])) << out.probe["status"];
}

TEST(Isolation, NoPermittedCapabilities) {
    RunOutput out = run_probe({"status"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_TRUE(empty_mask(out.probe["status"]["CapPrm"])) << out.probe["status"];
}

TEST(Isolation, NoAmbientCapabilities) {
    RunOutput out = run_probe({"status"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_TRUE(empty_mask(out.probe["status"]["CapAmb"])) << out.probe["status"];
}

TEST(Isolation, NoNewPrivsIsSet) {
    RunOutput out = run_probe({"status"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["status"]["NoNewPrivs"], "1") << out.probe["status"];
}

// In its own cgroup namespace the payload's cgroup is the namespace root on every hierarchy,
// so the host's cgroup layout (slice and unit names) is not disclosed.
TEST(Isolation, CgroupNamespaceHidesHostCgroupPaths) {
    RunOutput out = run_probe({"read:/proc/self/cgroup"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    const auto& result = out.probe["read:/proc/self/cgroup"];
    ASSERT_EQ(result["ok"], true) << result;
    const auto lines = lines_of(result["content"].get<std::string>());
    ASSERT_FALSE(lines.empty());
    for (const std::string& line : lines) {
        EXPECT_EQ(line.substr(line.rfind(':') + 1), "/") << line;
    }
}

// A System V segment the host holds; removed on scope exit.
class HostShmSegment {
 public:
    HostShmSegment() : id_(::shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600)) {}
    ~HostShmSegment() {
        if (id_ >= 0) ::shmctl(id_, IPC_RMID, nullptr);
    }
    HostShmSegment(const HostShmSegment&) = delete;
    HostShmSegment& operator=(const HostShmSegment&) = delete;
    [[nodiscard]] bool ok() const { return id_ >= 0; }

 private:
    int id_;
};

// In its own IPC namespace the payload sees none of the host's System V segments: the
// listing holds only its header line although the host has at least one segment.
TEST(Isolation, IpcNamespaceHidesHostShmSegments) {
    const HostShmSegment segment;
    if (!segment.ok()) GTEST_SKIP() << "System V shared memory is unavailable";
    RunOutput out = run_probe({"read:/proc/sysvipc/shm"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    auto& result = out.probe["read:/proc/sysvipc/shm"];
    if (result["ok"] == false) GTEST_SKIP() << "this kernel has no /proc/sysvipc";
    EXPECT_EQ(lines_of(result["content"].get<std::string>()).size(), 1U) << result["content"];
}

}  // namespace
}  // namespace nsbox::test
