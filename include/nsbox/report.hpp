// The JSON run report (--report). Designed to grow: consumers must ignore unknown keys, and
// existing keys keep their meaning. `report_version` changes only on incompatible changes.
#pragma once

#include <string>
#include <vector>

#include "nsbox/error.hpp"
#include "nsbox/run_result.hpp"
#include "nsbox/spec.hpp"

namespace nsbox {

struct ReportInput {
    std::vector<std::string> argv;      // nsbox's own command line
    const Spec* spec = nullptr;         // null when the run failed before validation finished
    const RunResult* result = nullptr;  // null when the sandbox was never started
    const Error* error = nullptr;       // a launcher error without a RunResult
};

// One JSON object, pretty-printed, ending in a newline.
std::string render_report(const ReportInput& input);

}  // namespace nsbox
