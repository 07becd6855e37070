// Requirements layers and the run-time use of a stored rootfs: lock it, build or reuse the
// layer pip installs into (in a sandbox of its own), hand the layer to the mount plan.
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "nsbox/launcher.hpp"
#include "nsbox/rootfs.hpp"
#include "nsbox/validate.hpp"
#include "rootfs/store.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/sha256.hpp"

namespace nsbox::rootfs {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxRequirementsBytes = 1U << 20;
constexpr uid_t kOverflowId = 65534;  // the host id root's sandbox user runs as
constexpr int kLockAttempts = 3;
constexpr const char* kLayerMount = "/layer";
constexpr const char* kWheelsMount = "/wheels";
// pip's index settings (profiles/requirements.toml passes them): part of a layer's key.
constexpr const char* kPipIndexVariables[] = {"PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL",
                                              "PIP_TRUSTED_HOST", "PIP_FIND_LINKS"};

// The stored rootfs a run uses, locked shared; re-resolved if it was replaced or removed
// between validation and the lock.
Result<Installed> lock_base(Spec& spec, Lease& lease) {
    for (int attempt = 0; attempt < kLockAttempts; ++attempt) {
        auto lock = lock_dir(spec.rootfs_entry, false, false);
        if (!lock && lock.error().sys_errno == EACCES) {
            // Root's tree (0711): runnable, not lockable by users, so that no user can pin it.
            auto installed = read_installed(spec.rootfs_entry, spec.rootfs_name);
            if (installed) return installed;
        }
        if (lock) {
            struct stat held {};
            struct stat named {};
            if (::fstat(lock->get(), &held) == 0 &&
                ::stat(spec.rootfs_entry.c_str(), &named) == 0 && held.st_dev == named.st_dev &&
                held.st_ino == named.st_ino) {
                auto installed = read_installed(spec.rootfs_entry, spec.rootfs_name);
                if (!installed) {
                    return fail(
                        Error::usage(fmt::format("rootfs \"{}\" at {} is damaged ({}): rebuild it "
                                                 "with nsbox rootfs build {}",
                                                 spec.rootfs_name, spec.rootfs_entry,
                                                 installed.error().what, spec.rootfs_name)));
                }
                lease.hold(std::move(*lock));
                return installed;
            }
        }
        auto again = find_installed(spec.rootfs_name, store_search_dirs());
        if (!again) return fail(again.error());
        spec.rootfs_entry = again->dir.string();
        spec.rootfs.value = again->root.string();
    }
    return fail(Error::usage(
        fmt::format("rootfs \"{}\" kept changing while starting (being rebuilt?): try again",
                    spec.rootfs_name)));
}

// What pip installed: NAME-VERSION.dist-info directories anywhere under usr/local/lib.
std::vector<Package> layer_packages(const fs::path& root) {
    std::vector<Package> packages;
    std::error_code ec;
    const fs::path lib = root / "usr/local/lib";
    for (const fs::directory_entry& python : fs::directory_iterator(lib, ec)) {
        std::error_code inner;
        for (const fs::directory_entry& item :
             fs::directory_iterator(python.path() / "dist-packages", inner)) {
            const std::string stem = item.path().filename().string();
            const std::string suffix = ".dist-info";
            if (stem.size() <= suffix.size() || stem.substr(stem.size() - suffix.size()) != suffix)
                continue;
            const std::string base = stem.substr(0, stem.size() - suffix.size());
            const auto dash = base.find('-');
            if (dash == std::string::npos) continue;
            packages.push_back({base.substr(0, dash), base.substr(dash + 1)});
        }
    }
    std::sort(packages.begin(), packages.end(),
              [](const Package& a, const Package& b) { return a.name < b.name; });
    return packages;
}

// Root's sandbox user is host id 65534: the layer is written as that id, then handed to root.
Result<void> chown_tree(const fs::path& root, uid_t uid, gid_t gid) {
    std::error_code ec;
    if (::lchown(root.c_str(), uid, gid) != 0)
        return fail(Error::from_errno(Step::kRootfs, "chown " + root.string()));
    for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
        if (::lchown(it->path().c_str(), uid, gid) != 0)
            return fail(Error::from_errno(Step::kRootfs, "chown " + it->path().string()));
    }
    if (ec) return fail(Error::system(Step::kRootfs, ec.value(), "walk " + root.string()));
    return {};
}

std::vector<std::string> pip_command(const RequirementsSpec& req) {
    std::vector<std::string> argv{
        "python3",
        "-m",
        "pip",
        "install",
        "--root",
        kLayerMount,
        "--no-warn-script-location",
        "--disable-pip-version-check",
        "--no-cache-dir",
        "--requirement",
        std::string(kWorkspaceDir) + "/" + fs::path(req.file).filename().string()};
    if (!req.find_links.empty()) {
        argv.emplace_back("--find-links");
        argv.emplace_back(kWheelsMount);
    }
    if (req.no_index) argv.emplace_back("--no-index");
    if (log::level() > log::Level::kWarn) argv.emplace_back("--quiet");  // nsbox -q: errors only
    return argv;
}

