// Parent side: Spec -> LaunchPlan. Reads what it needs of the host (rootfs entries, /etc
// allowlist, resolv.conf) once, here, so the child never decides anything.
#include "launch/plan.hpp"

#include <dirent.h>
#include <fmt/core.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "ns/userns.hpp"
#include "terminal/host_terminal.hpp"
#include "util/fs.hpp"

namespace nsbox::launch {
namespace {

namespace fs = std::filesystem;

constexpr uid_t kOverflowId = 65534;  // "nobody": root's payload runs as this host id

// Host /etc entries that carry no secrets and that Python and common tools need.
constexpr const char* kHostEtcAllowlist[] = {
    "alternatives",   "bash.bashrc", "ca-certificates", "ca-certificates.conf",
    "debian_version", "fonts",       "gai.conf",        "host.conf",
    "inputrc",        "ld.so.cache", "ld.so.conf",      "ld.so.conf.d",
    "localtime",      "magic",       "matplotlibrc",    "mime.types",
    "os-release",     "protocols",   "services",        "ssl",
    "terminfo",       "timezone",    "python3",         "python3.11",
    "python3.12",     "python3.13"};

// Host top-level entries of the built-in host rootfs: /usr and the merged-usr links.
constexpr const char* kHostRootEntries[] = {"usr",   "bin",   "sbin",  "lib",
                                            "lib64", "lib32", "libx32"};

std::optional<ns::RootEntry> read_entry(const fs::path& path, const std::string& name) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return std::nullopt;
    ns::RootEntry entry{name, ns::RootEntry::Type::kDir, {}};
    if (S_ISLNK(st.st_mode)) {
        std::error_code ec;
        entry.type = ns::RootEntry::Type::kSymlink;
        entry.link_target = fs::read_symlink(path, ec).string();
        if (ec) return std::nullopt;
    } else if (S_ISREG(st.st_mode)) {
        entry.type = ns::RootEntry::Type::kFile;
    } else if (!S_ISDIR(st.st_mode)) {
        return std::nullopt;
    }
    return entry;
}

std::vector<ns::RootEntry> host_entries(const fs::path& dir, const auto& names) {
    std::vector<ns::RootEntry> entries;
    for (const char* name : names) {
        if (auto entry = read_entry(dir / name, name)) entries.push_back(*entry);
    }
    return entries;
}

Result<std::vector<ns::RootEntry>> prepared_entries(const std::string& rootfs) {
    std::vector<ns::RootEntry> entries;
    std::error_code ec;
    for (const fs::directory_entry& item : fs::directory_iterator(rootfs, ec)) {
        const std::string name = item.path().filename().string();
        if (auto entry = read_entry(item.path(), name)) entries.push_back(*entry);
    }
    if (ec) return fail(Error::system(Step::kPlan, ec.value(), "read rootfs " + rootfs));
    std::sort(entries.begin(), entries.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
    if (std::none_of(entries.begin(), entries.end(), [](const auto& e) { return e.name == "usr"; }))
        return fail(
            Error::usage("rootfs " + rootfs + " has no usr directory: not a root filesystem"));
    return entries;
}

std::vector<std::string> prepared_etc_names(const std::string& rootfs) {
    std::vector<std::string> names;
    std::error_code ec;
    for (const fs::directory_entry& item : fs::directory_iterator(rootfs + "/etc", ec))
        names.push_back(item.path().filename().string());
    return names;
}

std::string resolv_conf_for(const Spec& spec) {
    if (spec.network.value != NetMode::kHost) return "# no network in this sandbox\n";
    auto text = util::read_small_file("/etc/resolv.conf", std::size_t{64} * 1024);
    return text ? *text : std::string{};
}

std::string env_value(const Spec& spec, const std::string& name) {
    for (const EnvVar& var : spec.env)
        if (var.name == name) return var.value;
    return {};
}

// Regular files of the host /etc are copied into the sandbox's /etc by the child, in the
// kernel: cheaper than a bind mount plus its flags, and the parent touches none of the data.
void split_host_etc(ns::MountInputs& in) {
    for (ns::RootEntry& entry : host_entries("/etc", kHostEtcAllowlist)) {
        if (entry.type == ns::RootEntry::Type::kFile) {
            in.etc_copies.push_back(entry.name);
        } else {
            in.etc_entries.push_back(std::move(entry));
        }
    }
}

Result<ns::MountInputs> mount_inputs(const Spec& spec, const LaunchPlan& plan) {
    ns::MountInputs in;
    in.spec = &spec;
    in.etc_files = generated_etc_files(spec, resolv_conf_for(spec));
    if (spec.rootfs.value == "host") {
        in.root_entries = host_entries("/", kHostRootEntries);
        split_host_etc(in);
    } else {
        auto entries = prepared_entries(spec.rootfs.value);
        if (!entries) return fail(entries.error());
        in.root_entries = std::move(*entries);
        in.prepared_etc_files = prepared_etc_names(spec.rootfs.value);
        for (const std::string& layer : spec.rootfs_layers) {
            ns::RootfsLayer entry{layer, {}};
            std::error_code ec;
            for (const fs::directory_entry& item : fs::directory_iterator(layer, ec)) {
                if (item.is_directory(ec) && !item.is_symlink(ec))
                    entry.dirs.push_back(item.path().filename().string());
            }
            if (ec) return fail(Error::system(Step::kPlan, ec.value(), "read layer " + layer));
            in.layers.push_back(std::move(entry));
        }
    }
    for (const BindSpec& bind : spec.binds) {
        std::error_code ec;
        in.bind_source_is_dir.push_back(fs::is_directory(bind.source, ec));
    }
    in.setup_uid = plan.privileged_setup ? plan.host_uid : kSandboxUid;
    in.setup_gid = plan.privileged_setup ? plan.host_gid : kSandboxGid;
    in.workspace_idmap_fd = plan.workspace_idmap.get();
    return in;
}

// Root: the workspace owner's files become the sandbox user's inside (see kIdmappedBind).
Result<void> prepare_workspace_idmap(const Spec& spec, LaunchPlan& plan) {
    if (!plan.privileged_setup) return {};
    struct stat st {};
    if (::stat(spec.workspace.value.c_str(), &st) != 0)
        return fail(Error::from_errno(Step::kPlan, "workspace " + spec.workspace.value));
    // Written through, a root-owned workspace would let the payload create root-owned files
    // with any mode bits on the host (setuid included). Overlay and ro modes keep writes in the
    // sandbox, and --output strips special bits, so only rw on a root-owned tree is refused.
    if (spec.workspace_mode.value == WorkspaceMode::kReadWrite &&
        (st.st_uid == 0 || st.st_gid == 0))
        return {};
    auto ns = ns::make_idmap_userns(st.st_uid, st.st_gid, plan.host_uid, plan.host_gid);
    if (!ns) return fail(ns.error());
    plan.workspace_idmap = std::move(*ns);
    return {};
}

// Fields 48-51 of /proc/self/stat: where the kernel reads this process's cmdline and environ.
void locate_own_strings(LaunchPlan& plan) {
    auto stat = util::read_small_file("/proc/self/stat", 4096);
    if (!stat) return;
    const auto paren = stat->rfind(')');
    if (paren == std::string::npos) return;
    std::vector<unsigned long> fields;  // fields[0] is field 3
    std::size_t pos = paren + 2;
    while (pos < stat->size() && fields.size() < 49) {
        const std::size_t end = std::min(stat->find(' ', pos), stat->size());
        fields.push_back(std::strtoul(stat->c_str() + pos, nullptr, 10));
        pos = end + 1;
    }
    if (fields.size() < 49) return;
    auto area = [](unsigned long b, unsigned long e) {
        LaunchPlan::MemoryArea a;
        // The kernel reports these areas only as numbers; they are this process's own memory.
        if (b != 0 && e > b) {
            a.begin = reinterpret_cast<char*>(b);  // NOLINT(performance-no-int-to-ptr)
            a.end = reinterpret_cast<char*>(e);    // NOLINT(performance-no-int-to-ptr)
        }
        return a;
    };
    plan.own_args = area(fields[45], fields[46]);
    plan.own_environ = area(fields[47], fields[48]);
}

}  // namespace

void CStringArray::assign(std::vector<std::string> values) {
    storage = std::move(values);
    pointers.clear();
    for (std::string& s : storage) pointers.push_back(s.data());
    pointers.push_back(nullptr);
}

bool running_as_privileged_root() {
    if (::geteuid() != 0) return false;
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("CapEff:", 0) != 0) continue;
        const unsigned long long caps = std::stoull(line.substr(7), nullptr, 16);
        constexpr int kCapSysAdmin = 21;
        return (caps >> kCapSysAdmin) & 1U;
    }
    return false;
}

