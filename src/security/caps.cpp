// Capability sets and securebits (see caps.hpp). libcap is used only here.
#include "security/caps.hpp"

#include <linux/securebits.h>
#include <sys/capability.h>

#include <cerrno>

namespace nsbox::security {
namespace {

// Locked on: uid 0 gains nothing at exec, ambient capabilities can never be raised, and
// keep-caps stays off. The uid-change fixup stays on (locked) so that switching to the sandbox
// user clears what the init still held.
constexpr unsigned kSecureBits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
                                 SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
                                 SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;

}  // namespace

void CapsPlan::Free::operator()(void* caps) const noexcept { cap_free(caps); }

Result<CapsPlan> CapsPlan::prepare() {
    CapsPlan plan;
    plan.empty_.reset(cap_init());  // cap_init() returns a cleared set
    if (!plan.empty_) return fail(Error::from_errno(Step::kPlan, "cap_init"));
    plan.last_cap_ = static_cast<int>(cap_max_bits()) - 1;
    return plan;
}

int apply_bounding_and_securebits(const CapsPlan& plan) noexcept {
    for (int cap = 0; cap <= plan.last_cap(); ++cap) {
        if (cap_drop_bound(static_cast<cap_value_t>(cap)) != 0 && errno != EINVAL) return errno;
    }
    if (cap_reset_ambient() != 0) return errno;
    if (cap_set_secbits(kSecureBits) != 0) return errno;
    return 0;
}

int apply_empty_caps(const CapsPlan& plan) noexcept {
    if (cap_set_proc(static_cast<cap_t>(plan.empty_set())) != 0) return errno;
    return 0;
}

}  // namespace nsbox::security
