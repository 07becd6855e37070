// Prepared root filesystems: recipes (rootfs/*.toml), the store they are built into, and the
// requirements layers pip installs on top of them.
//
// Store layout (one per caller: $NSBOX_ROOTFS_DIR if set, else $XDG_DATA_HOME/nsbox/rootfs, or
// /var/lib/nsbox/rootfs for root; users also find root's):
//   NAME -> .tree-ID        a symlink to the current build of NAME
//   .tree-ID/manifest.json  what was built: recipe hash, packages and versions, date, the id
//   .tree-ID/root/          the Debian tree mmdebstrap made (owned by subordinate ids when
//                           built rootless; used read-only, so they show as "nobody" inside)
//   layers/KEY/layer.json   a requirements layer: base id, requirements hash, pip's result
//   layers/KEY/root/usr/... what pip installed (--root), an overlay lower layer at run time
//   .build-*/, .old-*/      builds in progress and trees set aside, each guarded by a flock;
//                           whichever of them no process holds is debris and is removed, as
//                           is a .tree-* no NAME points to any more
//
// A tree appears by one rename(2) of a finished build and never moves after; NAME changes by
// one atomic symlink replacement. A run holds a shared flock on the tree (and layer) it uses;
// removal takes it exclusively and refuses while a sandbox uses it; a rebuild leaves the old
// tree to the sandboxes still using it. Root's trees are mode 0711: users may run in them but
// not open (and so not lock) them, so they cannot pin root's store.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nsbox/result.hpp"
#include "nsbox/spec.hpp"
#include "nsbox/unique_fd.hpp"

namespace nsbox::rootfs {

// ---- recipes ----

struct RecipeFile {
    std::string path;  // absolute, in the rootfs
    std::string content;
    mode_t mode = 0644;
};

struct Recipe {
    std::string name;  // the file's stem: "python" for python.toml
    std::string path;  // the file it came from
    std::string sha256;
    std::string description;
    std::string suite;
    std::string variant;
    std::string mirror;  // empty: mmdebstrap's default
    std::vector<std::string> components;
    std::vector<std::string> packages;
    std::vector<RecipeFile> files;
    std::vector<std::string> check;  // a command run in the finished rootfs; empty: none
};

// $XDG_CONFIG_HOME/nsbox/rootfs, /etc/nsbox/rootfs, the share dir next to the binary, the
// install dir: the same order as profiles.
std::vector<std::filesystem::path> recipe_search_dirs();
Result<Recipe> parse_recipe(std::string_view text, const std::string& file);
// NAME (searched in `dirs`) or a path (contains '/' or ends in ".toml").
Result<Recipe> load_recipe(std::string_view name_or_path,
                           const std::vector<std::filesystem::path>& dirs);

// ---- the store ----

// Lower-case letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64.
bool is_valid_name(std::string_view name);
// A --rootfs value names a stored rootfs when it is neither "host" nor contains a '/'.
bool names_stored_rootfs(std::string_view value);

// Where this caller's builds go: $NSBOX_ROOTFS_DIR when absolute, else as above; empty when
// none of NSBOX_ROOTFS_DIR, XDG_DATA_HOME and HOME is set.
std::filesystem::path own_store_dir();
// Where names are looked up: the caller's store, then (for users) root's /var/lib/nsbox/rootfs.
std::vector<std::filesystem::path> store_search_dirs();

struct Package {
    std::string name;
    std::string version;
};

struct Manifest {
    std::string name;
    std::string id;  // random, per build: what requirements layers are keyed on
    std::string recipe_name;
    std::string recipe_path;
    std::string recipe_sha256;
    std::string suite;
    std::string variant;
    std::string built_at;  // ISO 8601, UTC
    double build_seconds = 0;
    std::string builder;  // "rootless" or "root"
    std::uint64_t size_bytes = 0;
    std::string nsbox_version;
    std::vector<Package> packages;
};

struct Installed {
    std::string name;
    std::filesystem::path dir;   // NAME/
    std::filesystem::path root;  // NAME/root
    Manifest manifest;
};

// Errors name the store and say how to build or rebuild.
Result<Installed> find_installed(std::string_view name,
                                 const std::vector<std::filesystem::path>& dirs);

struct Listing {
    std::vector<Installed> rootfs;
    std::vector<std::string> damaged;         // "NAME: why" for entries that cannot be used
    std::map<std::string, int> layer_counts;  // requirements layers per base name
};
Result<Listing> list_installed(const std::filesystem::path& store);

// ---- building and removing ----

struct BuildOptions {
    std::string name;  // empty: the recipe's name
    bool progress = true;
};

// Builds `recipe` with mmdebstrap into the caller's store, replacing an older build of the same
// name once the new one has passed its check. SIGINT/SIGTERM/SIGHUP stop the build and remove
// what it made. Call from a single-threaded process.
Result<Installed> build(const Recipe& recipe, const BuildOptions& options);

// Removes NAME and the requirements layers built on it from the caller's store; refuses while
// a sandbox uses it.
Result<void> remove(std::string_view name);

// Removes debris of interrupted builds and replaced trees no process holds any more.
void collect_garbage(const std::filesystem::path& store);

// ---- requirements layers ----

struct Layer {
    std::string key;
    std::filesystem::path dir;
    std::filesystem::path root;
    bool built_now = false;
    std::chrono::milliseconds build_time{0};
};

// The hash a layer is stored under: the base's build id, the requirements file's bytes, pip's
// index options, and the names and sizes of the files in the --find-links directory (not its
// path). Files the requirements file refers to (-r, -c, local paths) are not part of it.
std::string layer_key(const Manifest& base, std::string_view requirements_text,
                      const RequirementsSpec& requirements);

// ---- use at run time ----

// Shared locks on the rootfs and layer a sandbox uses, held until it has finished.
class Lease {
 public:
    Lease() = default;
    void hold(UniqueFd fd) { locks_.push_back(std::move(fd)); }

 private:
    std::vector<UniqueFd> locks_;
};

// For a spec whose rootfs came from the store: locks it, builds or reuses the requirements
// layer (pip runs in a sandbox of its own: the "requirements" profile, network only when pip
// may use an index), and adds the layer to spec.rootfs_layers.
Result<Lease> prepare_for_run(Spec& spec);

}  // namespace nsbox::rootfs
