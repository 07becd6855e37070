// Capabilities (libcap is used only in src/security). Prepared in the parent, applied in the
// sandbox init before it switches to the sandbox user, so the payload starts with every set
// empty (bounding, ambient, inheritable, permitted, effective) and the securebits locked: no
// path back to a capability exists, not even through a file capability or uid 0.
#pragma once

#include <memory>

#include "nsbox/result.hpp"

namespace nsbox::security {

class CapsPlan {
 public:
    CapsPlan() = default;
    static Result<CapsPlan> prepare();
    [[nodiscard]] void* empty_set() const noexcept { return empty_.get(); }
    [[nodiscard]] int last_cap() const noexcept { return last_cap_; }

 private:
    struct Free {
        void operator()(void* caps) const noexcept;
    };
    std::unique_ptr<void, Free> empty_;
    int last_cap_ = 0;
};

// Child side, async-signal-safe, each returns 0 or an errno.
// Before the uid switch, while the init still holds CAP_SETPCAP in its user namespace: empty the
// bounding and ambient sets and lock the securebits.
int apply_bounding_and_securebits(const CapsPlan& plan) noexcept;
// After the uid switch: clear the inheritable, permitted and effective sets.
int apply_empty_caps(const CapsPlan& plan) noexcept;

}  // namespace nsbox::security
