// Child side: seccomp(SECCOMP_SET_MODE_FILTER) with the compiled program (see the header).
#include "security/seccomp_install.hpp"

#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace nsbox::security {

int install_filter(const sock_filter* program, std::size_t length, bool new_listener,
                   int* listener) noexcept {
    sock_fprog prog{};
    prog.len = static_cast<unsigned short>(length);
    prog.filter = const_cast<sock_filter*>(program);  // the kernel only reads it
    const unsigned flags = new_listener ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0;
    const long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
    if (rc < 0) return errno;
    if (listener) *listener = new_listener ? static_cast<int>(rc) : -1;
    return 0;
}

}  // namespace nsbox::security
