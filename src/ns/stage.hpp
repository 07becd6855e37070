// Child side: the two pivots that bracket the mount plan, and the network/hostname steps.
// Each returns 0 or an errno; all are async-signal-safe.
#pragma once

namespace nsbox::ns {

// Makes all mounts private, mounts the staging tmpfs and pivots into it (host root at /oldroot).
int stage_root() noexcept;
// Pivots into /newroot and detaches the staging root and the host's root.
int enter_new_root() noexcept;
// Brings the loopback interface up in a new network namespace.
int bring_up_loopback() noexcept;

}  // namespace nsbox::ns
