// `nsbox rootfs build`: a recipe -> mmdebstrap in a locked .build-* directory -> the recipe's
// check, run by nsbox in the new tree -> manifest -> one rename into the store.
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "nsbox/launcher.hpp"
#include "nsbox/rootfs.hpp"
#include "nsbox/validate.hpp"
#include "rootfs/store.hpp"
#include "rootfs/subids.hpp"
#include "util/exec.hpp"
#include "util/fs.hpp"

namespace nsbox::rootfs {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxStatusBytes = 64U << 20;

template <class... Args>
void say(bool enabled, fmt::format_string<Args...> f, Args&&... args) {
    if (enabled) fmt::print(stderr, "nsbox: {}\n", fmt::format(f, std::forward<Args>(args)...));
}

std::string random_id() {
    unsigned char bytes[16];
    std::size_t got = 0;
    while (got < sizeof bytes) {
        const ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
        if (n > 0) got += static_cast<std::size_t>(n);
    }
    std::string out;
    for (const unsigned char b : bytes) out += fmt::format("{:02x}", b);
    return out;
}

std::string join(const std::vector<std::string>& items, const char* separator) {
    std::string out;
    for (const std::string& item : items) out += (out.empty() ? "" : separator) + item;
    return out;
}

// A command for a one-line message: newlines (a multi-line `python3 -c` program) shown as \n.
std::string one_line(const std::vector<std::string>& command) {
    std::string out;
    for (const char c : join(command, " "))
        out += c == '\n' ? std::string("\\n") : std::string(1, c);
    return out;
}

// A recipe's files reach the tree through mmdebstrap hooks, which run as root of the build's
// namespace (a rootless build's tree belongs to subordinate ids, not to the caller).
Result<std::vector<std::string>> file_hooks(const Recipe& recipe, const fs::path& staging) {
    std::vector<std::string> hooks;
    if (staging.string().find('\'') != std::string::npos)
        return fail(Error::usage("the rootfs store's path contains a quote: " + staging.string()));
    int index = 0;
    for (const RecipeFile& file : recipe.files) {
        const fs::path source = staging / std::to_string(index++);
        std::ofstream out(source, std::ios::binary);
        out << file.content;
        out.close();
        if (!out) return fail(Error::from_errno(Step::kRootfs, "write " + source.string()));
        // Paths are validated (absolute, normalised, no quote); single quotes keep them inert.
        const std::string parent = fs::path(file.path).parent_path().string();
        // In the chroot: a symlink in the tree (/var/run -> /run) must resolve inside it,
        // never to the host's directory of that name.
        hooks.push_back(fmt::format("--customize-hook=chroot \"$1\" mkdir -p '{}'", parent));
        hooks.push_back(
            fmt::format("--customize-hook=upload '{}' '{}'", source.string(), file.path));
        hooks.push_back(
            fmt::format("--customize-hook=chroot \"$1\" chmod {:o} '{}'", file.mode, file.path));
    }
    return hooks;
}

std::vector<std::string> mmdebstrap_argv(const Recipe& recipe, const fs::path& target,
                                         const std::vector<std::string>& hooks, bool rootless,
                                         bool progress) {
    std::vector<std::string> argv{"mmdebstrap",
                                  rootless ? "--mode=unshare" : "--mode=root",
                                  "--format=directory",
                                  "--variant=" + recipe.variant,
                                  "--components=" + join(recipe.components, ","),
                                  "--include=" + join(recipe.packages, ",")};
    if (!progress) argv.emplace_back("--quiet");
    argv.insert(argv.end(), hooks.begin(), hooks.end());
    argv.push_back(recipe.suite);
    argv.push_back(target.string());
    if (!recipe.mirror.empty()) argv.push_back(recipe.mirror);
    return argv;
}

// Installed packages from dpkg's status file (readable whoever owns the tree).
std::vector<Package> installed_packages(const fs::path& root) {
    std::vector<Package> packages;
    auto text = util::read_small_file(root / "var/lib/dpkg/status", kMaxStatusBytes);
    if (!text) return packages;
    std::istringstream in(*text);
    std::string line;
    Package current;
    bool installed = false;
    auto flush = [&] {
        if (installed && !current.name.empty()) packages.push_back(current);
        current = {};
        installed = false;
    };
    while (std::getline(in, line)) {
        if (line.empty()) {
            flush();
        } else if (line.rfind("Package: ", 0) == 0) {
            current.name = line.substr(9);
        } else if (line.rfind("Version: ", 0) == 0) {
            current.version = line.substr(9);
        } else if (line.rfind("Status: ", 0) == 0) {
            installed = line.find(" installed") != std::string::npos &&
                        line.find("not-installed") == std::string::npos;
        }
    }
    flush();
    std::sort(packages.begin(), packages.end(),
              [](const Package& a, const Package& b) { return a.name < b.name; });
    return packages;
}

// Disk usage as du(1) counts it: allocated blocks, each hard-linked inode once. Directories a
// rootless build made unreadable to its user (0700, owned by a subordinate id) count as empty.
std::uint64_t disk_usage(const fs::path& root) {
    std::uint64_t bytes = 0;
    std::set<std::pair<dev_t, ino_t>> seen;
    std::error_code ec;
    auto count = [&](const fs::path& path) {
        struct stat st {};
        if (::lstat(path.c_str(), &st) != 0) return;
        if (st.st_nlink > 1 && !S_ISDIR(st.st_mode) && !seen.insert({st.st_dev, st.st_ino}).second)
            return;
        bytes += static_cast<std::uint64_t>(st.st_blocks) * 512;
    };
    count(root);
    fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) count(it->path());
    return bytes;
}

