// Child side: loopback up in the new network namespace (127.0.0.1 and ::1 come with it).
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ns/stage.hpp"

namespace nsbox::ns {

int bring_up_loopback() noexcept {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno;
    ifreq request{};
    std::memcpy(request.ifr_name, "lo", 3);
    int err = 0;
    if (::ioctl(fd, SIOCGIFFLAGS, &request) != 0) {
        err = errno;
    } else {
        request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP | IFF_RUNNING);
        if (::ioctl(fd, SIOCSIFFLAGS, &request) != 0) err = errno;
    }
    ::close(fd);
    return err;
}

}  // namespace nsbox::ns
