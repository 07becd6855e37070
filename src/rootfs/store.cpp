// The rootfs store: names, locations, manifests, locks, atomic publication and removal.
#include "rootfs/store.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <set>

#include "nsbox/launcher.hpp"
#include "rootfs/subids.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/path.hpp"

namespace nsbox::rootfs {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::size_t kMaxManifestBytes = 16U << 20;
constexpr std::size_t kMaxNameLength = 64;

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

Result<Manifest> parse_manifest(const std::string& text) {
    try {
        const json j = json::parse(text);
        Manifest m;
        m.name = j.at("name").get<std::string>();
        m.id = j.at("id").get<std::string>();
        m.recipe_name = j.at("recipe").at("name").get<std::string>();
        m.recipe_path = j.at("recipe").at("path").get<std::string>();
        m.recipe_sha256 = j.at("recipe").at("sha256").get<std::string>();
        m.suite = j.at("suite").get<std::string>();
        m.variant = j.at("variant").get<std::string>();
        m.built_at = j.at("built_at").get<std::string>();
        m.build_seconds = j.at("build_seconds").get<double>();
        m.builder = j.at("builder").get<std::string>();
        m.size_bytes = j.at("size_bytes").get<std::uint64_t>();
        m.nsbox_version = j.at("nsbox_version").get<std::string>();
        for (const json& p : j.at("packages"))
            m.packages.push_back(
                {p.at("name").get<std::string>(), p.at("version").get<std::string>()});
        if (m.id.empty()) return fail(Error::usage("empty build id"));
        return m;
    } catch (const json::exception& e) {  // nlohmann throws; this edge converts
        return fail(Error::usage(e.what()));
    }
}

// Removes one store entry if no process holds it (a build in progress, a run in progress).
void collect_entry(const fs::path& path) {
    auto lock = lock_dir(path, true, true);
    if (!lock || !*lock) return;
    if (auto r = remove_tree(path); !r)
        log::debug("cannot remove {}: {}", path.string(), r.error().message());
}

// A layer's build lock, once its layer is gone and no builder holds it. A builder that opened
// it just before the unlink builds under a lock no newcomer shares; publication refuses to
// replace a layer, so two such builds of one key cost time, never a layer in use.
void collect_key_lock(const fs::path& lock_file, const fs::path& layer) {
    std::error_code ec;
    if (fs::exists(layer, ec)) return;
    const int fd = ::open(lock_file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return;
    const UniqueFd held(fd);
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) ::unlink(lock_file.c_str());
}

// Layers whose base is gone or was rebuilt (another id) serve nothing.
bool stale_layer(const fs::path& layer, const fs::path& store) {
    auto text = util::read_small_file(layer / kLayerFile, kMaxManifestBytes);
    if (!text) return true;
    try {
        const json j = json::parse(*text);
        const std::string base_name = j.at("base").at("name").get<std::string>();
        const std::string base_id = j.at("base").at("id").get<std::string>();
        for (const fs::path& dir : {store, fs::path(kSystemStore)}) {
            auto base = read_installed(dir / base_name, base_name);
            if (base && base->manifest.id == base_id) return false;
        }
        return true;
    } catch (const json::exception&) {
        return true;
    }
}

// Requirements layers per base name, from layers/*/layer.json.
std::map<std::string, int> layer_counts(const fs::path& store) {
    std::map<std::string, int> counts;
    std::error_code ec;
    for (const fs::directory_entry& entry : fs::directory_iterator(store / kLayersDir, ec)) {
        if (entry.path().filename().string().front() == '.') continue;
        auto text = util::read_small_file(entry.path() / kLayerFile, kMaxManifestBytes);
        if (!text) continue;
        try {
            ++counts[json::parse(*text).at("base").at("name").get<std::string>()];
        } catch (const json::exception&) {  // a damaged layer is garbage: not counted
            continue;
        }
    }
    return counts;
}

}  // namespace

