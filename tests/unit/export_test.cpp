// Tests for export_changes: copying an untrusted overlay upper layer into a host directory.
#include "nsbox/export.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "nsbox/unique_fd.hpp"

namespace nsbox {
namespace {

namespace fs = std::filesystem;

// Restores owner access everywhere below `path` so remove_all works after tests that create
// unreadable or read-only directories as an unprivileged user.
void make_removable(const fs::path& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return;
    ::chmod(path.c_str(), 0700);
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(path, ec)) make_removable(entry.path());
}

// A private tree per test: <tmp>/nsbox_export_XXXXXX/{upper,dest}.
class Scratch {
 public:
    Scratch() {
        std::string templ = (fs::path(::testing::TempDir()) / "nsbox_export_XXXXXX").string();
        if (::mkdtemp(templ.data()) == nullptr)
            ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
        root_ = templ;
        fs::create_directory(upper());
    }
    ~Scratch() {
        make_removable(root_);
        std::error_code ec;
        fs::remove_all(root_, ec);
    }
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;

    [[nodiscard]] const fs::path& root() const { return root_; }
    [[nodiscard]] fs::path upper() const { return root_ / "upper"; }
    [[nodiscard]] fs::path dest() const { return root_ / "dest"; }

    [[nodiscard]] UniqueFd open_upper() const {
        return UniqueFd(::open(upper().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    }

    [[nodiscard]] Result<ExportSummary> run(const ExportLimits& limits = {}) const {
        const UniqueFd fd = open_upper();
        EXPECT_TRUE(fd) << std::strerror(errno);
        return export_changes(fd.get(), dest(), limits);
    }

 private:
    fs::path root_;
};

void write_file(const fs::path& path, const std::string& content, mode_t mode = 0644) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << content;
    ASSERT_EQ(::chmod(path.c_str(), mode), 0) << path << ": " << std::strerror(errno);
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

mode_t mode_of(const fs::path& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return static_cast<mode_t>(-1);
    return st.st_mode & 07777;
}

// The reason `rel` was skipped, or "" when it was not.
std::string skip_reason(const ExportSummary& summary, const std::string& rel) {
    for (const ExportSkip& skip : summary.skipped) {
        if (skip.path == rel) return skip.reason;
    }
    return "";
}

bool contains(const std::vector<std::string>& paths, const std::string& rel) {
    return std::find(paths.begin(), paths.end(), rel) != paths.end();
}

using Paths = std::vector<std::string>;

TEST(Export, CopiesNestedFilesWithContentAndMode) {
    Scratch scratch;
    write_file(scratch.upper() / "a.txt", "hello\n", 0644);
    write_file(scratch.upper() / "sub" / "deep" / "run.sh", "#!/bin/sh\n", 0755);
    write_file(scratch.upper() / "sub" / "private", "secret", 0600);
    write_file(scratch.upper() / "suid", "x", 04755);
    write_file(scratch.upper() / "empty", "", 0640);

    auto summary = scratch.run();
    ASSERT_TRUE(summary) << summary.error().line();

    EXPECT_EQ(summary->written,
              (Paths{"a.txt", "empty", "sub/deep/run.sh", "sub/private", "suid"}));
    EXPECT_TRUE(summary->skipped.empty());
    EXPECT_TRUE(summary->deleted.empty());
    EXPECT_EQ(summary->bytes, 6u + 10u + 6u + 1u);
    const fs::path dest = scratch.dest();
    EXPECT_EQ(read_file(dest / "a.txt"), "hello\n");
    EXPECT_EQ(read_file(dest / "sub" / "deep" / "run.sh"), "#!/bin/sh\n");
    EXPECT_EQ(read_file(dest / "sub" / "private"), "secret");
    EXPECT_EQ(mode_of(dest / "a.txt"), 0644u);
    EXPECT_EQ(mode_of(dest / "sub" / "deep" / "run.sh"), 0755u);
    EXPECT_EQ(mode_of(dest / "sub" / "private"), 0600u);
    EXPECT_EQ(mode_of(dest / "suid"), 0755u) << "setuid must be stripped";
    EXPECT_EQ(mode_of(dest / "empty"), 0640u);
    EXPECT_TRUE(fs::is_directory(fs::symlink_status(dest / "sub" / "deep")));
}

TEST(Export, SymlinkIsRecreatedNotFollowed) {
    Scratch scratch;
    fs::create_symlink("/etc/passwd", scratch.upper() / "passwd");
    fs::create_symlink("../../../outside", scratch.upper() / "dangling");

    auto summary = scratch.run();
    ASSERT_TRUE(summary) << summary.error().line();

    EXPECT_EQ(summary->written, (Paths{"dangling", "passwd"}));
    EXPECT_EQ(summary->bytes, 0u);
    const fs::path link = scratch.dest() / "passwd";
    ASSERT_TRUE(fs::is_symlink(fs::symlink_status(link)));
    EXPECT_EQ(fs::read_symlink(link), "/etc/passwd");
    EXPECT_EQ(fs::read_symlink(scratch.dest() / "dangling"), "../../../outside");
}

TEST(Export, DestSymlinkAndHardLinkAreReplacedNotWrittenThrough) {
    Scratch scratch;
    const fs::path victim = scratch.root() / "victim.txt";
    const fs::path hard_victim = scratch.root() / "hard_victim.txt";
    const fs::path victim_dir = scratch.root() / "victim_dir";
    write_file(victim, "original");
    write_file(hard_victim, "original");
    fs::create_directory(victim_dir);
    fs::create_directory(scratch.dest());
    fs::create_symlink(victim, scratch.dest() / "name");
    fs::create_hard_link(hard_victim, scratch.dest() / "hard");
    fs::create_directory_symlink(victim_dir, scratch.dest() / "sub");
    write_file(scratch.upper() / "name", "new content");
    write_file(scratch.upper() / "hard", "new content");
    write_file(scratch.upper() / "sub" / "planted", "payload");

    auto summary = scratch.run();
    ASSERT_TRUE(summary) << summary.error().line();

    EXPECT_EQ(summary->written, (Paths{"hard", "name", "sub/planted"}));
    EXPECT_EQ(read_file(victim), "original");
    EXPECT_EQ(read_file(hard_victim), "original");
    EXPECT_FALSE(fs::exists(victim_dir / "planted"));
    EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(scratch.dest() / "name")));
    EXPECT_EQ(read_file(scratch.dest() / "name"), "new content");
    EXPECT_EQ(read_file(scratch.dest() / "hard"), "new content");
    EXPECT_TRUE(fs::is_directory(fs::symlink_status(scratch.dest() / "sub")));
    EXPECT_EQ(read_file(scratch.dest() / "sub" / "planted"), "payload");
}

TEST(Export, DestEntriesOfAnotherTypeAreReplacedAndDirectoriesReused) {
    Scratch scratch;
    fs::create_directories(scratch.dest() / "was_dir");
    write_file(scratch.dest() / "was_file", "old");
    write_file(scratch.dest() / "keep" / "existing.txt", "kept");
    write_file(scratch.upper() / "was_dir", "now a file");
    write_file(scratch.upper() / "was_file" / "inner", "inside");
    write_file(scratch.upper() / "keep" / "new.txt", "added");

    auto summary = scratch.run();
    ASSERT_TRUE(summary) << summary.error().line();

    EXPECT_TRUE(summary->skipped.empty());
    EXPECT_EQ(read_file(scratch.dest() / "was_dir"), "now a file");
    EXPECT_EQ(read_file(scratch.dest() / "was_file" / "inner"), "inside");
    EXPECT_EQ(read_file(scratch.dest() / "keep" / "existing.txt"), "kept");
    EXPECT_EQ(read_file(scratch.dest() / "keep" / "new.txt"), "added");
}

TEST(Export, ReexportIntoSameDestWithReadOnlyDirectory) {
    Scratch scratch;
    write_file(scratch.upper() / "ro" / "f", "one");
    ASSERT_EQ(::chmod((scratch.upper() / "ro").c_str(), 0555), 0);
    const UniqueFd upper = scratch.open_upper();

    for (int round = 0; round < 2; ++round) {
        auto summary = export_changes(upper.get(), scratch.dest(), {});
        ASSERT_TRUE(summary) << summary.error().line();
        EXPECT_EQ(summary->written, (Paths{"ro/f"})) << "round " << round;
        EXPECT_TRUE(summary->skipped.empty()) << "round " << round;
        EXPECT_EQ(mode_of(scratch.dest() / "ro"), 0555u);
        EXPECT_EQ(read_file(scratch.dest() / "ro" / "f"), "one");
    }
}

TEST(Export, WhiteoutIsRecordedAsDeleted) {
    Scratch scratch;
    const UniqueFd upper = scratch.open_upper();
    if (::mknodat(upper.get(), "gone", S_IFCHR | 0600, makedev(0, 0)) != 0) {
        GTEST_SKIP() << "cannot create an overlay whiteout (0/0 char device) here: "
                     << std::strerror(errno);
    }
    write_file(scratch.dest() / "gone", "still here");

    auto summary = export_changes(upper.get(), scratch.dest(), {});
    ASSERT_TRUE(summary) << summary.error().line();

    EXPECT_EQ(summary->deleted, (Paths{"gone"}));
    EXPECT_TRUE(summary->written.empty());
    EXPECT_TRUE(summary->skipped.empty());
    EXPECT_EQ(read_file(scratch.dest() / "gone"), "still here");
}

TEST(Export, FifoIsSkipped) {
    Scratch scratch;
    ASSERT_EQ(::mkfifo((scratch.upper() / "pipe").c_str(), 0644), 0) << std::strerror(errno);
    write_file(scratch.upper() / "z", "after");

    auto summary = scratch.run();
    ASSERT_TRUE(summary) << summary.error().line();

    EXPECT_EQ(skip_reason(*summary, "pipe"), "fifo");
    EXPECT_EQ(summary->written, (Paths{"z"}));
    EXPECT_FALSE(fs::exists(fs::symlink_status(scratch.dest() / "pipe")));
}

TEST(Export, SocketIsSkipped) {
    Scratch scratch;
    const std::string path = (scratch.upper() / "sock").string();
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof(addr.sun_path)) GTEST_SKIP() << "temp path too long for a socket";
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    const UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(sock) << std::strerror(errno);
    ASSERT_EQ(::bind(sock.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0)
        << std::strerror(errno);

    auto summary = scratch.run();
    ASSERT_TRUE(summary) << summary.error().line();

    EXPECT_EQ(skip_reason(*summary, "sock"), "socket");
    EXPECT_TRUE(summary->written.empty());
}

TEST(Export, MaxFilesLimitSkipsTheRest) {
    Scratch scratch;
    for (const char* name : {"a", "b", "c", "d"}) write_file(scratch.upper() / name, name);
    ExportLimits limits;
    limits.max_files = 2;

    auto summary = scratch.run(limits);
    ASSERT_TRUE(summary) << summary.error().line();

    EXPECT_EQ(summary->written, (Paths{"a", "b"}));
    EXPECT_EQ(skip_reason(*summary, "c"), "limit: max_files");
    EXPECT_EQ(skip_reason(*summary, "d"), "limit: max_files");
    EXPECT_FALSE(fs::exists(scratch.dest() / "c"));
}

TEST(Export, MaxFilesCountsDirectories) {
    Scratch scratch;
    write_file(scratch.upper() / "dir" / "inner", "x");
    ExportLimits limits;
    limits.max_files = 1;

    auto summary = scratch.run(limits);
    ASSERT_TRUE(summary) << summary.error().line();

    EXPECT_TRUE(summary->written.empty());
    EXPECT_EQ(skip_reason(*summary, "dir/inner"), "limit: max_files");
    EXPECT_TRUE(fs::is_directory(scratch.dest() / "dir"));
}

TEST(Export, MaxBytesLimitSkipsFilesThatDoNotFit) {
    Scratch scratch;
    write_file(scratch.upper() / "a", std::string(10, 'a'));
    write_file(scratch.upper() / "b", std::string(100, 'b'));
    write_file(scratch.upper() / "c", std::string(5, 'c'));
    ExportLimits limits;
    limits.max_bytes = 20;

    auto summary = scratch.run(limits);
    ASSERT_TRUE(summary) << summary.error().line();

    EXPECT_EQ(summary->written, (Paths{"a", "c"}));
    EXPECT_EQ(skip_reason(*summary, "b"), "limit: max_bytes");
    EXPECT_EQ(summary->bytes, 15u);
    EXPECT_FALSE(fs::exists(scratch.dest() / "b"));
    EXPECT_EQ(read_file(scratch.dest() / "c"), "ccccc");
}

TEST(Export, LargeFileExactlyAtMaxBytesIsCopied) {
    Scratch scratch;
    std::string content(3 * 1024 * 1024 + 7, '\0');
    for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 131);
    write_file(scratch.upper() / "big", content);
    ExportLimits limits;
    limits.max_bytes = content.size();

