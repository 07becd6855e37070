// Parent side: answering seccomp user notifications (see seccomp_notify.hpp).
#include "security/seccomp_notify.hpp"

#include <linux/seccomp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "util/sys.hpp"

namespace nsbox::security {
namespace {

seccomp_notif_sizes notif_sizes() {
    seccomp_notif_sizes sizes{};
    if (::syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0) {
        sizes.seccomp_notif = sizeof(seccomp_notif);
        sizes.seccomp_notif_resp = sizeof(seccomp_notif_resp);
    }
    return sizes;
}

}  // namespace

DenialMonitor::DenialMonitor(const CompiledFilter& filter, int kill_pidfd)
    : filter_(filter), kill_pidfd_(kill_pidfd) {
    // The kernel's structures may be larger than this build's headers; it says how large.
    const seccomp_notif_sizes sizes = notif_sizes();
    notif_buf_.resize(std::max<std::size_t>(sizes.seccomp_notif, sizeof(seccomp_notif)));
    resp_buf_.resize(std::max<std::size_t>(sizes.seccomp_notif_resp, sizeof(seccomp_notif_resp)));
}

void DenialMonitor::answer(std::uint64_t id, int err) {
    std::fill(resp_buf_.begin(), resp_buf_.end(), 0);
    auto* resp = reinterpret_cast<seccomp_notif_resp*>(resp_buf_.data());
    resp->id = id;
    resp->error = -err;
    // ENOENT: the caller died or was interrupted meanwhile; nothing to answer.
    (void)sys::retry_eintr([&] { return ::ioctl(fd(), SECCOMP_IOCTL_NOTIF_SEND, resp); });
}

void DenialMonitor::on_ready(short revents) {
    if (!(revents & POLLIN)) {
        if (revents & (POLLHUP | POLLERR | POLLNVAL)) listener_.reset();
        return;
    }
    std::fill(notif_buf_.begin(), notif_buf_.end(), 0);  // the kernel insists on zeroes
    auto* notif = reinterpret_cast<seccomp_notif*>(notif_buf_.data());
    if (sys::retry_eintr([&] { return ::ioctl(fd(), SECCOMP_IOCTL_NOTIF_RECV, notif); }) != 0) {
        if (errno != ENOENT) listener_.reset();
        return;
    }
    const int nr = notif->data.nr;
    ++counts_[nr];
    if (filter_.action == SeccompAction::kKill) {
        // The offending call stays blocked, unanswered, until the sandbox is gone.
        if (!killed_by_) killed_by_ = syscall_name(nr);
        sys::pidfd_send_signal(kill_pidfd_, SIGKILL);
        return;
    }
    answer(notif->id, filter_.errno_for(nr));
}

std::vector<SyscallDenial> DenialMonitor::denials() const {
    std::vector<SyscallDenial> out;
    for (const auto& [nr, count] : counts_) out.push_back({syscall_name(nr), count});
    std::sort(out.begin(), out.end(), [](const SyscallDenial& a, const SyscallDenial& b) {
        return a.count != b.count ? a.count > b.count : a.name < b.name;
    });
    return out;
}

}  // namespace nsbox::security