// pip, in a sandbox of the "requirements" profile on the base rootfs: the requirements file's
// directory read-only at /workspace, the layer being built writable at /layer, the wheelhouse
// read-only at /wheels, the network only when pip may reach an index.
Result<void> run_pip(const Installed& base, const RequirementsSpec& req,
                     const fs::path& layer_root) {
    RunRequest request;
    request.command = pip_command(req);
    request.workspace = fs::path(req.file).parent_path().string();
    const Origin origin = Origin::builtin("the requirements layer");
    request.cli.rootfs = Sourced<std::string>{base.root.string(), origin};
    request.cli.workspace_mode = Sourced<WorkspaceMode>{WorkspaceMode::kReadOnly, origin};
    if (req.no_index) request.cli.network = Sourced<NetMode>{NetMode::kNone, origin};
    request.cli.binds.push_back(BindSpec{layer_root.string(), kLayerMount, false, origin});
    if (!req.find_links.empty())
        request.cli.binds.push_back(BindSpec{req.find_links, kWheelsMount, true, origin});
    auto status = run_internal_sandbox("requirements", request);
    if (!status) return fail(status.error());
    if (*status != 0) {
        return fail(Error::usage(fmt::format(
            "pip could not install {} (exit code {}, its messages are above); nothing was kept",
            req.file, *status)));
    }
    return {};
}

Result<UniqueFd> lock_existing(const fs::path& dir);

