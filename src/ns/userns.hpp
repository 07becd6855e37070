// Parent side: writing a child's uid/gid maps (one id: the sandbox user) with setgroups denied.
#pragma once

#include <sys/types.h>

#include "nsbox/result.hpp"
#include "nsbox/unique_fd.hpp"

namespace nsbox::ns {

// `pidfd` pins the child: the /proc/<pid> directory is opened first and the pidfd checked
// afterwards, so the maps cannot land on a recycled pid.
Result<void> write_id_maps(pid_t pid, int pidfd, uid_t host_uid, gid_t host_gid);

// Root only: a user namespace whose maps send `owner` ids to `to` ids, for idmapped mounts
// (MOUNT_ATTR_IDMAP). Creating it costs one short-lived process.
Result<UniqueFd> make_idmap_userns(uid_t owner_uid, gid_t owner_gid, uid_t to_uid, gid_t to_gid);

}  // namespace nsbox::ns
