// plan_mounts: the table-driven, pure planner for the sandbox's root (see mount_plan.hpp).
#include "ns/mount_plan.hpp"

#include <fmt/core.h>
#include <sys/mount.h>

#include <algorithm>
#include <filesystem>

#include "nsbox/units.hpp"
#include "util/path.hpp"

namespace nsbox::ns {
namespace {

constexpr unsigned long kNoSuidDev = MS_NOSUID | MS_NODEV;
constexpr unsigned long kNoSuidDevExec = MS_NOSUID | MS_NODEV | MS_NOEXEC;

// Rootfs top-level names that never come from the rootfs: nsbox provides them fresh.
constexpr const char* kSkippedRootNames[] = {"dev",        "proc", "sys", "tmp",   "run",
                                             "home",       "root", "mnt", "media", "workspace",
                                             "lost+found", "boot", "etc"};

// Device nodes the sandbox gets, bound from the host (mknod is not possible in a user namespace).
constexpr const char* kDevices[] = {"null", "zero", "full", "random", "urandom", "tty"};

// OCI runtimes' masked and read-only /proc paths (runc's defaults).
constexpr const char* kMaskedProcFiles[] = {
    "kcore",       "keys",       "latency_stats", "timer_list", "timer_stats",
    "sched_debug", "interrupts", "kallsyms",      "kpagecount", "kpageflags",
    "kpagecgroup", "config.gz",  "sysrq-trigger"};
constexpr const char* kMaskedProcDirs[] = {"acpi", "asound", "scsi", "driver", "fs/nfsd"};
constexpr const char* kReadOnlyProcPaths[] = {"sys", "bus", "fs", "irq"};

std::string in_new_root(const std::string& path) { return std::string(kNewRoot) + path; }
std::string in_old_root(const std::string& path) {
    return path == "/" ? std::string(kOldRoot) : std::string(kOldRoot) + path;
}

MountOp bind(std::string source, std::string target, bool read_only, std::string label,
             unsigned long flags = kNoSuidDev) {
    MountOp op;
    op.kind = MountKind::kBind;
    op.source = std::move(source);
    op.target = std::move(target);
    op.read_only = read_only;
    op.flags = flags;
    op.label = std::move(label);
    return op;
}

MountOp tmpfs(std::string target, std::uint64_t size, mode_t mode, unsigned long flags,
              std::string label, const std::string& extra = {}) {
    MountOp op;
    op.kind = MountKind::kTmpfs;
    op.target = std::move(target);
    op.data = fmt::format("mode={:o},size={}{}", mode, size, extra);
    op.flags = flags;
    op.mode = mode;
    op.label = std::move(label);
    return op;
}

MountOp simple(MountKind kind, std::string source, std::string target, std::string label,
               mode_t mode = 0755) {
    MountOp op;
    op.kind = kind;
    op.source = std::move(source);
    op.target = std::move(target);
    op.mode = mode;
    op.label = std::move(label);
    return op;
}

// overlayfs splits its options at ',' and lowerdir at ':'; a backslash escapes either.
std::string overlay_path_escape(const std::string& path) {
    std::string out;
    for (const char c : path) {
        if (c == ',' || c == ':' || c == '\\') out += '\\';
        out += c;
    }
    return out;
}

bool skipped_root_name(const std::string& name) {
    return std::any_of(std::begin(kSkippedRootNames), std::end(kSkippedRootNames),
                       [&](const char* skipped) { return name == skipped; });
}

void plan_rootfs(const MountInputs& in, std::vector<MountOp>& ops) {
    const bool host = in.spec->rootfs.value == "host";
    const std::string base = host ? "" : in.spec->rootfs.value;
    for (const RootEntry& entry : in.root_entries) {
        if (skipped_root_name(entry.name)) continue;
        const std::string target = in_new_root("/" + entry.name);
        if (entry.type == RootEntry::Type::kSymlink) {
            ops.push_back(
                simple(MountKind::kSymlink, entry.link_target, target, "symlink /" + entry.name));
        } else if (entry.type == RootEntry::Type::kDir) {
            std::string lower;
            for (const RootfsLayer& layer : in.layers) {
                if (std::find(layer.dirs.begin(), layer.dirs.end(), entry.name) != layer.dirs.end())
                    lower += overlay_path_escape(in_old_root(layer.root + "/" + entry.name)) + ":";
            }
            if (lower.empty()) {
                ops.push_back(bind(in_old_root(base + "/" + entry.name), target, true,
                                   "read-only bind of " + base + "/" + entry.name));
                continue;
            }
            // Layers over the rootfs's directory: an overlay of lower layers only, which the
            // kernel makes read-only, and MS_RDONLY says so to every reader.
            MountOp op = simple(MountKind::kOverlay, "overlay", target,
                                "overlay of the requirements layer on " + base + "/" + entry.name);
            op.flags = kNoSuidDev | MS_RDONLY;
            op.data = fmt::format("lowerdir={}{},userxattr", lower,
                                  overlay_path_escape(in_old_root(base + "/" + entry.name)));
            ops.push_back(std::move(op));
        }
    }
}

void plan_host_etc(const MountInputs& in, std::vector<MountOp>& ops) {
    ops.push_back(tmpfs(in_new_root("/etc"), 1 << 20, 0755, kNoSuidDevExec, "tmpfs /etc"));
    for (const GeneratedFile& file : in.etc_files) {
        MountOp op = simple(MountKind::kFile, file.content, in_new_root("/etc/" + file.name),
                            "generated /etc/" + file.name, 0644);
        ops.push_back(std::move(op));
    }
    for (const std::string& name : in.etc_copies) {
        ops.push_back(simple(MountKind::kCopyFile, in_old_root("/etc/" + name),
                             in_new_root("/etc/" + name), "copy of /etc/" + name, 0644));
    }
    for (const RootEntry& entry : in.etc_entries) {
        const std::string target = in_new_root("/etc/" + entry.name);
        if (entry.type == RootEntry::Type::kSymlink) {
            ops.push_back(simple(MountKind::kSymlink, entry.link_target, target,
                                 "symlink /etc/" + entry.name));
        } else {
            // Flags come from one recursive pass over /etc at the end of the plan.
            MountOp op = bind(in_old_root("/etc/" + entry.name), target, false,
                              "read-only bind of /etc/" + entry.name, 0);
            op.source_is_dir = entry.type == RootEntry::Type::kDir;
            ops.push_back(std::move(op));
        }
    }
}

void plan_prepared_etc(const MountInputs& in, std::vector<MountOp>& ops) {
    const std::string etc = in.spec->rootfs.value + "/etc";
    ops.push_back(bind(in_old_root(etc), in_new_root("/etc"), true, "read-only bind of " + etc,
                       kNoSuidDevExec));
    for (const GeneratedFile& file : in.etc_files) {
        if (std::find(in.prepared_etc_files.begin(), in.prepared_etc_files.end(), file.name) ==
            in.prepared_etc_files.end())
            continue;  // no mount point in a read-only /etc
        const std::string staged = std::string(kGeneratedDir) + "/" + file.name;
        ops.push_back(simple(MountKind::kFile, file.content, staged, "generated " + staged, 0644));
        MountOp op = bind(staged, in_new_root("/etc/" + file.name), true,
                          "generated /etc/" + file.name, kNoSuidDevExec);
        op.source_is_dir = false;
        ops.push_back(std::move(op));
    }
}

void plan_dev(const MountInputs& in, std::vector<MountOp>& ops) {
    ops.push_back(tmpfs(in_new_root("/dev"), 64 << 10, 0755, MS_NOSUID | MS_NOEXEC, "tmpfs /dev"));
    // A bind of a single device node needs no extra flags: it cannot be executed, carries no
    // setuid bit worth honouring, and nodev would break it. Skipping the flags saves a syscall.
    for (const char* device : kDevices) {
        MountOp op = bind(in_old_root(std::string("/dev/") + device),
                          in_new_root(std::string("/dev/") + device), false,
                          std::string("device /dev/") + device, 0);
        op.source_is_dir = false;
        ops.push_back(std::move(op));
    }
    MountOp pts = simple(MountKind::kDevpts, "devpts", in_new_root("/dev/pts"), "devpts /dev/pts");
    pts.flags = MS_NOSUID | MS_NOEXEC;
    pts.data = "newinstance,ptmxmode=0666,mode=0620";
    ops.push_back(std::move(pts));
    ops.push_back(simple(MountKind::kSymlink, "pts/ptmx", in_new_root("/dev/ptmx"), "/dev/ptmx"));
    ops.push_back(simple(MountKind::kSymlink, "/proc/self/fd", in_new_root("/dev/fd"), "/dev/fd"));
    ops.push_back(
        simple(MountKind::kSymlink, "/proc/self/fd/0", in_new_root("/dev/stdin"), "/dev/stdin"));
    ops.push_back(
        simple(MountKind::kSymlink, "/proc/self/fd/1", in_new_root("/dev/stdout"), "/dev/stdout"));
    ops.push_back(
        simple(MountKind::kSymlink, "/proc/self/fd/2", in_new_root("/dev/stderr"), "/dev/stderr"));
    ops.push_back(tmpfs(in_new_root("/dev/shm"), in.spec->shm_size.value, 01777, kNoSuidDevExec,
                        "tmpfs /dev/shm"));
}

void plan_workspace(const MountInputs& in, std::vector<MountOp>& ops) {
    const Spec& spec = *in.spec;
    const std::string target = in_new_root(spec.workspace_dest.value);
    const std::string host_dir = in_old_root(spec.workspace.value);
    // Root's payload runs as an unprivileged host id; an idmapped bind shows it the workspace
    // owner's files as its own, so it can change them as the owner could.
    auto workspace_bind = [&](std::string to, bool ro, std::string label) {
        MountOp op = bind(host_dir, std::move(to), ro, std::move(label));
        if (in.workspace_idmap_fd >= 0) {
            op.kind = MountKind::kIdmappedBind;
            op.userns_fd = in.workspace_idmap_fd;
        }
        return op;
    };
    if (spec.workspace_mode.value != WorkspaceMode::kOverlay) {
        const bool ro = spec.workspace_mode.value == WorkspaceMode::kReadOnly;
        ops.push_back(workspace_bind(
            target, ro,
            fmt::format("{}bind of workspace {}", ro ? "read-only " : "", spec.workspace.value)));
        return;
    }
    ops.push_back(
        tmpfs(kUpperMount, spec.workspace_size.value, 0755, kNoSuidDev, "workspace overlay tmpfs"));
    ops.push_back(simple(MountKind::kMkdir, {}, kUpperDir, "workspace upper dir"));
    ops.push_back(simple(MountKind::kMkdir, {}, kUpperWork, "workspace work dir"));
    MountOp owner = simple(MountKind::kChown, {}, kUpperDir, "workspace upper dir owner");
    owner.uid = in.setup_uid;
    owner.gid = in.setup_gid;
    ops.push_back(std::move(owner));
    ops.push_back(workspace_bind(kLowerDir, true, "bind of workspace " + spec.workspace.value));
    MountOp overlay = simple(MountKind::kOverlay, "overlay", target,
                             "overlay on workspace " + spec.workspace.value);
    overlay.flags = kNoSuidDev;
    overlay.data = fmt::format("lowerdir={},upperdir={},workdir={},userxattr", kLowerDir, kUpperDir,
                               kUpperWork);
    ops.push_back(std::move(overlay));
}

// One recursive mount_setattr for a whole subtree instead of one per bind below it.
MountOp read_only_tree(std::string target, std::string label) {
    MountOp op = simple(MountKind::kReadOnly, {}, std::move(target), std::move(label));
    op.flags = kNoSuidDevExec;
    op.recursive = true;
    return op;
}

void precreate_mount_points_under(const MountInputs& in, const std::string& dir,
                                  std::vector<MountOp>& ops) {
    const Spec& spec = *in.spec;
    for (std::size_t i = 0; i < spec.binds.size(); ++i) {
        if (!util::is_below(spec.binds[i].dest, dir)) continue;
        const bool is_dir = i >= in.bind_source_is_dir.size() || in.bind_source_is_dir[i];
        ops.push_back(simple(is_dir ? MountKind::kMkdir : MountKind::kFile, {},
                             in_new_root(spec.binds[i].dest), "mount point " + spec.binds[i].dest,
                             is_dir ? 0755 : 0644));
    }
    for (const TmpfsSpec& t : spec.tmpfs) {
        if (util::is_below(t.dest, dir))
            ops.push_back(
                simple(MountKind::kMkdir, {}, in_new_root(t.dest), "mount point " + t.dest));
    }
}

std::string user_label(const std::string& what, const Origin& origin) {
    return fmt::format("{} ({})", what, origin.describe());
}

std::size_t depth(const std::string& path) {
    return static_cast<std::size_t>(std::count(path.begin(), path.end(), '/'));
}

// User mounts, parents before children; a user mount replaces a base mount at the same path.
void plan_user_mounts(const MountInputs& in, std::vector<MountOp>& ops) {
    std::vector<MountOp> user;
    for (std::size_t i = 0; i < in.spec->binds.size(); ++i) {
        const BindSpec& b = in.spec->binds[i];
        MountOp op = bind(in_old_root(b.source), in_new_root(b.dest), b.read_only,
                          user_label(fmt::format("{}bind of {} at {}",
                                                 b.read_only ? "read-only " : "", b.source, b.dest),
                                     b.origin));
        op.source_is_dir = i < in.bind_source_is_dir.size() ? in.bind_source_is_dir[i] : true;
        user.push_back(std::move(op));
    }
    for (const TmpfsSpec& t : in.spec->tmpfs) {
        user.push_back(tmpfs(in_new_root(t.dest), t.size, 01777, kNoSuidDev,
                             user_label("tmpfs at " + t.dest, t.origin)));
    }
    std::stable_sort(user.begin(), user.end(), [](const MountOp& a, const MountOp& b) {
        return depth(a.target) < depth(b.target);
    });
    for (const MountOp& op : user) {
        const bool is_mount = op.kind == MountKind::kBind || op.kind == MountKind::kTmpfs;
        std::erase_if(ops, [&](const MountOp& base) {
            return is_mount && base.target == op.target &&
                   (base.kind == MountKind::kTmpfs || base.kind == MountKind::kBind);
        });
    }
    ops.insert(ops.end(), user.begin(), user.end());
}

void plan_proc_masks(std::vector<MountOp>& ops) {
    const std::string proc = in_new_root("/proc/");
    for (const char* name : kMaskedProcFiles) {
        MountOp op = simple(MountKind::kMaskFile, in_new_root("/dev/null"), proc + name,
                            std::string("mask /proc/") + name);
        op.source_is_dir = false;
        ops.push_back(std::move(op));
    }
    for (const char* name : kMaskedProcDirs)
        ops.push_back(
            simple(MountKind::kMaskDir, {}, proc + name, std::string("mask /proc/") + name));
    for (const char* name : kReadOnlyProcPaths) {
        MountOp op = bind(proc + name, proc + name, true, std::string("read-only /proc/") + name,
                          kNoSuidDevExec);
        op.optional = true;
        ops.push_back(std::move(op));
    }
}

}  // namespace

std::vector<MountOp> plan_mounts(const MountInputs& in) {
    const Spec& spec = *in.spec;
    std::vector<MountOp> ops;
    ops.push_back(tmpfs(kNewRoot, 1 << 20, 0755, kNoSuidDev, "sandbox root tmpfs"));
    plan_rootfs(in, ops);
    if (spec.rootfs.value == "host") {
        plan_host_etc(in, ops);
        // Mount points for user mounts below /etc are made now: the whole /etc tree turns
        // read-only here, in one recursive pass, and the user mounts keep their own flags.
        precreate_mount_points_under(in, "/etc", ops);
        ops.push_back(read_only_tree(in_new_root("/etc"), "read-only /etc"));
    } else {
        plan_prepared_etc(in, ops);
    }
    plan_dev(in, ops);
    MountOp proc = simple(MountKind::kProc, "proc", in_new_root("/proc"), "proc /proc", 0555);
    proc.flags = kNoSuidDevExec;
    ops.push_back(std::move(proc));
    ops.push_back(tmpfs(in_new_root("/tmp"), spec.tmp_size.value, 01777, kNoSuidDev, "tmpfs /tmp"));
    ops.push_back(tmpfs(in_new_root(kSandboxHome), spec.home_size.value, 0700, kNoSuidDev,
                        std::string("tmpfs ") + kSandboxHome,
                        fmt::format(",uid={},gid={}", in.setup_uid, in.setup_gid)));
    plan_workspace(in, ops);
    plan_user_mounts(in, ops);
    plan_proc_masks(ops);
    // Last, so that user mounts below / could still create their mount points.
    ops.push_back(simple(MountKind::kReadOnly, {}, kNewRoot, "read-only sandbox root"));
    return ops;
}

}  // namespace nsbox::ns