Result<Layer> build_layer(const Installed& base, const RequirementsSpec& req,
                          const std::string& requirements_text, const std::string& key,
                          const fs::path& layers, UniqueFd& lock) {
    std::error_code ec;
    if (!fs::is_directory(base.root / "usr/lib/python3/dist-packages/pip", ec)) {
        return fail(Error::usage(fmt::format(
            "rootfs \"{}\" has no pip (Debian's python3-pip), which --requirements installs "
            "with: add python3-pip to its recipe's packages and rebuild it",
            base.name)));
    }
    // 0700: while pip runs, the tree below belongs to the sandbox user (for root, host id
    // 65534, which other host processes may run as): nobody else may reach it.
    auto dir = make_build_dir(layers, 0700);
    if (!dir) return fail(dir.error());
    const fs::path build = dir->path;
    struct Cleanup {
        const fs::path& path;
        bool keep = false;
        ~Cleanup() {
            if (!keep) (void)remove_tree(path);
        }
    } cleanup{build};
    const fs::path root = build / kRootDir;
    fs::create_directory(root, ec);
    if (ec) return fail(Error::system(Step::kRootfs, ec.value(), "create " + root.string()));
    const bool as_root = ::geteuid() == 0;
    if (as_root) {
        if (auto r = chown_tree(root, kOverflowId, kOverflowId); !r) return fail(r.error());
    }
    log::progress(
        "installing {} into a new layer over rootfs \"{}\" ({})", req.file, base.name,
        req.no_index ? "no network: --find-links only" : "pip may use its index over the network");
    const auto started = Clock::now();
    if (auto r = run_pip(base, req, root); !r) return fail(r.error());
    if (as_root) {
        if (auto r = chown_tree(root, 0, 0); !r) return fail(r.error());
    }
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    json packages = json::array();
    for (const Package& p : layer_packages(root))
        packages.push_back({{"name", p.name}, {"version", p.version}});
    const json info = {
        {"key", key},
        {"base", {{"name", base.name}, {"id", base.manifest.id}}},
        {"requirements", {{"file", req.file}, {"sha256", util::sha256_hex(requirements_text)}}},
        {"find_links", req.find_links},
        {"no_index", req.no_index},
        {"built_at", utc_timestamp()},
        {"build_seconds", std::chrono::duration<double>(took).count()},
        {"packages", packages},
    };
    auto fd = util::open_fd((build / kLayerFile).string(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                            Step::kRootfs, 0644);
    if (!fd) return fail(fd.error());
    if (auto r = util::write_all(fd->get(), info.dump(2) + "\n", Step::kRootfs, "write layer.json");
        !r)
        return fail(r.error());
    const fs::path dest = layers / key;
    if (auto r = publish_layer(build, dest); !r) {
        // Built meanwhile by a builder whose key lock was collected under it: use that one.
        if (r.error().sys_errno != EEXIST && r.error().sys_errno != ENOTEMPTY)
            return fail(r.error());
        auto existing = lock_existing(dest);
        if (!existing || !*existing) return fail(r.error());
        lock = std::move(*existing);
        return Layer{key, dest, dest / kRootDir, false, took};
    }
    cleanup.keep = true;
    // The build's exclusive lock now guards `dest`: turned shared, it is the run's lease.
    if (::flock(dir->lock.get(), LOCK_SH) != 0)
        return fail(Error::from_errno(Step::kRootfs, "lock " + dest.string()));
    lock = std::move(dir->lock);
    log::progress("requirements layer ready in {:.1f}s, kept for later runs",
                  std::chrono::duration<double>(took).count());
    return Layer{key, dest, dest / kRootDir, true, took};
}

// An existing layer, locked shared; an empty lock when there is none (or it is half-removed).
Result<UniqueFd> lock_existing(const fs::path& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return UniqueFd{};
    auto lock = lock_dir(dir, false, false);
    if (!lock) return UniqueFd{};
    if (!fs::is_regular_file(dir / kLayerFile, ec)) return UniqueFd{};
    return lock;
}

Result<Layer> ensure_layer(const Installed& base, const RequirementsSpec& req, Lease& lease) {
    auto text = util::read_small_file(req.file, kMaxRequirementsBytes);
    if (!text) {
        return fail(Error::usage(
            fmt::format("requirements file {}: {}", req.file, text.error().message())));
    }
    const std::string key = layer_key(base.manifest, *text, req);
    const fs::path store = own_store_dir();
    if (store.empty()) {
        return fail(Error::usage(
            "no place for requirements layers: set HOME or NSBOX_ROOTFS_DIR to an absolute path"));
    }
    if (auto r = ensure_store(store / kLayersDir); !r) return fail(r.error());
    // Canonical, as the base is: the mount plan resolves it in the staging view.
    std::error_code ec;
    const fs::path layers = fs::canonical(store / kLayersDir, ec);
    if (ec) return fail(Error::system(Step::kRootfs, ec.value(), "resolve the layer store"));
    const fs::path dir = layers / key;
    auto existing = lock_existing(dir);
    if (!existing) return fail(existing.error());
    if (*existing) {
        lease.hold(std::move(*existing));
        return Layer{key, dir, dir / kRootDir, false, {}};
    }
    // One builder per key: others wait here, then find the layer built.
    const fs::path key_lock = layers / (kLockPrefix + key);
    auto lock_fd =
        util::open_fd(key_lock.string(), O_RDWR | O_CREAT | O_CLOEXEC, Step::kRootfs, 0644);
    if (!lock_fd) return fail(lock_fd.error());
    if (::flock(lock_fd->get(), LOCK_EX | LOCK_NB) != 0) {
        log::progress("waiting for another nsbox building the same requirements layer");
        while (::flock(lock_fd->get(), LOCK_EX) != 0) {
            if (errno != EINTR)
                return fail(Error::from_errno(Step::kRootfs, "lock " + key_lock.string()));
        }
    }
    existing = lock_existing(dir);
    if (!existing) return fail(existing.error());
    if (*existing) {
        lease.hold(std::move(*existing));
        return Layer{key, dir, dir / kRootDir, false, {}};
    }
    UniqueFd held;
    auto layer = build_layer(base, req, *text, key, layers, held);
    if (!layer) return fail(layer.error());
    lease.hold(std::move(held));
    return layer;
}

// What a --find-links directory offers, not where it is (the same wheels in another, or a
// fresh temporary, directory reuse the layer): each file's name (which carries name, version
// and tags), size, and a hash of its last 64 KiB, where a wheel (a zip) keeps its central
// directory with every member's CRC: a rebuilt wheel differs there even at the same size, and
// a large wheelhouse costs one small read per file, not a full hash.
std::string wheelhouse_fingerprint(const std::string& dir) {
    if (dir.empty()) return {};
    constexpr std::size_t kTail = 64U << 10;
    std::vector<std::string> lines;
    std::error_code ec;
    for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
        std::error_code inner;
        if (!entry.is_regular_file(inner)) continue;
        const auto size = entry.file_size(inner);
        std::string tail;
        if (std::ifstream in(entry.path(), std::ios::binary); in) {
            const auto skip = size > kTail ? size - kTail : 0;
            in.seekg(static_cast<std::streamoff>(skip));
            tail.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        }
        lines.push_back(fmt::format("{} {} {}", entry.path().filename().string(), size,
                                    util::sha256_hex(tail)));
    }
    std::sort(lines.begin(), lines.end());
    std::string out;
    for (const std::string& line : lines) out += line + "\n";
    return out;
}

}  // namespace

std::string layer_key(const Manifest& base, std::string_view requirements_text,
                      const RequirementsSpec& requirements) {
    // Length-prefixed fields: no two different inputs serialise alike.
    std::string material;
    auto field = [&](std::string_view value) {
        material += std::to_string(value.size()) + ":" + std::string(value) + ";";
    };
    field("nsbox-requirements-layer-2");
    field(base.id);
    field(requirements_text);
    field(requirements.find_links.empty() ? "no-find-links" : "find-links");
    field(wheelhouse_fingerprint(requirements.find_links));
    field(requirements.no_index ? "no-index" : "index");
    // Where pip looks: the index settings the requirements profile passes in.
    for (const char* name : kPipIndexVariables) {
        const char* value = std::getenv(name);
        field(value ? value : "");
    }
    return util::sha256_hex(material);
}

Result<Lease> prepare_for_run(Spec& spec) {
    Lease lease;
    if (spec.rootfs_name.empty()) return lease;
    auto base = lock_base(spec, lease);
    if (!base) return fail(base.error());
    if (!spec.requirements) return lease;
    auto layer = ensure_layer(*base, *spec.requirements, lease);
    if (!layer) return fail(layer.error());
    spec.rootfs_layers.push_back(layer->root.string());
    return lease;
}

}  // namespace nsbox::rootfs
