// Store internals shared by building, removal and run-time use (see nsbox/rootfs.hpp for the
// layout).
#pragma once

#include <filesystem>
#include <string>

#include "nsbox/rootfs.hpp"
#include "nsbox/run_result.hpp"
#include "nsbox/unique_fd.hpp"
#include "nsbox/validate.hpp"

namespace nsbox::rootfs {

inline constexpr const char* kManifestFile = "manifest.json";
inline constexpr const char* kLayerFile = "layer.json";
inline constexpr const char* kRootDir = "root";
inline constexpr const char* kLayersDir = "layers";
inline constexpr const char* kBuildPrefix = ".build-";  // a build in progress (locked)
inline constexpr const char* kNewPrefix = ".new-";      // being created: not yet locked
inline constexpr const char* kTreePrefix = ".tree-";    // a published tree; NAME links to it
inline constexpr const char* kOldPrefix = ".old-";      // set aside for removal
inline constexpr const char* kLockPrefix = ".lock-";    // layers/.lock-KEY: one builder per key
inline constexpr const char* kSystemStore = "/var/lib/nsbox/rootfs";

// Opens `dir` (O_DIRECTORY, no symlink at the last component) and flocks it; an empty fd when
// `nonblocking` and someone else holds a conflicting lock.
Result<UniqueFd> lock_dir(const std::filesystem::path& dir, bool exclusive, bool nonblocking);

// Creates `store` (and its parents) if missing.
Result<void> ensure_store(const std::filesystem::path& store);

// A fresh `.build-XXXXXX` directory in `parent` with `mode`, locked exclusively while `lock`
// lives.
struct BuildDir {
    std::filesystem::path path;
    UniqueFd lock;
};
Result<BuildDir> make_build_dir(const std::filesystem::path& parent, mode_t mode);

// Publishes a finished rootfs build as `.tree-ID` and points `NAME` at it (an atomic symlink
// replacement). The tree it replaces stays while a sandbox holds it; garbage collection
// removes it after.
Result<void> publish_tree(const std::filesystem::path& build, const std::filesystem::path& store,
                          const std::string& name, const std::string& id);

// Publishes a finished requirements layer; never replaces one (EEXIST if built meanwhile).
Result<void> publish_layer(const std::filesystem::path& build, const std::filesystem::path& dest);

// Removes a tree this caller built: directly, or, for a rootless build whose files belong to
// subordinate ids, inside a user namespace that maps them (newuidmap/newgidmap).
Result<void> remove_tree(const std::filesystem::path& tree);

// Reads NAME/manifest.json (with `root/usr` present) into an Installed.
Result<Installed> read_installed(const std::filesystem::path& dir, const std::string& name);

std::string manifest_json(const Manifest& manifest);

// Runs one of nsbox's own sandboxes (a build's check, pip's) and returns its exit code: the
// named profile, without any [requirements] the caller's profiles set (these are not runs of a
// requirements file), the payload's stdout sent to stderr, where build progress goes (stdout
// stays the command's own: paths, listings).
Result<int> run_internal_sandbox(const char* profile_name, const RunRequest& request);

// "2026-11-23T10:04:05Z".
std::string utc_timestamp();

}  // namespace nsbox::rootfs
