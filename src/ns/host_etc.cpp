// Parent side: what the sandbox's /etc holds: generated identity and network files, and the
// allowlisted, harmless parts of the host's /etc (never passwd, shadow, or secrets).
#include <fmt/core.h>

#include "launch/plan.hpp"

namespace nsbox::launch {

std::vector<ns::GeneratedFile> generated_etc_files(const Spec& spec,
                                                   const std::string& resolv_conf) {
    const std::string& host = spec.hostname.value;
    return {
        {"passwd", fmt::format("root:x:0:0:root:/root:/usr/sbin/nologin\n"
                               "{0}:x:{1}:{2}:nsbox sandbox:{3}:/bin/sh\n"
                               "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
                               kSandboxUser, kSandboxUid, kSandboxGid, kSandboxHome)},
        {"group",
         fmt::format("root:x:0:\n{}:x:{}:\nnogroup:x:65534:\n", kSandboxUser, kSandboxGid)},
        {"hostname", host + "\n"},
        {"hosts", fmt::format("127.0.0.1\tlocalhost\n127.0.1.1\t{}\n"
                              "::1\tlocalhost ip6-localhost ip6-loopback\n",
                              host)},
        {"nsswitch.conf",
         "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\n"
         "protocols: files\nservices: files\nethers: files\nrpc: files\n"},
        {"resolv.conf", resolv_conf},
    };
}

}  // namespace nsbox::launch