    auto summary = scratch.run(limits);
    ASSERT_TRUE(summary) << summary.error().line();

    EXPECT_EQ(summary->written, (Paths{"big"}));
    EXPECT_EQ(summary->bytes, content.size());
    EXPECT_TRUE(read_file(scratch.dest() / "big") == content);
}

TEST(Export, MaxDepthLimitSkipsDeeperDirectories) {
    Scratch scratch;
    write_file(scratch.upper() / "d1" / "f1", "1");
    write_file(scratch.upper() / "d1" / "d2" / "f2", "2");
    write_file(scratch.upper() / "d1" / "d2" / "d3" / "f3", "3");
    ExportLimits limits;
    limits.max_depth = 2;

    auto summary = scratch.run(limits);
    ASSERT_TRUE(summary) << summary.error().line();

    EXPECT_EQ(summary->written, (Paths{"d1/d2/f2", "d1/f1"}));
    EXPECT_EQ(skip_reason(*summary, "d1/d2/d3"), "limit: max_depth");
    EXPECT_TRUE(fs::is_directory(scratch.dest() / "d1" / "d2"));
    EXPECT_FALSE(fs::exists(scratch.dest() / "d1" / "d2" / "d3"));
}

TEST(Export, UnreadableFileDependsOnPrivilege) {
    Scratch scratch;
    write_file(scratch.upper() / "locked", "secret", 0000);
    write_file(scratch.upper() / "open", "fine");

    auto summary = scratch.run();
    ASSERT_TRUE(summary) << summary.error().line();

    EXPECT_TRUE(contains(summary->written, "open")) << "export keeps going";
    if (::geteuid() == 0) {
        EXPECT_TRUE(contains(summary->written, "locked")) << "root bypasses permission bits";
        EXPECT_EQ(read_file(scratch.dest() / "locked"), "secret");
        EXPECT_EQ(mode_of(scratch.dest() / "locked"), 0u);
    } else {
        EXPECT_EQ(skip_reason(*summary, "locked"), std::strerror(EACCES));
        EXPECT_FALSE(fs::exists(scratch.dest() / "locked"));
    }
}