bool is_valid_name(std::string_view name) {
    if (name.empty() || name.size() > kMaxNameLength) return false;
    // "layers" is the store's own directory; "host" means the host rootfs.
    if (name == kLayersDir || name == "host") return false;
    if (!std::isalnum(static_cast<unsigned char>(name.front()))) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return std::islower(static_cast<unsigned char>(c)) ||
               std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    });
}

bool names_stored_rootfs(std::string_view value) {
    return value != "host" && value.find('/') == std::string_view::npos;
}

fs::path own_store_dir() {
    if (const char* dir = std::getenv("NSBOX_ROOTFS_DIR"); dir && *dir == '/') return dir;
    if (::geteuid() == 0) return kSystemStore;
    const fs::path data = util::xdg_base_dir("XDG_DATA_HOME", ".local/share");
    return data.empty() ? fs::path{} : data / "nsbox/rootfs";
}

std::vector<fs::path> store_search_dirs() {
    std::vector<fs::path> dirs;
    if (const fs::path own = own_store_dir(); !own.empty()) dirs.push_back(own);
    if (::geteuid() != 0 && (dirs.empty() || dirs.back() != kSystemStore))
        dirs.emplace_back(kSystemStore);
    return dirs;
}

Result<UniqueFd> lock_dir(const fs::path& dir, bool exclusive, bool nonblocking) {
    const int raw = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (raw < 0) return fail(Error::from_errno(Step::kRootfs, "open " + dir.string()));
    UniqueFd fd(raw);
    const int op = (exclusive ? LOCK_EX : LOCK_SH) | (nonblocking ? LOCK_NB : 0);
    while (::flock(fd.get(), op) != 0) {
        if (errno == EWOULDBLOCK && nonblocking) return UniqueFd{};
        if (errno != EINTR) return fail(Error::from_errno(Step::kRootfs, "lock " + dir.string()));
    }
    return fd;
}

Result<void> ensure_store(const fs::path& store) {
    if (store.empty()) {
        return fail(Error::usage(
            "no place for the rootfs store: set HOME or XDG_DATA_HOME to an absolute path"));
    }
    std::error_code ec;
    fs::create_directories(store, ec);
    if (ec) return fail(Error::system(Step::kRootfs, ec.value(), "create " + store.string()));
    return {};
}

