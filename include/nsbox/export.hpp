// Exporting a run's workspace changes: the overlay upper layer, which holds exactly what the
// code created or changed, is copied into a host directory after the run (--output DIR).
//
// The upper layer was written by untrusted code: every name is opened relative to a directory
// fd, symlinks are never followed (they are recreated as symlinks), and only regular files,
// directories and symlinks are exported.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "nsbox/result.hpp"

namespace nsbox {

struct ExportLimits {
    std::uint64_t max_files = 100000;       // entries written (files, dirs, symlinks)
    std::uint64_t max_bytes = 16ULL << 30;  // total bytes of file content
    int max_depth = 128;
};

struct ExportSkip {
    std::string path;    // relative to the workspace root
    std::string reason;  // e.g. "fifo", "limit: max_bytes", "Permission denied"
};

struct ExportSummary {
    std::vector<std::string> written;  // relative paths of files and symlinks written
    std::vector<std::string> deleted;  // relative paths the code deleted (overlay whiteouts)
    std::vector<ExportSkip> skipped;
    std::uint64_t bytes = 0;
};

// `upper_dirfd` is an open directory fd on the overlay's upper layer. `dest` is created if
// missing. Entries that cannot be exported are listed in `skipped`, not treated as errors;
// an error is returned only when `dest` itself cannot be created or opened.
Result<ExportSummary> export_changes(int upper_dirfd, const std::filesystem::path& dest,
                                     const ExportLimits& limits);

}  // namespace nsbox
