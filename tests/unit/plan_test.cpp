// Unit tests for the pure parts of the launch plan: argv[0] lookup candidates and the
// generated /etc files.
#include "launch/plan.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace nsbox::launch {
namespace {

using Strings = std::vector<std::string>;

TEST(ExecCandidates, BareNameIsTriedInEachPathDirectoryInOrder) {
    EXPECT_EQ(exec_candidates("python3", "/usr/local/bin:/usr/bin"),
              (Strings{"/usr/local/bin/python3", "/usr/bin/python3"}));
}

TEST(ExecCandidates, NameWithASlashIsUsedAsIs) {
    EXPECT_EQ(exec_candidates("/abs/prog", "/usr/bin"), (Strings{"/abs/prog"}));
    EXPECT_EQ(exec_candidates("./x", "/usr/bin"), (Strings{"./x"}));
    EXPECT_EQ(exec_candidates("sub/x", "/usr/bin"), (Strings{"sub/x"}));
}

TEST(ExecCandidates, EmptyPathComponentMeansTheCurrentDirectory) {
    // POSIX: a zero-length prefix in PATH is the current directory, wherever it appears.
    EXPECT_EQ(exec_candidates("prog", ":/usr/bin"), (Strings{"./prog", "/usr/bin/prog"}));
    EXPECT_EQ(exec_candidates("prog", "/usr/bin:"), (Strings{"/usr/bin/prog", "./prog"}));
    EXPECT_EQ(exec_candidates("prog", "/a::/b"), (Strings{"/a/prog", "./prog", "/b/prog"}));
}

TEST(ExecCandidates, UnsetPathFallsBackToTheSandboxDefault) {
    EXPECT_EQ(exec_candidates("sh", ""), (Strings{"/usr/local/bin/sh", "/usr/bin/sh", "/bin/sh"}));
}

Spec spec_named(const std::string& hostname) {
    Spec spec;
    spec.hostname = {hostname, Origin::cli()};
    spec.network = {NetMode::kNone, Origin::builtin()};
    return spec;
}

std::string content_of(const std::vector<ns::GeneratedFile>& files, const std::string& name) {
    const auto it = std::find_if(files.begin(), files.end(),
                                 [&](const ns::GeneratedFile& f) { return f.name == name; });
    EXPECT_NE(it, files.end()) << "no generated /etc/" << name;
    return it == files.end() ? std::string() : it->content;
}

TEST(GeneratedEtcFiles, HostnameAppearsInHostnameAndHosts) {
    const auto files = generated_etc_files(spec_named("box-7"), "");
    EXPECT_EQ(content_of(files, "hostname"), "box-7\n");
    const std::string hosts = content_of(files, "hosts");
    EXPECT_NE(hosts.find("127.0.0.1\tlocalhost\n"), std::string::npos) << hosts;
    EXPECT_NE(hosts.find("127.0.1.1\tbox-7\n"), std::string::npos) << hosts;
}

TEST(GeneratedEtcFiles, PasswdAndGroupDescribeTheSandboxUser) {
    const auto files = generated_etc_files(spec_named("nsbox"), "");
    const std::string passwd = content_of(files, "passwd");
    EXPECT_NE(passwd.find("sandbox:x:1000:1000:nsbox sandbox:/home/sandbox:/bin/sh\n"),
              std::string::npos)
        << passwd;
    EXPECT_EQ(passwd.rfind("root:x:0:0:", 0), 0U) << passwd;
    const std::string group = content_of(files, "group");
    EXPECT_NE(group.find("sandbox:x:1000:\n"), std::string::npos) << group;
    // Every line is a complete record: tools parse these with fgetpwent.
    EXPECT_EQ(passwd.back(), '\n');
    EXPECT_EQ(group.back(), '\n');
}

TEST(GeneratedEtcFiles, ResolvConfIsPassedThrough) {
    const std::string resolv = "nameserver 192.0.2.53\nsearch example.org\n";
    const auto files = generated_etc_files(spec_named("nsbox"), resolv);
    EXPECT_EQ(content_of(files, "resolv.conf"), resolv);
}

TEST(GeneratedEtcFiles, NsswitchUsesOnlyFiles) {
    // No NSS module may reach the host's sssd/ldap from inside the sandbox.
    const auto files = generated_etc_files(spec_named("nsbox"), "");
    const std::string nsswitch = content_of(files, "nsswitch.conf");
    EXPECT_NE(nsswitch.find("passwd: files\n"), std::string::npos) << nsswitch;
    EXPECT_NE(nsswitch.find("group: files\n"), std::string::npos) << nsswitch;
}

TEST(CStringArray, PointersEndWithNullAndPointIntoStorage) {
    CStringArray array;
    array.assign({"python3", "-c", "print(1)"});
    ASSERT_EQ(array.pointers.size(), 4U);
    EXPECT_STREQ(array.data()[0], "python3");
    EXPECT_STREQ(array.data()[2], "print(1)");
    EXPECT_EQ(array.data()[3], nullptr);
}

}  // namespace
}  // namespace nsbox::launch
