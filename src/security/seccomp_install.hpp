// Child side: installing the parent-compiled seccomp program in the payload, the last step
// before execve. Async-signal-safe: no allocation, no libseccomp.
#pragma once

#include <linux/filter.h>

#include <cstddef>

namespace nsbox::security {

// Installs the program for the calling thread (no_new_privs must already be set). With
// `new_listener`, the kernel returns a user-notification fd in *listener. Returns 0 or an errno.
int install_filter(const sock_filter* program, std::size_t length, bool new_listener,
                   int* listener) noexcept;

}  // namespace nsbox::security