// The recipe's check, run by nsbox itself in the new tree under the default profile: it proves
// the rootfs works as a sandbox's root, not only in a chroot. Its output goes to stderr.
Result<void> run_check(const Recipe& recipe, const fs::path& build, const fs::path& root,
                       bool progress) {
    if (recipe.check.empty()) return {};
    say(progress, "checking the new rootfs: {}", one_line(recipe.check));
    const fs::path empty = build / "check-workspace";
    std::error_code ec;
    fs::create_directory(empty, ec);
    RunRequest request;
    request.command = recipe.check;
    request.workspace = empty.string();
    request.cli.rootfs = Sourced<std::string>{root.string(), Origin::builtin("the build")};
    auto status = run_internal_sandbox("default", request);
    if (!status) return fail(status.error());
    if (*status != 0) {
        return fail(Error::usage(fmt::format(
            "the recipe's check ({}) failed with exit code {} in the new rootfs; nothing was kept",
            one_line(recipe.check), *status)));
    }
    return {};
}

// A rootless build's root is a subordinate id, "other" to every host directory: mmdebstrap,
// as that id, must be able to pass through each directory above the tree it makes.
Result<void> check_traversable(const fs::path& store) {
    for (fs::path dir = store; !dir.empty(); dir = dir.parent_path()) {
        struct stat st {};
        if (::stat(dir.c_str(), &st) == 0 && (st.st_mode & S_IXOTH) == 0) {
            return fail(Error::usage(fmt::format(
                "a rootless build cannot reach {}: {} is mode {:04o}, closed to the subordinate "
                "ids mmdebstrap builds as; allow passing through it (chmod o+x {}) or set "
                "NSBOX_ROOTFS_DIR to a directory under a path others can pass through",
                store.string(), dir.string(), st.st_mode & 07777, dir.string())));
        }
        if (dir == dir.root_path()) break;
    }
    return {};
}

