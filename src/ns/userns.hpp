// Parent side: writing a child's uid/gid maps (one id: the sandbox user) with setgroups denied.
#pragma once

#include <sys/types.h>

#include "nsbox/result.hpp"

namespace nsbox::ns {

// `pidfd` pins the child: the /proc/<pid> directory is opened first and the pidfd checked
// afterwards, so the maps cannot land on a recycled pid.
Result<void> write_id_maps(pid_t pid, int pidfd, uid_t host_uid, gid_t host_gid);

}  // namespace nsbox::ns
