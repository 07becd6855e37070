// The mount plan: every mount, directory, symlink and file that builds the sandbox's root,
// as plain data computed in the parent (plan_mounts is pure) and applied in order by the child
// (apply_mount, async-signal-safe).
//
// Paths are absolute in the child's staging view, where the host's root is at /oldroot and the
// new root is assembled at /newroot before pivot_root (bubblewrap's two-step pivot).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "nsbox/spec.hpp"

namespace nsbox::ns {

inline constexpr const char* kStageDir = "/tmp";  // host dir the staging tmpfs is mounted on
inline constexpr const char* kOldRoot = "/oldroot";
inline constexpr const char* kNewRoot = "/newroot";
inline constexpr const char* kUpperMount = "/upper";  // workspace overlay's upper tmpfs
inline constexpr const char* kUpperDir = "/upper/data";
inline constexpr const char* kUpperWork = "/upper/work";
inline constexpr const char* kLowerDir = "/lower";    // the workspace bound in the stage
inline constexpr const char* kGeneratedDir = "/gen";  // generated files for a prepared rootfs

enum class MountKind : std::uint8_t {
    kBind,          // bind `source` on `target` (recursive), optionally read-only
    kTmpfs,         // tmpfs with `data` options
    kProc,          // fresh procfs for the sandbox's pid namespace
    kDevpts,        // new devpts instance
    kOverlay,       // overlayfs with `data` options
    kSymlink,       // symlink at `target` pointing to `source`
    kMkdir,         // directory `target` with `mode`
    kFile,          // regular file `target` with content `source` and `mode`
    kChown,         // chown `target` to uid/gid
    kMaskFile,      // bind /dev/null over `target` if it exists
    kMaskDir,       // read-only empty tmpfs over `target` if it exists
    kReadOnly,      // make the mount at `target` read-only (not recursive)
    kIdmappedBind,  // bind `source` with its `owner` ids shown as the sandbox user's (root only)
    kCopyFile,      // copy the regular file `source` to `target` with `mode`
};

struct MountOp {
    MountKind kind = MountKind::kBind;
    std::string source;
    std::string target;
    std::string data;
    unsigned long flags = 0;  // MS_NOSUID | MS_NODEV | MS_NOEXEC for new mounts
    bool read_only = false;
    bool recursive = false;     // kReadOnly: apply to the whole subtree
    bool optional = false;      // skip when the source or target does not exist
    bool source_is_dir = true;  // decides whether the mount point is a dir or an empty file
    mode_t mode = 0755;
    uid_t uid = 0;
    gid_t gid = 0;
    int userns_fd = -1;  // kIdmappedBind: the user namespace describing the id mapping
    std::string label;   // human description for error lines
};

// A top-level entry of the rootfs (the host's / or a prepared directory), read by the parent.
struct RootEntry {
    enum class Type : std::uint8_t { kDir, kSymlink, kFile };
    std::string name;
    Type type = Type::kDir;
    std::string link_target;
};

// A read-only layer over the rootfs (a requirements layer): its root and the top-level
// directories it has.
struct RootfsLayer {
    std::string root;
    std::vector<std::string> dirs;
};

struct GeneratedFile {
    std::string name;  // file name under /etc
    std::string content;
};

struct MountInputs {
    const Spec* spec = nullptr;
    std::vector<RootEntry> root_entries;          // what to take from the rootfs's top level
    std::vector<RootEntry> etc_entries;           // host /etc dirs and links to expose
    std::vector<std::string> etc_copies;          // host /etc regular files to copy
    std::vector<std::string> prepared_etc_files;  // names present in DIR/etc (prepared rootfs)
    std::vector<RootfsLayer> layers;              // over the rootfs, uppermost first
    std::vector<GeneratedFile> etc_files;         // passwd, group, hosts, ...
    std::vector<bool> bind_source_is_dir;         // parallel to spec->binds
    uid_t setup_uid = 0;  // the sandbox user's ids as seen by the child during setup
    gid_t setup_gid = 0;
    int workspace_idmap_fd = -1;  // root: map the workspace owner to the sandbox user
};

std::vector<MountOp> plan_mounts(const MountInputs& inputs);

// Child side: applies one op. Returns 0 or an errno; `*phase` is 0 if the mount point could not
// be created, 1 if the operation itself failed. noexcept, no allocation.
int apply_mount(const MountOp& op, int* phase) noexcept;

}  // namespace nsbox::ns
