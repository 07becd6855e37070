// Command-line flags -> a Settings layer whose values carry the "command line" origin.
#pragma once

#include "cli/options.hpp"
#include "nsbox/result.hpp"
#include "nsbox/spec.hpp"

namespace nsbox::cli {

Result<Settings> settings_from_flags(const RunOptions& options);

}  // namespace nsbox::cli