std::vector<std::string> exec_candidates(const std::string& program, const std::string& path_var) {
    if (program.find('/') != std::string::npos) return {program};
    std::vector<std::string> out;
    std::size_t start = 0;
    const std::string path = path_var.empty() ? "/usr/local/bin:/usr/bin:/bin" : path_var;
    while (start <= path.size()) {
        const std::size_t end = std::min(path.find(':', start), path.size());
        const std::string dir = path.substr(start, end - start);
        out.push_back((dir.empty() ? std::string(".") : dir) + "/" + program);
        start = end + 1;
    }
    return out;
}

Result<LaunchPlan> plan_launch(const Spec& spec) {
    LaunchPlan plan;
    plan.privileged_setup = running_as_privileged_root();
    plan.host_uid = plan.privileged_setup ? kOverflowId : ::getuid();
    plan.host_gid = plan.privileged_setup ? kOverflowId : ::getgid();
    plan.uid_map = fmt::format("{} {} 1\n", kSandboxUid, plan.host_uid);
    plan.gid_map = fmt::format("{} {} 1\n", kSandboxGid, plan.host_gid);
    plan.new_net = spec.network.value == NetMode::kNone;
    plan.clone_flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;
    if (plan.new_net) plan.clone_flags |= CLONE_NEWNET;
    if (!plan.privileged_setup) plan.clone_flags |= CLONE_NEWUSER;
    plan.hostname = spec.hostname.value;
    plan.send_upper_fd = !spec.output_dir.empty();
    plan.cwd = spec.workdir;
    if (auto r = prepare_workspace_idmap(spec, plan); !r) return fail(r.error());
    auto inputs = mount_inputs(spec, plan);
    if (!inputs) return fail(inputs.error());
    plan.mounts = ns::plan_mounts(*inputs);
    plan.argv.assign(spec.argv);
    plan.pass_fds = spec.pass_fds;
    std::vector<std::string> env;
    for (const EnvVar& var : spec.env) env.push_back(var.name + "=" + var.value);
    plan.envp.assign(std::move(env));
    plan.exec_candidates.assign(exec_candidates(spec.argv.front(), env_value(spec, "PATH")));
    auto security = security::plan_security(spec);
    if (!security) return fail(security.error());
    plan.security = std::move(*security);
    locate_own_strings(plan);
    if (spec.use_pty) plan.pty = terminal::pty_settings_for(terminal::inspect_host_terminal());
    plan.inherited_fds = {0, 1, 2};
    plan.inherited_fds.insert(plan.inherited_fds.end(), spec.pass_fds.begin(), spec.pass_fds.end());
    return plan;
}

}  // namespace nsbox::launch