TEST(Export, UnreadableDirectoryDependsOnPrivilege) {
    Scratch scratch;
    write_file(scratch.upper() / "closed" / "inner", "x");
    ASSERT_EQ(::chmod((scratch.upper() / "closed").c_str(), 0000), 0);

    auto summary = scratch.run();
    ASSERT_TRUE(summary) << summary.error().line();

    if (::geteuid() == 0) {
        EXPECT_EQ(summary->written, (Paths{"closed/inner"}));
    } else {
        EXPECT_EQ(skip_reason(*summary, "closed"), std::strerror(EACCES));
        EXPECT_TRUE(summary->written.empty());
    }
}

TEST(Export, DestUnderRegularFileIsAnError) {
    Scratch scratch;
    write_file(scratch.root() / "file", "not a directory");
    write_file(scratch.upper() / "a", "a");
    const fs::path dest = scratch.root() / "file" / "out";
    const UniqueFd upper = scratch.open_upper();

    auto summary = export_changes(upper.get(), dest, {});

    ASSERT_FALSE(summary);
    EXPECT_EQ(summary.error().step, Step::kExport);
    EXPECT_EQ(summary.error().sys_errno, ENOTDIR);
    EXPECT_NE(summary.error().line().find(dest.string()), std::string::npos)
        << summary.error().line();
}

TEST(Export, DestIsCreatedWithParents) {
    Scratch scratch;
    write_file(scratch.upper() / "a", "a");
    const fs::path dest = scratch.root() / "x" / "y" / "z";
    const UniqueFd upper = scratch.open_upper();

    auto summary = export_changes(upper.get(), dest, {});

    ASSERT_TRUE(summary) << summary.error().line();
    EXPECT_EQ(read_file(dest / "a"), "a");
}

}  // namespace
}  // namespace nsbox
