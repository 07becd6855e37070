// SyncMsg transport over SOCK_SEQPACKET (see sync.hpp). Used on both sides of clone.
#include "launch/sync.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace nsbox::launch {

int send_msg(int fd, const SyncMsg& msg) noexcept { return send_msg_with_fd(fd, msg, -1); }

int send_msg_with_fd(int fd, const SyncMsg& msg, int passed_fd) noexcept {
    iovec iov{const_cast<SyncMsg*>(&msg), sizeof msg};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr header{};
    header.msg_iov = &iov;
    header.msg_iovlen = 1;
    if (passed_fd >= 0) {
        header.msg_control = control;
        header.msg_controllen = sizeof control;
        cmsghdr* cmsg = CMSG_FIRSTHDR(&header);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(cmsg), &passed_fd, sizeof(int));
    }
    for (;;) {
        if (::sendmsg(fd, &header, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof msg)) return 0;
        if (errno != EINTR) return errno;
    }
}

int recv_msg(int fd, SyncMsg* msg, int* received_fd) noexcept {
    *received_fd = -1;
    iovec iov{msg, sizeof *msg};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr header{};
    header.msg_iov = &iov;
    header.msg_iovlen = 1;
    header.msg_control = control;
    header.msg_controllen = sizeof control;
    ssize_t n;
    do {
        n = ::recvmsg(fd, &header, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    if (n == 0) return 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&header); c != nullptr; c = CMSG_NXTHDR(&header, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
            std::memcpy(received_fd, CMSG_DATA(c), sizeof(int));
    }
    return n == static_cast<ssize_t>(sizeof *msg) ? 1 : -EPROTO;
}

}  // namespace nsbox::launch