// Removes the build directory however the build ends, unless it was published.
class BuildGuard {
 public:
    explicit BuildGuard(BuildDir dir) : dir_(std::move(dir)) {}
    ~BuildGuard() {
        if (!published_ && !dir_.path.empty()) (void)remove_tree(dir_.path);
    }
    BuildGuard(const BuildGuard&) = delete;
    BuildGuard& operator=(const BuildGuard&) = delete;
    [[nodiscard]] const fs::path& path() const { return dir_.path; }
    void published() { published_ = true; }

 private:
    BuildDir dir_;
    bool published_ = false;
};

}  // namespace

Result<Installed> build(const Recipe& recipe, const BuildOptions& options) {
    const std::string name = options.name.empty() ? recipe.name : options.name;
    if (!is_valid_name(name)) {
        return fail(Error::usage(fmt::format(
            "\"{}\" cannot name a rootfs: use lower-case letters, digits, '.', '_' and '-'",
            name)));
    }
    const bool rootless = ::geteuid() != 0;
    if (util::find_program("mmdebstrap").empty()) {
        return fail(
            Error::usage("mmdebstrap not found: install it with apt-get install mmdebstrap" +
                         std::string(rootless ? " uidmap" : "")));
    }
    if (rootless) {
        if (const std::string problem = rootless_build_problem(); !problem.empty())
            return fail(Error::usage(problem));
    }
    const fs::path store = own_store_dir();
    // apt, under mmdebstrap, cannot verify the archive in a tree whose path has a ':'.
    if (store.string().find(':') != std::string::npos) {
        return fail(Error::usage(fmt::format(
            "cannot build in {}: mmdebstrap fails in a path containing ':'; set NSBOX_ROOTFS_DIR "
            "to another directory",
            store.string())));
    }
    if (rootless) {
        if (auto r = check_traversable(store); !r) return fail(r.error());
    }
    if (auto r = ensure_store(store); !r) return fail(r.error());
    if (rootless) {
        // The store itself is the caller's: open it to passing through (a umask of 077 closes it).
        struct stat st {};
        if (::stat(store.c_str(), &st) == 0 && st.st_uid == ::getuid() &&
            (st.st_mode & S_IXOTH) == 0)
            ::chmod(store.c_str(), (st.st_mode & 07777) | S_IXOTH);
        if (auto r = check_traversable(store); !r) return fail(r.error());
    }
    collect_garbage(store);
    // 0755: a rootless build's root (a subordinate id) must pass through to the tree it fills.
    auto dir = make_build_dir(store, 0755);
    if (!dir) return fail(dir.error());
    BuildGuard guard(std::move(*dir));
    const fs::path staging = guard.path() / "files";
    std::error_code ec;
    fs::create_directory(staging, ec);
    // mmdebstrap's own temporary files live in the build directory too, so that whatever
    // becomes of the build, one removal takes everything.
    const fs::path tmp = guard.path() / "tmp";
    fs::create_directory(tmp, ec);
    if (ec) return fail(Error::system(Step::kRootfs, ec.value(), "create " + tmp.string()));
    auto hooks = file_hooks(recipe, staging);
    if (!hooks) return fail(hooks.error());

    const fs::path root = guard.path() / kRootDir;
    say(options.progress, "building rootfs \"{}\" from {} ({} {}, {} package{}{}), {}", name,
        recipe.path, recipe.suite, recipe.variant, recipe.packages.size(),
        recipe.packages.size() == 1 ? "" : "s", "", rootless ? "rootless" : "as root");
    const auto started = Clock::now();
    auto run =
        util::run_interruptible(mmdebstrap_argv(recipe, root, *hooks, rootless, options.progress),
                                {"TMPDIR=" + tmp.string()});
    if (!run) return fail(run.error());
    if (run->stopped_by != 0) {
        return fail(Error::system(Step::kRootfs, EINTR,
                                  fmt::format("rootfs build stopped by {}; nothing was kept",
                                              sigabbrev_np(run->stopped_by))));
    }
    if (run->exit_status != 0) {
        return fail(Error::usage(fmt::format(
            "mmdebstrap failed with exit code {} (its messages are above); nothing was kept",
            run->exit_status)));
    }
    if (auto r = run_check(recipe, guard.path(), root, options.progress); !r)
        return fail(r.error());

    Manifest manifest;
    manifest.name = name;
    manifest.id = random_id();
    manifest.recipe_name = recipe.name;
    manifest.recipe_path = fs::absolute(recipe.path, ec).string();
    manifest.recipe_sha256 = recipe.sha256;
    manifest.suite = recipe.suite;
    manifest.variant = recipe.variant;
    manifest.built_at = utc_timestamp();
    manifest.build_seconds = std::chrono::duration<double>(Clock::now() - started).count();
    manifest.builder = rootless ? "rootless" : "root";
    manifest.nsbox_version = NSBOX_VERSION;
    manifest.packages = installed_packages(root);
    manifest.size_bytes = disk_usage(root);
    for (const fs::path& scratch : {staging, tmp, guard.path() / "check-workspace"}) {
        if (auto r = remove_tree(scratch); !r) return fail(r.error());
    }
    auto fd = util::open_fd((guard.path() / kManifestFile).string(),
                            O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, Step::kRootfs, 0644);
    if (!fd) return fail(fd.error());
    if (auto r =
            util::write_all(fd->get(), manifest_json(manifest), Step::kRootfs, "write manifest");
        !r)
        return fail(r.error());
    if (::fsync(fd->get()) != 0) return fail(Error::from_errno(Step::kRootfs, "fsync manifest"));
    // Root's trees: users pass through to run in them, but cannot open (and lock) the tree.
    if (!rootless && ::chmod(guard.path().c_str(), 0711) != 0)
        return fail(Error::from_errno(Step::kRootfs, "chmod " + guard.path().string()));
    if (auto r = publish_tree(guard.path(), store, name, manifest.id); !r) return fail(r.error());
    guard.published();
    const fs::path tree = store / (std::string(kTreePrefix) + manifest.id);
    collect_garbage(store);  // the tree this one replaced, unless a sandbox still uses it
    return Installed{name, tree, tree / kRootDir, std::move(manifest)};
}

