// `nsbox rootfs build|list|path|rm`: the store of prepared root filesystems.
#include <fmt/core.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>

#include "cli/options.hpp"
#include "nsbox/rootfs.hpp"
#include "nsbox/units.hpp"

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
                   built->name, m.build_seconds, format_size_rounded(m.size_bytes),
                   m.packages.size(), built->dir.string());
        fmt::print(stderr, "nsbox: use it with: nsbox run --rootfs {} SCRIPT.py\n", built->name);
    }
    return 0;
}

int list_command() {
    bool any = false;
    // Only this caller's store holds debris it may remove (root's is root's to clean).
    rootfs::collect_garbage(rootfs::own_store_dir());
    for (const fs::path& store : rootfs::store_search_dirs()) {
        auto listing = rootfs::list_installed(store);
        if (!listing) return fail_with(listing.error());
        if (listing->rootfs.empty() && listing->damaged.empty()) continue;
        if (!any) {
            fmt::print("{:<16} {:>8} {:>8} {:<20} {:<10} {:>6}  {}\n", "NAME", "SIZE", "PACKAGES",
                       "BUILT", "SUITE", "LAYERS", "STORE");
        }
        any = true;
        const auto& layers = listing->layer_counts;
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
