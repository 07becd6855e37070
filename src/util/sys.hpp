// Thin, async-signal-safe wrappers for system calls glibc 2.36 does not wrap, plus EINTR retry.
// Usable on both sides of clone.
#pragma once

#include <linux/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

namespace nsbox::sys {

template <class F>
auto retry_eintr(F call) noexcept {
    for (;;) {
        auto result = call();
        if (result != -1 || errno != EINTR) return result;
    }
}

inline int pivot_root(const char* new_root, const char* put_old) noexcept {
    return static_cast<int>(::syscall(SYS_pivot_root, new_root, put_old));
}

inline int mount_setattr(int dirfd, const char* path, unsigned flags, mount_attr* attr) noexcept {
    return static_cast<int>(::syscall(SYS_mount_setattr, dirfd, path, flags, attr, sizeof *attr));
}

inline int open_tree(int dirfd, const char* path, unsigned flags) noexcept {
    return static_cast<int>(::syscall(SYS_open_tree, dirfd, path, flags));
}

inline int move_mount(int from_dirfd, const char* from_path, int to_dirfd, const char* to_path,
                      unsigned flags) noexcept {
    return static_cast<int>(
        ::syscall(SYS_move_mount, from_dirfd, from_path, to_dirfd, to_path, flags));
}

inline int pidfd_send_signal(int pidfd, int sig) noexcept {
    return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

inline int close_range(unsigned first, unsigned last, unsigned flags) noexcept {
    return static_cast<int>(::syscall(SYS_close_range, first, last, flags));
}

}  // namespace nsbox::sys