Result<void> remove(std::string_view name) {
    const std::string wanted(name);
    if (!is_valid_name(wanted))
        return fail(Error::usage(fmt::format("\"{}\" is not a rootfs name", wanted)));
    const fs::path store = own_store_dir();
    const fs::path dir = store / wanted;
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(dir, ec)))
        return fail(
            Error::usage(fmt::format("no rootfs named \"{}\" in {}", wanted, store.string())));
    // A NAME links to its tree (a plain directory is an older layout, or damaged debris).
    const bool linked = fs::is_symlink(fs::symlink_status(dir, ec));
    const fs::path tree = linked ? fs::canonical(dir, ec) : dir;
    std::optional<UniqueFd> lock;
    if (!ec && fs::exists(tree, ec)) {
        auto taken = lock_dir(tree, true, true);
        if (!taken) return fail(taken.error());
        if (!*taken) {
            return fail(Error::usage(fmt::format(
                "rootfs \"{}\" is in use by a running sandbox or build; try again when it has "
                "finished",
                wanted)));
        }
        lock = std::move(*taken);
    }
    if (linked && ::unlink(dir.c_str()) != 0)
        return fail(Error::from_errno(Step::kRootfs, "remove " + dir.string()));
    if (lock) {
        // Out of the store's namespace first: a crash midway leaves debris, never a broken NAME.
        const fs::path old =
            store / (std::string(kOldPrefix) + wanted + "-" + random_id().substr(0, 8));
        if (::rename(tree.c_str(), old.c_str()) != 0)
            return fail(Error::from_errno(Step::kRootfs, "rename " + tree.string()));
        if (auto r = remove_tree(old); !r) return fail(r.error());
    }
    collect_garbage(store);  // its requirements layers are now stale
    return {};
}

}  // namespace nsbox::rootfs
