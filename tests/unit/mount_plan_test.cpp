// Unit tests for plan_mounts: the pure mount planner. A Spec and MountInputs are built by hand;
// no syscall runs, the tests only read the ordered list of MountOps.
#include "ns/mount_plan.hpp"

#include <gtest/gtest.h>
#include <sys/mount.h>

#include <algorithm>
#include <string>
#include <vector>

namespace nsbox::ns {
namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;
constexpr uid_t kSetupUid = 4242;  // distinct from 1000 so the tests see which id is used
constexpr gid_t kSetupGid = 4343;

Spec base_spec() {
    Spec spec;
    spec.rootfs = {"host", Origin::builtin()};
    spec.hostname = {"nsbox", Origin::builtin()};
    spec.network = {NetMode::kNone, Origin::builtin()};
    spec.workspace = {"/home/u/proj", Origin::cli()};
    spec.workspace_dest = {kWorkspaceDir, Origin::builtin()};
    spec.workspace_mode = {WorkspaceMode::kOverlay, Origin::builtin()};
    spec.workspace_size = {1024 * kMiB, Origin::builtin()};
    spec.tmp_size = {512 * kMiB, Origin::builtin()};
    spec.shm_size = {64 * kMiB, Origin::builtin()};
    spec.home_size = {256 * kMiB, Origin::builtin()};
    spec.argv = {"python3", "/workspace/main.py"};
    return spec;
}

MountInputs host_inputs(const Spec& spec) {
    using Type = RootEntry::Type;
    MountInputs in;
    in.spec = &spec;
    in.root_entries = {{"usr", Type::kDir, {}},
                       {"bin", Type::kSymlink, "usr/bin"},
                       {"lib", Type::kSymlink, "usr/lib"},
                       {"lib64", Type::kSymlink, "usr/lib64"}};
    in.etc_entries = {{"ssl", Type::kDir, {}},
                      {"os-release", Type::kSymlink, "../usr/lib/os-release"},
                      {"ld.so.cache", Type::kFile, {}}};
    in.etc_files = {{"passwd", "sandbox:x:1000:1000::/home/sandbox:/bin/sh\n"},
                    {"group", "sandbox:x:1000:\n"},
                    {"hosts", "127.0.0.1\tlocalhost\n"}};
    in.setup_uid = kSetupUid;
    in.setup_gid = kSetupGid;
    return in;
}

// Index of the first op with this kind and target, or -1.
int index_of(const std::vector<MountOp>& ops, MountKind kind, const std::string& target) {
    for (std::size_t i = 0; i < ops.size(); ++i)
        if (ops[i].kind == kind && ops[i].target == target) return static_cast<int>(i);
    return -1;
}

const MountOp* find_op(const std::vector<MountOp>& ops, MountKind kind, const std::string& target) {
    const int i = index_of(ops, kind, target);
    return i < 0 ? nullptr : &ops[static_cast<std::size_t>(i)];
}

std::vector<const MountOp*> ops_targeting(const std::vector<MountOp>& ops,
                                          const std::string& target) {
    std::vector<const MountOp*> out;
    for (const MountOp& op : ops)
        if (op.target == target) out.push_back(&op);
    return out;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// ---- frame ----

TEST(MountPlan, FirstOpIsTheRootTmpfsAndLastMakesItReadOnly) {
    const Spec spec = base_spec();
    const auto ops = plan_mounts(host_inputs(spec));
    ASSERT_GE(ops.size(), 2U);
    EXPECT_EQ(ops.front().kind, MountKind::kTmpfs);
    EXPECT_EQ(ops.front().target, "/newroot");
    EXPECT_EQ(ops.back().kind, MountKind::kReadOnly);
    EXPECT_EQ(ops.back().target, "/newroot");
}

TEST(MountPlan, EveryOpHasALabelForErrorLines) {
    const Spec spec = base_spec();
    for (const MountOp& op : plan_mounts(host_inputs(spec)))
        EXPECT_FALSE(op.label.empty()) << op.target;
}

TEST(MountPlan, NewMountsNeverAllowSetuid) {
    const Spec spec = base_spec();
    for (const MountOp& op : plan_mounts(host_inputs(spec))) {
        const bool is_new_mount = op.kind == MountKind::kBind || op.kind == MountKind::kTmpfs ||
                                  op.kind == MountKind::kProc || op.kind == MountKind::kDevpts ||
                                  op.kind == MountKind::kOverlay;
        // A bind of one device node cannot carry an executable, so it needs no flags; binds
        // below /etc get theirs from the recursive read-only pass over /etc.
        const bool device_node = op.kind == MountKind::kBind && !op.source_is_dir &&
                                 op.target.rfind("/newroot/dev/", 0) == 0;
        const bool under_etc = op.target.rfind("/newroot/etc/", 0) == 0;
        if (is_new_mount && !device_node && !under_etc) {
            EXPECT_TRUE(op.flags & MS_NOSUID) << op.label;
        }
    }
}

// ---- rootfs ----

TEST(MountPlan, HostUsrIsBoundReadOnlyFromOldRoot) {
    const Spec spec = base_spec();
    const auto ops = plan_mounts(host_inputs(spec));
    const MountOp* usr = find_op(ops, MountKind::kBind, "/newroot/usr");
    ASSERT_NE(usr, nullptr);
    EXPECT_EQ(usr->source, "/oldroot/usr");
    EXPECT_TRUE(usr->read_only);
}

TEST(MountPlan, MergedUsrSymlinksBecomeSymlinkOps) {
    const Spec spec = base_spec();
    const auto ops = plan_mounts(host_inputs(spec));
    const MountOp* bin = find_op(ops, MountKind::kSymlink, "/newroot/bin");
    ASSERT_NE(bin, nullptr);
    EXPECT_EQ(bin->source, "usr/bin");
    const MountOp* lib = find_op(ops, MountKind::kSymlink, "/newroot/lib");
    ASSERT_NE(lib, nullptr);
    EXPECT_EQ(lib->source, "usr/lib");
    EXPECT_EQ(find_op(ops, MountKind::kBind, "/newroot/bin"), nullptr);
}

TEST(MountPlan, RootEntriesThatNsboxProvidesAreNotTakenFromTheRootfs) {
    const Spec spec = base_spec();
    MountInputs in = host_inputs(spec);
    for (const char* name : {"etc", "proc", "dev", "tmp", "home", "root", "sys", "workspace"})
        in.root_entries.push_back({name, RootEntry::Type::kDir, {}});
    const auto ops = plan_mounts(in);
    for (const MountOp& op : ops) {
        if (op.kind != MountKind::kBind) continue;
        for (const char* name : {"etc", "proc", "dev", "tmp", "home", "root", "sys", "workspace"})
            EXPECT_NE(op.source, std::string("/oldroot/") + name) << op.label;
    }
}

// ---- /etc ----

TEST(MountPlan, HostEtcIsATmpfsWithGeneratedFilesMadeReadOnly) {
    const Spec spec = base_spec();
    const MountInputs in = host_inputs(spec);
    const auto ops = plan_mounts(in);
    const int etc = index_of(ops, MountKind::kTmpfs, "/newroot/etc");
    const int read_only = index_of(ops, MountKind::kReadOnly, "/newroot/etc");
    ASSERT_GE(etc, 0);
    ASSERT_GT(read_only, etc);
    for (const GeneratedFile& file : in.etc_files) {
        SCOPED_TRACE(file.name);
        const int i = index_of(ops, MountKind::kFile, "/newroot/etc/" + file.name);
        ASSERT_GT(i, etc);
        EXPECT_LT(i, read_only);
        EXPECT_EQ(ops[static_cast<std::size_t>(i)].source, file.content);
        EXPECT_EQ(ops[static_cast<std::size_t>(i)].mode, 0644U);
    }
}

TEST(MountPlan, AllowlistedHostEtcEntriesAreExposedReadOnly) {
    const Spec spec = base_spec();
    const auto ops = plan_mounts(host_inputs(spec));
    const MountOp* ssl = find_op(ops, MountKind::kBind, "/newroot/etc/ssl");
    ASSERT_NE(ssl, nullptr);
    EXPECT_EQ(ssl->source, "/oldroot/etc/ssl");
    EXPECT_TRUE(ssl->source_is_dir);
    // Read-only, nosuid, nodev and noexec come from one recursive pass over /etc after it.
    const int ssl_index = index_of(ops, MountKind::kBind, "/newroot/etc/ssl");
    const int pass = index_of(ops, MountKind::kReadOnly, "/newroot/etc");
    ASSERT_GE(pass, 0);
    EXPECT_LT(ssl_index, pass);
    const MountOp& etc_pass = ops[static_cast<std::size_t>(pass)];
    EXPECT_TRUE(etc_pass.recursive);
    EXPECT_TRUE((etc_pass.flags & MS_NOSUID) && (etc_pass.flags & MS_NODEV) &&
                (etc_pass.flags & MS_NOEXEC));
    const MountOp* cache = find_op(ops, MountKind::kBind, "/newroot/etc/ld.so.cache");
    ASSERT_NE(cache, nullptr);
    EXPECT_FALSE(cache->source_is_dir) << "a file needs a file mount point";
    const MountOp* os_release = find_op(ops, MountKind::kSymlink, "/newroot/etc/os-release");
    ASSERT_NE(os_release, nullptr);
    EXPECT_EQ(os_release->source, "../usr/lib/os-release");
    // Nothing else of the host's /etc: no passwd or shadow binds.
    EXPECT_EQ(find_op(ops, MountKind::kBind, "/newroot/etc/passwd"), nullptr);
    EXPECT_EQ(find_op(ops, MountKind::kBind, "/newroot/etc/shadow"), nullptr);
}

TEST(MountPlan, PreparedRootfsBindsItsEtcAndOverridesOnlyExistingNames) {
    Spec spec = base_spec();
    spec.rootfs = {"/srv/rootfs", Origin::cli()};
    MountInputs in = host_inputs(spec);
    in.etc_entries.clear();
    in.root_entries.push_back({"etc", RootEntry::Type::kDir, {}});
    in.prepared_etc_files = {"passwd", "hosts", "os-release"};
    const auto ops = plan_mounts(in);

    const MountOp* usr = find_op(ops, MountKind::kBind, "/newroot/usr");
    ASSERT_NE(usr, nullptr);
    EXPECT_EQ(usr->source, "/oldroot/srv/rootfs/usr");
    const MountOp* etc = find_op(ops, MountKind::kBind, "/newroot/etc");
    ASSERT_NE(etc, nullptr);
    EXPECT_EQ(etc->source, "/oldroot/srv/rootfs/etc");
    EXPECT_TRUE(etc->read_only);
    EXPECT_EQ(find_op(ops, MountKind::kTmpfs, "/newroot/etc"), nullptr);

    for (const char* name : {"passwd", "hosts"}) {
        SCOPED_TRACE(name);
        const std::string staged = std::string("/gen/") + name;
        const int file = index_of(ops, MountKind::kFile, staged);
        const int bind = index_of(ops, MountKind::kBind, std::string("/newroot/etc/") + name);
        ASSERT_GE(file, 0);
        ASSERT_GT(bind, file);
        const MountOp& op = ops[static_cast<std::size_t>(bind)];
        EXPECT_EQ(op.source, staged);
        EXPECT_TRUE(op.read_only);
        EXPECT_FALSE(op.source_is_dir);
        EXPECT_GT(bind, index_of(ops, MountKind::kBind, "/newroot/etc"));
    }
    // "group" has no mount point in the read-only prepared /etc, so it is not generated.
    EXPECT_TRUE(ops_targeting(ops, "/newroot/etc/group").empty());
    EXPECT_TRUE(ops_targeting(ops, "/gen/group").empty());
}

// ---- /dev ----

TEST(MountPlan, DevHasTheSafeDevicesPtsAndShm) {
    const Spec spec = base_spec();
    const auto ops = plan_mounts(host_inputs(spec));
    const int dev = index_of(ops, MountKind::kTmpfs, "/newroot/dev");
    ASSERT_GE(dev, 0);
    for (const char* device : {"null", "zero", "full", "random", "urandom", "tty"}) {
        SCOPED_TRACE(device);
        const int i = index_of(ops, MountKind::kBind, std::string("/newroot/dev/") + device);
        ASSERT_GT(i, dev);
        const MountOp& op = ops[static_cast<std::size_t>(i)];
        EXPECT_EQ(op.source, std::string("/oldroot/dev/") + device);
        EXPECT_FALSE(op.source_is_dir);
    }
    const MountOp* pts = find_op(ops, MountKind::kDevpts, "/newroot/dev/pts");
    ASSERT_NE(pts, nullptr);
    EXPECT_TRUE(contains(pts->data, "newinstance")) << pts->data;
    const MountOp* ptmx = find_op(ops, MountKind::kSymlink, "/newroot/dev/ptmx");
    ASSERT_NE(ptmx, nullptr);
    EXPECT_EQ(ptmx->source, "pts/ptmx");
    const MountOp* shm = find_op(ops, MountKind::kTmpfs, "/newroot/dev/shm");
    ASSERT_NE(shm, nullptr);
    EXPECT_TRUE(contains(shm->data, "size=" + std::to_string(64 * kMiB))) << shm->data;
    EXPECT_TRUE(shm->flags & MS_NODEV);
}

TEST(MountPlan, NoOtherHostDevicesAreBound) {
    const Spec spec = base_spec();
    for (const MountOp& op : plan_mounts(host_inputs(spec))) {
        if (op.kind == MountKind::kBind && op.source.rfind("/oldroot/dev/", 0) == 0) {
            const std::string name = op.source.substr(std::string("/oldroot/dev/").size());
            EXPECT_TRUE(name == "null" || name == "zero" || name == "full" || name == "random" ||
                        name == "urandom" || name == "tty")
                << op.source;
        }
    }
}

// ---- /proc ----

TEST(MountPlan, ProcIsMountedThenMaskedAndPartlyReadOnly) {
    const Spec spec = base_spec();
    const auto ops = plan_mounts(host_inputs(spec));
    const int proc = index_of(ops, MountKind::kProc, "/newroot/proc");
    ASSERT_GE(proc, 0);
    EXPECT_TRUE(ops[static_cast<std::size_t>(proc)].flags & MS_NOEXEC);
    for (const char* masked : {"kcore", "keys", "sysrq-trigger", "kallsyms", "timer_list"}) {
        SCOPED_TRACE(masked);
        const int i = index_of(ops, MountKind::kMaskFile, std::string("/newroot/proc/") + masked);
        EXPECT_GT(i, proc);
    }
    const int sys = index_of(ops, MountKind::kBind, "/newroot/proc/sys");
    ASSERT_GT(sys, proc);
    const MountOp& op = ops[static_cast<std::size_t>(sys)];
    EXPECT_EQ(op.source, "/newroot/proc/sys");
    EXPECT_TRUE(op.read_only);
    EXPECT_TRUE(op.optional) << "a kernel without /proc/sys entries must not fail the run";
}

TEST(MountPlan, ProcMasksComeAfterUserMounts) {
    // A later user mount must not be able to cover a mask with something else.
    Spec spec = base_spec();
    spec.binds.push_back({"/srv/data", "/data", true, Origin::cli()});
    const auto ops = plan_mounts(host_inputs(spec));
    EXPECT_LT(index_of(ops, MountKind::kBind, "/newroot/data"),
              index_of(ops, MountKind::kMaskFile, "/newroot/proc/kcore"));
}

// ---- tmp and home ----

TEST(MountPlan, TmpAndHomeAreSizedTmpfs) {
    const Spec spec = base_spec();
    const auto ops = plan_mounts(host_inputs(spec));
    const MountOp* tmp = find_op(ops, MountKind::kTmpfs, "/newroot/tmp");
    ASSERT_NE(tmp, nullptr);
    EXPECT_TRUE(contains(tmp->data, "mode=1777")) << tmp->data;
    EXPECT_TRUE(contains(tmp->data, "size=" + std::to_string(512 * kMiB))) << tmp->data;
    const MountOp* home = find_op(ops, MountKind::kTmpfs, "/newroot/home/sandbox");
    ASSERT_NE(home, nullptr);
    EXPECT_TRUE(contains(home->data, "size=" + std::to_string(256 * kMiB))) << home->data;
}

TEST(MountPlan, HomeTmpfsIsOwnedByTheSetupIds) {
    const Spec spec = base_spec();
    const auto ops = plan_mounts(host_inputs(spec));
    const MountOp* home = find_op(ops, MountKind::kTmpfs, "/newroot/home/sandbox");
    ASSERT_NE(home, nullptr);
    EXPECT_TRUE(contains(home->data, "uid=4242")) << home->data;
    EXPECT_TRUE(contains(home->data, "gid=4343")) << home->data;
    EXPECT_TRUE(contains(home->data, "mode=700")) << home->data;
}

// ---- workspace ----

TEST(MountPlan, OverlayWorkspaceHasSizedUpperLayerOwnedByTheSandboxUser) {
    const Spec spec = base_spec();
    const auto ops = plan_mounts(host_inputs(spec));
    const int upper = index_of(ops, MountKind::kTmpfs, "/upper");
    const int data_dir = index_of(ops, MountKind::kMkdir, "/upper/data");
    const int work_dir = index_of(ops, MountKind::kMkdir, "/upper/work");
    const int chown = index_of(ops, MountKind::kChown, "/upper/data");
    const int lower = index_of(ops, MountKind::kBind, "/lower");
    const int overlay = index_of(ops, MountKind::kOverlay, "/newroot/workspace");
    ASSERT_GE(upper, 0);
    EXPECT_TRUE(
        contains(ops[static_cast<std::size_t>(upper)].data, "size=" + std::to_string(1024 * kMiB)));
    EXPECT_GT(data_dir, upper);
    EXPECT_GT(work_dir, upper);
    ASSERT_GT(chown, data_dir);
    EXPECT_EQ(ops[static_cast<std::size_t>(chown)].uid, kSetupUid);
    EXPECT_EQ(ops[static_cast<std::size_t>(chown)].gid, kSetupGid);
    ASSERT_GE(lower, 0);
    EXPECT_EQ(ops[static_cast<std::size_t>(lower)].source, "/oldroot/home/u/proj");
    EXPECT_TRUE(ops[static_cast<std::size_t>(lower)].read_only);
    ASSERT_GT(overlay, chown);
    EXPECT_GT(overlay, lower);
    EXPECT_GT(overlay, work_dir);
    const std::string& data = ops[static_cast<std::size_t>(overlay)].data;
    EXPECT_TRUE(contains(data, "lowerdir=/lower")) << data;
    EXPECT_TRUE(contains(data, "upperdir=/upper/data")) << data;
    EXPECT_TRUE(contains(data, "workdir=/upper/work")) << data;
    // The host directory is never mounted writable in overlay mode.
    EXPECT_EQ(find_op(ops, MountKind::kBind, "/newroot/workspace"), nullptr);
}

TEST(MountPlan, ReadWriteWorkspaceIsAPlainBindWithoutOverlay) {
    Spec spec = base_spec();
    spec.workspace_mode = {WorkspaceMode::kReadWrite, Origin::cli()};
    const auto ops = plan_mounts(host_inputs(spec));
    const MountOp* ws = find_op(ops, MountKind::kBind, "/newroot/workspace");
    ASSERT_NE(ws, nullptr);
    EXPECT_EQ(ws->source, "/oldroot/home/u/proj");
    EXPECT_FALSE(ws->read_only);
    EXPECT_EQ(find_op(ops, MountKind::kOverlay, "/newroot/workspace"), nullptr);
    EXPECT_TRUE(ops_targeting(ops, "/upper").empty());
    EXPECT_TRUE(ops_targeting(ops, "/lower").empty());
}

TEST(MountPlan, ReadOnlyWorkspaceIsAReadOnlyBind) {
    Spec spec = base_spec();
    spec.workspace_mode = {WorkspaceMode::kReadOnly, Origin::cli()};
    const auto ops = plan_mounts(host_inputs(spec));
    const MountOp* ws = find_op(ops, MountKind::kBind, "/newroot/workspace");
    ASSERT_NE(ws, nullptr);
    EXPECT_TRUE(ws->read_only);
    EXPECT_EQ(find_op(ops, MountKind::kOverlay, "/newroot/workspace"), nullptr);
}

// ---- user mounts ----

TEST(MountPlan, UserMountsComeAfterBaseMountsParentsFirst) {
    Spec spec = base_spec();
    spec.binds.push_back({"/srv/models/big", "/opt/models/big", true, Origin::cli()});
    spec.binds.push_back({"/srv/models", "/opt/models", true, Origin::cli()});
    spec.tmpfs.push_back({"/opt/models/big/cache", 8 * kMiB, Origin::cli()});
    MountInputs in = host_inputs(spec);
    in.bind_source_is_dir = {true, true};
    const auto ops = plan_mounts(in);

    const int overlay = index_of(ops, MountKind::kOverlay, "/newroot/workspace");
    const int parent = index_of(ops, MountKind::kBind, "/newroot/opt/models");
    const int child = index_of(ops, MountKind::kBind, "/newroot/opt/models/big");
    const int grandchild = index_of(ops, MountKind::kTmpfs, "/newroot/opt/models/big/cache");
    ASSERT_GE(parent, 0);
    EXPECT_GT(parent, overlay);
    EXPECT_GT(child, parent);
    EXPECT_GT(grandchild, child);
    EXPECT_EQ(ops[static_cast<std::size_t>(parent)].source, "/oldroot/srv/models");
    EXPECT_TRUE(ops[static_cast<std::size_t>(parent)].read_only);
    EXPECT_TRUE(contains(ops[static_cast<std::size_t>(grandchild)].data,
                         "size=" + std::to_string(8 * kMiB)));
}

TEST(MountPlan, UserBindOfAFileGetsAFileMountPoint) {
    Spec spec = base_spec();
    spec.binds.push_back({"/srv/config.json", "/opt/config.json", true, Origin::cli()});
    MountInputs in = host_inputs(spec);
    in.bind_source_is_dir = {false};
    const auto ops = plan_mounts(in);
    const MountOp* op = find_op(ops, MountKind::kBind, "/newroot/opt/config.json");
    ASSERT_NE(op, nullptr);
    EXPECT_FALSE(op->source_is_dir);
}

TEST(MountPlan, UserTmpfsAtTmpReplacesTheBaseTmp) {
    Spec spec = base_spec();
    spec.tmpfs.push_back({"/tmp", 2 * kMiB, Origin::profile("/p.toml", 9)});
    const auto ops = plan_mounts(host_inputs(spec));
    const auto tmp = ops_targeting(ops, "/newroot/tmp");
    ASSERT_EQ(tmp.size(), 1U);
    EXPECT_EQ(tmp[0]->kind, MountKind::kTmpfs);
    EXPECT_TRUE(contains(tmp[0]->data, "size=" + std::to_string(2 * kMiB))) << tmp[0]->data;
    EXPECT_TRUE(contains(tmp[0]->label, "/p.toml:9")) << tmp[0]->label;
}

TEST(MountPlan, UserBindOverABaseDirectoryReplacesIt) {
    Spec spec = base_spec();
    spec.binds.push_back({"/srv/home", "/home/sandbox", false, Origin::cli()});
    const auto ops = plan_mounts(host_inputs(spec));
    const auto home = ops_targeting(ops, "/newroot/home/sandbox");
    ASSERT_EQ(home.size(), 1U);
    EXPECT_EQ(home[0]->kind, MountKind::kBind);
    EXPECT_EQ(home[0]->source, "/oldroot/srv/home");
}

TEST(MountPlan, UserBindUnderEtcHasItsMountPointMadeBeforeEtcBecomesReadOnly) {
    // Once /etc is read-only no mount point can be created in it, so the plan makes one for
    // each user mount below /etc first; the user mount itself comes later with its own flags
    // (a recursive read-only pass after it would turn a writable bind read-only).
    Spec spec = base_spec();
    spec.binds.push_back({"/srv/pip.conf", "/etc/pip.conf", true, Origin::cli()});
    MountInputs in = host_inputs(spec);
    in.bind_source_is_dir = {false};
    const auto ops = plan_mounts(in);
    const int mount_point = index_of(ops, MountKind::kFile, "/newroot/etc/pip.conf");
    const int read_only = index_of(ops, MountKind::kReadOnly, "/newroot/etc");
    const int bind = index_of(ops, MountKind::kBind, "/newroot/etc/pip.conf");
    ASSERT_GE(mount_point, 0);
    ASSERT_GE(read_only, 0);
    ASSERT_GE(bind, 0);
    EXPECT_LT(mount_point, read_only);
    EXPECT_LT(read_only, bind);
    EXPECT_TRUE(ops[static_cast<std::size_t>(read_only)].recursive);
}

TEST(MountPlan, SetupIdsOnlyAppearWhereTheSandboxUserNeedsOwnership) {
    const Spec spec = base_spec();
    const auto ops = plan_mounts(host_inputs(spec));
    for (const MountOp& op : ops) {
        if (op.kind == MountKind::kChown) {
            EXPECT_EQ(op.target, "/upper/data");
        }
        if (contains(op.data, "uid=")) {
            EXPECT_EQ(op.target, "/newroot/home/sandbox");
        }
    }
}

}  // namespace
}  // namespace nsbox::ns
