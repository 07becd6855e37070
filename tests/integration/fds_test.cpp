// File descriptors: only stdin, stdout and stderr cross into the sandbox, whatever the caller
// (or nsbox itself) has open, and the three standard streams are connected through.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <set>
#include <string>

#include "harness.hpp"

namespace nsbox::test {
namespace {

std::set<std::string> fd_numbers(const nlohmann::json& fds) {
    std::set<std::string> numbers;
    if (fds.is_object()) {
        for (const auto& [number, target] : fds.items()) numbers.insert(number);
    }
    return numbers;
}

const std::set<std::string> kStdio = {"0", "1", "2"};

// Opened without O_CLOEXEC so that nsbox inherits it, as it would from a careless caller; a
// high number makes sure nsbox does not only close the first few descriptors.
class LeakedFd {
 public:
    LeakedFd(const std::string& path, int flags, int at_least) {
        const int fd = ::open(path.c_str(), flags, 0644);
        if (fd < 0) return;
        // F_DUPFD, not dup2: it never closes a descriptor the test process is using.
        fd_ = ::fcntl(fd, F_DUPFD, at_least);
        ::close(fd);
    }
    ~LeakedFd() {
        if (fd_ >= 0) ::close(fd_);
    }
    LeakedFd(const LeakedFd&) = delete;
    LeakedFd& operator=(const LeakedFd&) = delete;
    [[nodiscard]] bool ok() const { return fd_ >= 0; }
    [[nodiscard]] int fd() const { return fd_; }

 private:
    int fd_ = -1;
};

TEST(Fds, OnlyStdioReachesPayload) {
    RunOutput out = run_probe({"fds"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(fd_numbers(out.probe["fds"]), kStdio) << out.probe["fds"];
}

TEST(Fds, LeakedReadableFdDoesNotReachPayload) {
    const LeakedFd leaked("/etc/passwd", O_RDONLY, 57);
    ASSERT_TRUE(leaked.ok());
    RunOutput out = run_probe({"fds"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(fd_numbers(out.probe["fds"]), kStdio) << out.probe["fds"];
}

// A writable descriptor to a host file would let the payload change the host directly.
TEST(Fds, LeakedWritableFdDoesNotReachPayload) {
    const TempDir dir;
    const LeakedFd leaked((dir.path() / "host-file").string(), O_WRONLY | O_CREAT, 3);
    ASSERT_TRUE(leaked.ok());
    RunOutput out = run_probe({"fds"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(fd_numbers(out.probe["fds"]), kStdio) << out.probe["fds"];
}

TEST(Fds, LeakedDirectoryFdDoesNotReachPayload) {
    const LeakedFd leaked("/", O_RDONLY | O_DIRECTORY, 200);
    ASSERT_TRUE(leaked.ok());
    RunOutput out = run_probe({"fds"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(fd_numbers(out.probe["fds"]), kStdio) << out.probe["fds"];
}

TEST(Fds, StdinReachesPayload) {
    const TempDir ws;
    RunSettings settings;
    settings.stdin_data = "line one\nline two\n";
    RunOutput out =
        run_nsbox({"run", "--workspace", ws.path().string(), "--", "/bin/cat"}, settings);
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.stdout_text, settings.stdin_data);
}

TEST(Fds, StdoutAndStderrStaySeparate) {
    const TempDir ws;
    std::vector<std::string> args = {"run", "--workspace", ws.path().string()};
    args.insert(args.end(), kWithoutCgroupLimits.begin(), kWithoutCgroupLimits.end());
    args.insert(args.end(), {"--", "/bin/sh", "-c", "echo to-stdout; echo to-stderr >&2"});
    RunOutput out = run_nsbox(args);
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.stdout_text, "to-stdout\n");
    EXPECT_EQ(out.stderr_text, "to-stderr\n");
}

}  // namespace
TEST(Fds, PassFdGrantsExactlyThatDescriptor) {
    TempDir dir;
    dir.write("granted.txt", "granted-content\n");
    const LeakedFd granted((dir.path() / "granted.txt").string(), O_RDONLY, 61);
    const LeakedFd other("/etc/hostname", O_RDONLY, 67);
    ASSERT_TRUE(granted.ok() && other.ok());
    const std::string fd = std::to_string(granted.fd());
    RunOutput out =
        run_nsbox(probe_command({"fds", "read:/proc/self/fd/" + fd}, {"--pass-fd", fd}));
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    std::set<std::string> expected = kStdio;
    expected.insert(fd);
    EXPECT_EQ(fd_numbers(out.probe["fds"]), expected) << out.probe["fds"];
    EXPECT_EQ(out.probe["read:/proc/self/fd/" + fd]["content"], "granted-content\n");
}

TEST(Fds, PassFdOfAClosedDescriptorIsALauncherError) {
    RunOutput out = run_nsbox({"run", "--pass-fd", "987", "--", "/bin/true"});
    EXPECT_EQ(out.exit_code, 125);
    EXPECT_EQ(out.stderr_text, "nsbox: --pass-fd 987: not an open file descriptor\n");
}

}  // namespace nsbox::test