Result<BuildDir> make_build_dir(const fs::path& parent, mode_t mode) {
    // Made and locked under a name garbage collection ignores, then renamed: collection never
    // sees an unlocked .build-* that is in fact just starting.
    std::string pattern = (parent / (std::string(kNewPrefix) + "XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr)
        return fail(
            Error::from_errno(Step::kRootfs, "create a build directory in " + parent.string()));
    const fs::path fresh = pattern;
    auto abandon = [&fresh](Error error) {
        std::error_code ec;
        fs::remove(fresh, ec);
        return fail(std::move(error));
    };
    if (::chmod(fresh.c_str(), mode) != 0)
        return abandon(Error::from_errno(Step::kRootfs, "chmod " + fresh.string()));
    auto lock = lock_dir(fresh, true, false);
    if (!lock) return abandon(lock.error());
    BuildDir dir{parent / (std::string(kBuildPrefix) +
                           fresh.filename().string().substr(std::string(kNewPrefix).size())),
                 std::move(*lock)};
    if (::rename(fresh.c_str(), dir.path.c_str()) != 0)
        return abandon(Error::from_errno(Step::kRootfs, "rename " + fresh.string()));
    return dir;
}

Result<void> publish_tree(const fs::path& build, const fs::path& store, const std::string& name,
                          const std::string& id) {
    const std::string tree_name = std::string(kTreePrefix) + id;
    const fs::path tree = store / tree_name;
    if (::renameat2(AT_FDCWD, build.c_str(), AT_FDCWD, tree.c_str(), RENAME_NOREPLACE) != 0)
        return fail(Error::from_errno(Step::kRootfs, "rename " + build.string()));
    // NAME is a symlink to the tree: replacing it is one atomic rename, and a tree, once
    // published, never moves, so a run that locked it keeps exactly what it locked.
    const fs::path link = store / (std::string(kNewPrefix) + "link-" + id);
    const fs::path dest = store / name;
    if (::symlink(tree_name.c_str(), link.c_str()) != 0)
        return fail(Error::from_errno(Step::kRootfs, "symlink " + link.string()));
    if (::rename(link.c_str(), dest.c_str()) != 0) {
        // A directory of an older layout cannot be renamed over: swap it out instead.
        if (errno != EISDIR ||
            ::renameat2(AT_FDCWD, link.c_str(), AT_FDCWD, dest.c_str(), RENAME_EXCHANGE) != 0) {
            const Error error = Error::from_errno(Step::kRootfs, "replace " + dest.string());
            ::unlink(link.c_str());
            return fail(error);
        }
        const fs::path old = store / (std::string(kOldPrefix) + name + "-" + id.substr(0, 8));
        if (::rename(link.c_str(), old.c_str()) == 0) collect_entry(old);
    }
    return {};
}

Result<void> publish_layer(const fs::path& build, const fs::path& dest) {
    if (::renameat2(AT_FDCWD, build.c_str(), AT_FDCWD, dest.c_str(), RENAME_NOREPLACE) == 0)
        return {};
    return fail(
        Error::from_errno(Step::kRootfs, "rename " + build.string() + " to " + dest.string()));
}

Result<void> remove_tree(const fs::path& tree) {
    std::error_code ec;
    fs::remove_all(tree, ec);
    if (!ec) return {};
    if (::geteuid() == 0 || (ec.value() != EACCES && ec.value() != EPERM))
        return fail(Error::system(Step::kRootfs, ec.value(), "remove " + tree.string()));
    // A rootless build: what is left belongs to subordinate ids.
    auto status = run_as_subordinate_root([&tree] {
        std::error_code inner;
        fs::remove_all(tree, inner);
        return inner ? 1 : 0;
    });
    if (!status) return fail(status.error());
    if (*status != 0) return fail(Error::system(Step::kRootfs, EACCES, "remove " + tree.string()));
    return {};
}

Result<Installed> read_installed(const fs::path& dir, const std::string& name) {
    auto text = util::read_small_file(dir / kManifestFile, kMaxManifestBytes);
    if (!text)
        return fail(Error::usage(fmt::format("{}: {}", kManifestFile, text.error().message())));
    auto manifest = parse_manifest(*text);
    if (!manifest)
        return fail(Error::usage(fmt::format("{}: {}", kManifestFile, manifest.error().what)));
    std::error_code ec;
    if (!fs::is_directory(dir / kRootDir / "usr", ec))
        return fail(Error::usage("root/usr is missing"));
    return Installed{name, dir, dir / kRootDir, std::move(*manifest)};
}

Result<Installed> find_installed(std::string_view name, const std::vector<fs::path>& dirs) {
    const std::string wanted(name);
    if (!is_valid_name(wanted)) {
        return fail(Error::usage(fmt::format(
            "\"{}\" is not a rootfs name (lower-case letters, digits, '.', '_', '-'); a directory "
            "needs a '/' (./{})",
            wanted, wanted)));
    }
    std::string searched;
    for (const fs::path& store : dirs) {
        std::error_code ec;
        if (fs::exists(fs::symlink_status(store / wanted, ec))) {
            // Canonical: the mounts resolve it in the sandbox's staging view, where an absolute
            // symlink on the way would point into the staging root, not the host's.
            const fs::path dir = fs::canonical(store / wanted, ec);
            if (ec) {
                return fail(Error::usage(fmt::format("rootfs \"{}\" at {}: {}", wanted,
                                                     (store / wanted).string(), ec.message())));
            }
            auto installed = read_installed(dir, wanted);
            if (!installed) {
                return fail(Error::usage(fmt::format(
                    "rootfs \"{}\" at {} is damaged ({}): rebuild it with nsbox rootfs build {}",
                    wanted, dir.string(), installed.error().what, wanted)));
            }
            return installed;
        }
        searched += (searched.empty() ? "" : ", ") + store.string();
    }
    return fail(Error::usage(
        fmt::format("no rootfs named \"{}\" (looked in {}): build it with nsbox rootfs build {}",
                    wanted, searched.empty() ? "no store: HOME is not set" : searched, wanted)));
}

Result<Listing> list_installed(const fs::path& store) {
    Listing listing;
    std::error_code ec;
    if (!fs::exists(store, ec)) return listing;
    std::vector<std::string> names;
    for (const fs::directory_entry& entry : fs::directory_iterator(store, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.front() == '.' || name == kLayersDir) continue;
        names.push_back(name);
    }
    if (ec) return fail(Error::system(Step::kRootfs, ec.value(), "read " + store.string()));
    std::sort(names.begin(), names.end());
    listing.layer_counts = layer_counts(store);
    for (const std::string& name : names) {
        auto installed = read_installed(store / name, name);
        if (installed) {
            listing.rootfs.push_back(std::move(*installed));
        } else {
            listing.damaged.push_back(name + ": " + installed.error().what);
        }
    }
    return listing;
}

void collect_garbage(const fs::path& store) {
    std::error_code ec;
    // Trees some NAME points to are in service; the others are replaced or removed ones.
    std::set<std::string> linked;
    for (const fs::directory_entry& entry : fs::directory_iterator(store, ec)) {
        std::error_code inner;
        if (entry.is_symlink(inner))
            linked.insert(fs::read_symlink(entry.path(), inner).filename().string());
    }
    for (const fs::directory_entry& entry : fs::directory_iterator(store, ec)) {
        const std::string name = entry.path().filename().string();
        const bool debris = starts_with(name, kBuildPrefix) || starts_with(name, kOldPrefix) ||
                            (starts_with(name, kTreePrefix) && linked.count(name) == 0);
        if (debris) collect_entry(entry.path());
    }
    const fs::path layers = store / kLayersDir;
    std::vector<fs::path> key_locks;
    for (const fs::directory_entry& entry : fs::directory_iterator(layers, ec)) {
        const std::string name = entry.path().filename().string();
        if (starts_with(name, kLockPrefix)) {
            key_locks.push_back(entry.path());
            continue;
        }
        const bool debris = starts_with(name, kBuildPrefix) || starts_with(name, kOldPrefix) ||
                            (name.front() != '.' && stale_layer(entry.path(), store));
        if (debris) collect_entry(entry.path());
    }
    // After the layers: a lock goes with a layer collected just above, whatever the order the
    // directory listed them in.
    for (const fs::path& lock : key_locks) {
        const std::string name = lock.filename().string();
        collect_key_lock(lock, layers / name.substr(std::string(kLockPrefix).size()));
    }
}

std::string manifest_json(const Manifest& m) {
    json packages = json::array();
    for (const Package& p : m.packages)
        packages.push_back({{"name", p.name}, {"version", p.version}});
    const json j = {
        {"name", m.name},
        {"id", m.id},
        {"recipe", {{"name", m.recipe_name}, {"path", m.recipe_path}, {"sha256", m.recipe_sha256}}},
        {"suite", m.suite},
        {"variant", m.variant},
        {"built_at", m.built_at},
        {"build_seconds", m.build_seconds},
        {"builder", m.builder},
        {"size_bytes", m.size_bytes},
        {"nsbox_version", m.nsbox_version},
        {"packages", packages},
    };
    return j.dump(2) + "\n";
}

Result<int> run_internal_sandbox(const char* profile_name, const RunRequest& request) {
    auto profile = resolve_profile(profile_name, profile_search_dirs());
    if (!profile) return fail(profile.error());
    profile->settings.requirements_file.reset();
    profile->settings.find_links.reset();
    profile->settings.no_index.reset();
    auto spec = build_spec(*profile, request, host_context_of_this_process());
    if (!spec) return fail(spec.error());
    std::fflush(stdout);
    const UniqueFd saved(::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3));
    if (!saved || ::dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
        return fail(Error::from_errno(Step::kRootfs, "redirect stdout"));
    auto result = run_sandbox(*spec);
    ::dup2(saved.get(), STDOUT_FILENO);
    if (!result) return fail(result.error());
    if (result->error) return fail(*result->error);
    return result->exit_code;
}

std::string utc_timestamp() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

}  // namespace nsbox::rootfs
