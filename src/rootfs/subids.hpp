// Subordinate ids (/etc/subuid, /etc/subgid): what rootless mmdebstrap builds are owned by, and
// a user namespace that maps them back so the building user can remove such a tree.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "nsbox/result.hpp"

namespace nsbox::rootfs {

struct SubidRange {
    unsigned long start = 0;
    unsigned long count = 0;
};

// The ranges `file` grants to `user` (by name or by numeric id), in file order.
std::vector<SubidRange> subordinate_ranges(const std::string& file, const std::string& user,
                                           unsigned long id);

// Why this caller cannot build rootless (no ranges, no newuidmap), as one line with the fix;
// empty when it can.
std::string rootless_build_problem();

// Runs `body` in a forked child that is root of a new user namespace mapping the caller's own
// ids to 0 and its subordinate ranges from 1 on, through the setuid newuidmap/newgidmap. The
// child's exit code (body's return value) is returned.
Result<int> run_as_subordinate_root(const std::function<int()>& body);

}  // namespace nsbox::rootfs
