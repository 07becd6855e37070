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

Result<BuildDir> make_build_dir(const fs::path& parent) {
    std::string pattern = (parent / (std::string(kBuildPrefix) + "XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr)
        return fail(
            Error::from_errno(Step::kRootfs, "create a build directory in " + parent.string()));
    BuildDir dir{pattern, {}};
    // mkdtemp's 0700 would keep out a rootless build's own root (a subordinate id), which
    // must reach the tree it fills below, and the runs of other users of root's store.
    if (::chmod(dir.path.c_str(), 0755) != 0) {
        const int err = errno;
        std::error_code ec;
        fs::remove(dir.path, ec);
        return fail(Error::system(Step::kRootfs, err, "chmod " + dir.path.string()));
    }
    auto lock = lock_dir(dir.path, true, false);
    if (!lock) {
        std::error_code ec;
        fs::remove(dir.path, ec);
        return fail(lock.error());
    }
    dir.lock = std::move(*lock);
    return dir;
}

Result<void> publish(const fs::path& build, const fs::path& dest) {
    if (::renameat2(AT_FDCWD, build.c_str(), AT_FDCWD, dest.c_str(), RENAME_NOREPLACE) == 0)
        return {};
    if (errno != EEXIST)
        return fail(
            Error::from_errno(Step::kRootfs, "rename " + build.string() + " to " + dest.string()));
    if (::renameat2(AT_FDCWD, build.c_str(), AT_FDCWD, dest.c_str(), RENAME_EXCHANGE) != 0)
        return fail(Error::from_errno(Step::kRootfs, "replace " + dest.string()));
    // `build` now names the replaced tree: out of the way first, then gone unless in use.
    const fs::path old =
        dest.parent_path() / (std::string(kOldPrefix) +
                              build.filename().string().substr(std::string(kBuildPrefix).size()));
    if (::rename(build.c_str(), old.c_str()) != 0) {
        log::warn("could not set the replaced {} aside: {}", dest.string(), std::strerror(errno));
        return {};
    }
    collect_entry(old);
    return {};
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
    for (const fs::path& dir : {store, store / kLayersDir}) {
        for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
            const std::string name = entry.path().filename().string();
            const bool debris = starts_with(name, kBuildPrefix) || starts_with(name, kOldPrefix);
            const bool stale_layer_dir = !debris && dir != store && name.front() != '.' &&
                                         entry.is_directory(ec) && stale_layer(entry.path(), store);
            if (debris || stale_layer_dir) collect_entry(entry.path());
        }
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

Result<RunResult> run_sandbox_to_stderr(const Spec& spec) {
    std::fflush(stdout);
    const UniqueFd saved(::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3));
    if (!saved || ::dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
        return fail(Error::from_errno(Step::kRootfs, "redirect stdout"));
    auto result = run_sandbox(spec);
    ::dup2(saved.get(), STDOUT_FILENO);
    return result;
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
