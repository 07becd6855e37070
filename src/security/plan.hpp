// Parent side: everything the security layers need at launch, prepared before clone.
#pragma once

#include "nsbox/security.hpp"
#include "security/caps.hpp"
#include "security/landlock.hpp"
#include "security/seccomp_compile.hpp"

namespace nsbox::security {

struct SecurityPlan {
    CompiledFilter seccomp;
    LandlockPlan landlock;
    CapsPlan caps;
    SecurityLayers layers;
};

Result<SecurityPlan> plan_security(const Spec& spec);

}  // namespace nsbox::security
