// UTS and network namespaces: the sandbox's own host name, and a network with only loopback
// unless --net host asks for the host's.
#include <gtest/gtest.h>
#include <net/if.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <sstream>
#include <string>

#include "harness.hpp"

namespace nsbox::test {
namespace {

std::set<std::string> interface_names(const nlohmann::json& interfaces) {
    std::set<std::string> names;
    for (const auto& entry : interfaces) names.insert(entry.value("name", ""));
    return names;
}

std::set<std::string> host_interface_names() {
    std::set<std::string> names;
    if (struct if_nameindex* list = ::if_nameindex()) {
        for (const struct if_nameindex* item = list; item->if_index != 0; ++item)
            names.insert(item->if_name);
        ::if_freenameindex(list);
    }
    return names;
}

const nlohmann::json* find_interface(const nlohmann::json& interfaces, const std::string& name) {
    for (const auto& entry : interfaces) {
        if (entry.value("name", "") == name) return &entry;
    }
    return nullptr;
}

TEST(Hostname, DefaultIsNsbox) {
    RunOutput out = run_probe({"hostname"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["hostname"], "nsbox");
}

TEST(Hostname, FlagSetsIt) {
    RunOutput out = run_probe({"hostname"}, {"--hostname", "probe-host"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["hostname"], "probe-host");
}

TEST(Hostname, EtcHostnameMatches) {
    RunOutput out = run_probe({"read:/etc/hostname"}, {"--hostname", "probe-host"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.probe["read:/etc/hostname"]["content"], "probe-host\n");
}

// Programs that resolve their own host name (Python's logging, many test suites) need it.
TEST(Hostname, EtcHostsResolvesIt) {
    RunOutput out = run_probe({"read:/etc/hosts"}, {"--hostname", "probe-host"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    bool found = false;
    for (const std::string& line : lines_of(out.probe["read:/etc/hosts"].value("content", ""))) {
        std::istringstream fields(line);
        std::string address, name;
        fields >> address;
        while (fields >> name) found = found || name == "probe-host";
    }
    EXPECT_TRUE(found) << out.probe["read:/etc/hosts"];
}

TEST(Hostname, HostKeepsItsOwn) {
    char before[256] = {};
    ASSERT_EQ(::gethostname(before, sizeof before - 1), 0);
    RunOutput out = run_probe({"hostname"}, {"--hostname", "probe-host"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    char after[256] = {};
    ASSERT_EQ(::gethostname(after, sizeof after - 1), 0);
    EXPECT_STREQ(before, after);
}

TEST(Net, OnlyLoopbackIsPresent) {
    RunOutput out = run_probe({"net"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(interface_names(out.probe["interfaces"]), std::set<std::string>{"lo"})
        << out.probe["interfaces"];
}

TEST(Net, LoopbackIsUp) {
    RunOutput out = run_probe({"net"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    const nlohmann::json* lo = find_interface(out.probe["interfaces"], "lo");
    ASSERT_NE(lo, nullptr) << out.probe["interfaces"];
    EXPECT_EQ(lo->value("up", false), true) << *lo;
}

TEST(Net, LoopbackHas127001) {
    RunOutput out = run_probe({"net"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    const nlohmann::json* lo = find_interface(out.probe["interfaces"], "lo");
    ASSERT_NE(lo, nullptr) << out.probe["interfaces"];
    const nlohmann::json addresses = lo->value("addresses", nlohmann::json::array());
    EXPECT_NE(std::find(addresses.begin(), addresses.end(), "127.0.0.1"), addresses.end()) << *lo;
}

TEST(Net, HostNetworkShowsTheHostInterfaces) {
    RunOutput out = run_probe({"net"}, {"--net", "host"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(interface_names(out.probe["interfaces"]), host_interface_names());
}

}  // namespace
}  // namespace nsbox::test
