// Merging of Settings layers (defaults <- profile chain <- command line). Pure.
#include "nsbox/profile.hpp"

namespace nsbox {
namespace {

template <class T>
void take(std::optional<T>& base, const std::optional<T>& overlay) {
    if (overlay) base = overlay;
}

template <class T>
void append(std::vector<T>& base, const std::vector<T>& overlay) {
    base.insert(base.end(), overlay.begin(), overlay.end());
}

}  // namespace

void merge_settings(Settings& base, const Settings& overlay) {
    take(base.rootfs, overlay.rootfs);
    take(base.hostname, overlay.hostname);
    take(base.network, overlay.network);
    take(base.workspace_mode, overlay.workspace_mode);
    take(base.workspace_size, overlay.workspace_size);
    take(base.workspace_at, overlay.workspace_at);
    take(base.tmp_size, overlay.tmp_size);
    take(base.shm_size, overlay.shm_size);
    take(base.home_size, overlay.home_size);
    take(base.timeout, overlay.timeout);
    append(base.binds, overlay.binds);
    append(base.tmpfs, overlay.tmpfs);
    append(base.env_pass, overlay.env_pass);
    append(base.env_set, overlay.env_set);
    append(base.env_files, overlay.env_files);
    take(base.seccomp_action, overlay.seccomp_action);
    append(base.seccomp_allow, overlay.seccomp_allow);
    append(base.workspace_read_only, overlay.workspace_read_only);
    append(base.seccomp_deny, overlay.seccomp_deny);
    take(base.requirements_file, overlay.requirements_file);
    take(base.find_links, overlay.find_links);
    take(base.no_index, overlay.no_index);
    take(base.landlock, overlay.landlock);
    take(base.landlock_allow_tcp, overlay.landlock_allow_tcp);
    take(base.limits_mode, overlay.limits_mode);
    take(base.memory_limit, overlay.memory_limit);
    take(base.pids_limit, overlay.pids_limit);
    take(base.cpus_limit, overlay.cpus_limit);
    take(base.cpu_time_limit, overlay.cpu_time_limit);
    take(base.output_limit, overlay.output_limit);
    take(base.open_files_limit, overlay.open_files_limit);
}

}  // namespace nsbox
