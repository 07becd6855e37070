// Parent side: turning the child's fixed-size failure record into one clear Error line.
#pragma once

#include "launch/plan.hpp"
#include "launch/sync.hpp"
#include "nsbox/error.hpp"

namespace nsbox::launch {

Error describe_failure(const SyncMsg& failure, const LaunchPlan& plan);

}  // namespace nsbox::launch
