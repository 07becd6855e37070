// `nsbox rootfs build|list|path|rm`: the store of prepared root filesystems.
#include <fmt/core.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/options.hpp"
#include "nsbox/rootfs.hpp"
#include "nsbox/units.hpp"
#include "util/fs.hpp"

namespace nsbox::cli {
namespace {

namespace fs = std::filesystem;

int fail_with(const Error& error) {
    std::fprintf(stderr, "%s\n", error.line().c_str());
    // A build stopped by ^C ends as an interrupted program does.
    if (error.step == Step::kRootfs && error.sys_errno == EINTR) return 130;
    return error.exit_code();
}

int build_command(const RootfsOptions& o) {
    auto recipe = rootfs::load_recipe(o.recipe, rootfs::recipe_search_dirs());
    if (!recipe) return fail_with(recipe.error());
    auto built = rootfs::build(*recipe, rootfs::BuildOptions{o.name, !o.quiet});
    if (!built) return fail_with(built.error());
    const rootfs::Manifest& m = built->manifest;
    if (!o.quiet) {
        fmt::print(stderr, "nsbox: built rootfs \"{}\" in {:.1f}s: {}, {} packages, in {}\n",
                   built->name, m.build_seconds, format_size_rounded(m.size_bytes), m.packages.size(),
                   built->dir.string());
        fmt::print(stderr, "nsbox: use it with: nsbox run --rootfs {} SCRIPT.py\n", built->name);
    }
    return 0;
}

// Requirements layers per base name, from layers/*/layer.json.
std::map<std::string, int> layer_counts(const fs::path& store) {
    std::map<std::string, int> counts;
    std::error_code ec;
    for (const fs::directory_entry& entry : fs::directory_iterator(store / "layers", ec)) {
        if (entry.path().filename().string().front() == '.') continue;
        auto text = util::read_small_file(entry.path() / "layer.json", std::size_t{1} << 20);
        if (!text) continue;
        try {
            ++counts[nlohmann::json::parse(*text).at("base").at("name").get<std::string>()];
        } catch (const nlohmann::json::exception&) {  // a damaged layer is garbage: not listed
            continue;
        }
    }
    return counts;
}

int list_command() {
    bool any = false;
    for (const fs::path& store : rootfs::store_search_dirs()) {
        rootfs::collect_garbage(store);
        auto listing = rootfs::list_installed(store);
        if (!listing) return fail_with(listing.error());
        if (listing->rootfs.empty() && listing->damaged.empty()) continue;
        if (!any) {
            fmt::print("{:<16} {:>8} {:>8} {:<20} {:<10} {:>6}  {}\n", "NAME", "SIZE", "PACKAGES",
                       "BUILT", "SUITE", "LAYERS", "STORE");
        }
        any = true;
        const auto layers = layer_counts(store);
        for (const rootfs::Installed& r : listing->rootfs) {
            const auto count = layers.find(r.name);
            fmt::print("{:<16} {:>8} {:>8} {:<20} {:<10} {:>6}  {}\n", r.name,
                       format_size_rounded(r.manifest.size_bytes), r.manifest.packages.size(),
                       r.manifest.built_at, r.manifest.suite,
                       count == layers.end() ? 0 : count->second, store.string());
        }
        for (const std::string& damaged : listing->damaged)
            fmt::print("{}  (damaged: rebuild or remove it)  {}\n", damaged, store.string());
    }
    if (!any) fmt::print(stderr, "nsbox: no rootfs built yet: nsbox rootfs build python\n");
    return 0;
}

}  // namespace

int rootfs_command(const RootfsOptions& o) {
    if (o.action == "build") return build_command(o);
    if (o.action == "list") return list_command();
    if (o.action == "path") {
        auto found = rootfs::find_installed(o.name, rootfs::store_search_dirs());
        if (!found) return fail_with(found.error());
        fmt::print("{}\n", found->root.string());
        return 0;
    }
    if (auto r = rootfs::remove(o.name); !r) return fail_with(r.error());
    fmt::print(stderr, "nsbox: removed rootfs \"{}\"\n", o.name);
    return 0;
}

}  // namespace nsbox::cli
