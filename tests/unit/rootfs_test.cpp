// Unit tests for prepared root filesystems: recipe parsing and its errors, store names and
// manifests, requirements-layer keys, subordinate-id ranges, the overlay the mount planner
// builds for a layer, and validation of --rootfs NAME / --requirements. No build runs here
// (tests/rootfs does real builds).
#include "nsbox/rootfs.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/mount.h>

#include <filesystem>

#include "ns/mount_plan.hpp"
#include "nsbox/profile.hpp"
#include "nsbox/validate.hpp"
#include "rootfs/store.hpp"
#include "rootfs/subids.hpp"
#include "temp_dir.hpp"

namespace nsbox {
namespace {

namespace fs = std::filesystem;
using testing_support::TempDir;

constexpr const char* kMinimal = "suite = \"bookworm\"\npackages = [\"python3\"]\n";

std::string recipe_error(const std::string& text) {
    auto recipe = rootfs::parse_recipe(text, "/r/demo.toml");
    EXPECT_FALSE(recipe) << "expected an error for:\n" << text;
    return recipe ? std::string() : recipe.error().line();
}

// Sets an environment variable for one test.
class ScopedEnv {
 public:
    ScopedEnv(const char* name, const std::string& value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        ::setenv(name, value.c_str(), 1);
    }
    ~ScopedEnv() {
        if (old_) {
            ::setenv(name_, old_->c_str(), 1);
        } else {
            ::unsetenv(name_);
        }
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
    const char* name_;
    std::optional<std::string> old_;
};

// ---- recipes ----

TEST(Recipe, ShippedRecipesParse) {
    for (const char* name : {"python", "python-sci"}) {
        auto recipe = rootfs::load_recipe(
            (fs::path(NSBOX_SOURCE_DIR) / "rootfs" / (std::string(name) + ".toml")).string(), {});
        ASSERT_TRUE(recipe) << recipe.error().line();
        EXPECT_EQ(recipe->name, name);
        EXPECT_EQ(recipe->suite, "bookworm");
        EXPECT_EQ(recipe->variant, "essential");
        EXPECT_EQ(recipe->sha256.size(), 64U);
        EXPECT_FALSE(recipe->check.empty());
        EXPECT_NE(std::find(recipe->packages.begin(), recipe->packages.end(), "python3-pip"),
                  recipe->packages.end())
            << name << " needs pip for --requirements";
    }
}

TEST(Recipe, DefaultsAndFiles) {
    auto recipe = rootfs::parse_recipe(std::string(kMinimal) +
                                           "[[files]]\npath = \"/etc/a.conf\"\ncontent = \"x\"\n"
                                           "[[files]]\npath = \"/opt/b\"\ncontent = \"y\"\n"
                                           "mode = \"0755\"\n",
                                       "/r/demo.toml");
    ASSERT_TRUE(recipe) << recipe.error().line();
    EXPECT_EQ(recipe->name, "demo");
    EXPECT_EQ(recipe->variant, "essential");
    EXPECT_EQ(recipe->components, std::vector<std::string>{"main"});
    EXPECT_TRUE(recipe->mirror.empty());
    ASSERT_EQ(recipe->files.size(), 2U);
    EXPECT_EQ(recipe->files[0].mode, 0644U);
    EXPECT_EQ(recipe->files[1].mode, 0755U);
}

TEST(Recipe, HashFollowsTheBytes) {
    auto a = rootfs::parse_recipe(kMinimal, "/r/a.toml");
    auto b = rootfs::parse_recipe(std::string(kMinimal) + "# comment\n", "/r/a.toml");
    ASSERT_TRUE(a && b);
    EXPECT_NE(a->sha256, b->sha256);
    // As sha256sum prints it for the same bytes.
    EXPECT_EQ(a->sha256, "bc648aa8124aacabaf51d70ee7a5b5bb3207c5fdc031f0f8fc63f96aa7072640");
}

TEST(Recipe, ErrorsNameFileLineAndKey) {
    EXPECT_EQ(recipe_error(std::string(kMinimal) + "packges = [\"x\"]\n"),
              "nsbox: /r/demo.toml:3: packges: unknown key");
    EXPECT_EQ(recipe_error("packages = [\"python3\"]\n"), "nsbox: /r/demo.toml: suite: missing");
    EXPECT_EQ(recipe_error("suite = \"bookworm\"\n"), "nsbox: /r/demo.toml: packages: missing");
    EXPECT_EQ(recipe_error("suite = \"bookworm\"\npackages = []\n"),
              "nsbox: /r/demo.toml:2: packages: name at least one package");
    EXPECT_EQ(recipe_error("suite = \"bookworm\"\npackages = [\"--allow-unauthenticated\"]\n"),
              "nsbox: /r/demo.toml:2: packages: \"--allow-unauthenticated\" is not a package name");
    EXPECT_EQ(recipe_error("suite = \"bookworm\"\npackages = [\"python3;rm\"]\n"),
              "nsbox: /r/demo.toml:2: packages: \"python3;rm\" is not a package name");
    EXPECT_NE(recipe_error(std::string(kMinimal) + "variant = \"extract\"\n").find(":3: variant:"),
              std::string::npos);
    EXPECT_EQ(recipe_error(std::string(kMinimal) + "mirror = \"--keyring=/x\"\n"),
              "nsbox: /r/demo.toml:3: mirror: expected a mirror URL such as "
              "\"http://deb.debian.org/debian\"");
    EXPECT_EQ(recipe_error("suite = \"../../x\"\npackages = [\"a\"]\n"),
              "nsbox: /r/demo.toml:1: suite: expected a Debian suite such as \"bookworm\"");
    EXPECT_EQ(recipe_error(std::string(kMinimal) + "check = []\n"),
              "nsbox: /r/demo.toml:3: check: expected a command: [\"PROGRAM\", \"ARG\", ...]");
    EXPECT_NE(recipe_error("suite = \"bookworm\"\npackages = [\"a\"\n").find("/r/demo.toml:"),
              std::string::npos);
}

TEST(Recipe, FilesStayInsideTheRootfsAndOutOfTheShell) {
    auto file_error = [](const std::string& path, const std::string& extra = {}) {
        return recipe_error(std::string(kMinimal) + "[[files]]\npath = \"" + path +
                            "\"\ncontent = \"x\"\n" + extra);
    };
    EXPECT_EQ(file_error("etc/x"),
              "nsbox: /r/demo.toml:4: files[0].path: expected a normalised absolute file path");
    EXPECT_EQ(file_error("/etc/../../x"),
              "nsbox: /r/demo.toml:4: files[0].path: expected a normalised absolute file path");
    EXPECT_EQ(file_error("/proc/sys/x"),
              "nsbox: /r/demo.toml:4: files[0].path: /proc is provided by the sandbox, not the "
              "rootfs");
    EXPECT_EQ(file_error("/etc/x'; rm -rf /; '"),
              "nsbox: /r/demo.toml:4: files[0].path: use letters, digits and / . _ + - @ in file "
              "paths");
    EXPECT_EQ(file_error("/etc/x", "mode = \"4755\"\n"),
              "nsbox: /r/demo.toml:6: files[0].mode: expected a mode such as \"0644\" (at most "
              "0777)");
    EXPECT_EQ(recipe_error(std::string(kMinimal) + "[[files]]\npath = \"/etc/x\"\n"),
              "nsbox: /r/demo.toml:3: files[0]: each file needs a path and a content");
}

TEST(Recipe, FileNameMustMakeAStoreName) {
    auto recipe = rootfs::parse_recipe(kMinimal, "/r/My Recipe.toml");
    ASSERT_FALSE(recipe);
    EXPECT_NE(recipe.error().line().find("cannot name a rootfs"), std::string::npos);
}

TEST(Recipe, LookupByNameSearchesTheDirectoriesInOrder) {
    TempDir tmp;
    tmp.file("first/mine.toml", kMinimal);
    tmp.file("second/mine.toml", "suite = \"trixie\"\npackages = [\"x\"]\n");
    auto found = rootfs::load_recipe("mine", {tmp.path() / "first", tmp.path() / "second"});
    ASSERT_TRUE(found) << found.error().line();
    EXPECT_EQ(found->suite, "bookworm");
    auto missing = rootfs::load_recipe("other", {tmp.path() / "first"});
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().line().find("rootfs recipe \"other\" not found (searched "),
              std::string::npos);
}

// ---- names, the store, manifests ----

TEST(Store, Names) {
    for (const char* good : {"python", "python-sci", "py3.11", "a_b", "0"})
        EXPECT_TRUE(rootfs::is_valid_name(good)) << good;
    for (const char* bad :
         {"", "Python", "-x", ".hidden", "a/b", "a b", "..", "layers x", "layers", "host"})
        EXPECT_FALSE(rootfs::is_valid_name(bad)) << bad;
    EXPECT_TRUE(rootfs::is_valid_name(std::string(64, 'a')));
    EXPECT_FALSE(rootfs::is_valid_name(std::string(65, 'a')));
    EXPECT_TRUE(rootfs::names_stored_rootfs("python"));
    EXPECT_FALSE(rootfs::names_stored_rootfs("host"));
    EXPECT_FALSE(rootfs::names_stored_rootfs("./python"));
    EXPECT_FALSE(rootfs::names_stored_rootfs("/srv/rootfs"));
}

TEST(Store, RootfsDirOverridesTheStore) {
    ScopedEnv dir("NSBOX_ROOTFS_DIR", "/srv/nsbox-store");
    EXPECT_EQ(rootfs::own_store_dir(), fs::path("/srv/nsbox-store"));
    EXPECT_EQ(rootfs::store_search_dirs().front(), fs::path("/srv/nsbox-store"));
}

rootfs::Manifest sample_manifest() {
    rootfs::Manifest m;
    m.name = "python";
    m.id = "0123456789abcdef0123456789abcdef";
    m.recipe_name = "python";
    m.recipe_path = "/usr/share/nsbox/rootfs/python.toml";
    m.recipe_sha256 = std::string(64, 'a');
    m.suite = "bookworm";
    m.variant = "essential";
    m.built_at = "2026-11-23T10:00:00Z";
    m.build_seconds = 41.5;
    m.builder = "rootless";
    m.size_bytes = 240 << 20;
    m.nsbox_version = "0.1.0";
    m.packages = {{"python3", "3.11.2-1+b1"}, {"tzdata", "2024a-0+deb12u1"}};
    return m;
}

TEST(Store, ManifestRoundTripsAndDamageIsNamed) {
    TempDir tmp;
    tmp.dir("python/root/usr");
    tmp.file("python/manifest.json", rootfs::manifest_json(sample_manifest()));
    auto found = rootfs::find_installed("python", {tmp.path()});
    ASSERT_TRUE(found) << found.error().line();
    EXPECT_EQ(found->root, tmp.path() / "python/root");
    EXPECT_EQ(found->manifest.id, sample_manifest().id);
    EXPECT_EQ(found->manifest.packages.size(), 2U);
    EXPECT_EQ(found->manifest.packages[1].version, "2024a-0+deb12u1");

    tmp.file("python/manifest.json", "{\"name\": 1}");
    auto damaged = rootfs::find_installed("python", {tmp.path()});
    ASSERT_FALSE(damaged);
    EXPECT_NE(damaged.error().line().find("is damaged (manifest.json: "), std::string::npos)
        << damaged.error().line();
    EXPECT_NE(damaged.error().line().find("nsbox rootfs build python"), std::string::npos);

    tmp.file("nousr/manifest.json", rootfs::manifest_json(sample_manifest()));
    auto no_usr = rootfs::find_installed("nousr", {tmp.path()});
    ASSERT_FALSE(no_usr);
    EXPECT_NE(no_usr.error().line().find("root/usr is missing"), std::string::npos);

    auto missing = rootfs::find_installed("absent", {tmp.path()});
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().line(), "nsbox: no rootfs named \"absent\" (looked in " + tmp.str() +
                                          "): build it with nsbox rootfs build absent");
    auto listing = rootfs::list_installed(tmp.path());
    ASSERT_TRUE(listing);
    EXPECT_TRUE(listing->rootfs.empty());
    EXPECT_EQ(listing->damaged.size(), 2U);
}

// ---- requirements layers ----

TEST(Layer, KeyCoversBaseBuildRequirementsAndIndexOptions) {
    const rootfs::Manifest base = sample_manifest();
    RequirementsSpec req;
    req.file = "/p/requirements.txt";
    const std::string key = rootfs::layer_key(base, "numpy==1.26\n", req);
    EXPECT_EQ(key.size(), 64U);
    EXPECT_EQ(rootfs::layer_key(base, "numpy==1.26\n", req), key) << "stable";
    rootfs::Manifest rebuilt = base;
    rebuilt.id = "ffffffffffffffffffffffffffffffff";
    EXPECT_NE(rootfs::layer_key(rebuilt, "numpy==1.26\n", req), key);
    EXPECT_NE(rootfs::layer_key(base, "numpy==1.25\n", req), key);
    RequirementsSpec offline = req;
    offline.no_index = true;
    EXPECT_NE(rootfs::layer_key(base, "numpy==1.26\n", offline), key);
    // The file's location is not part of the key: the same requirements share a layer.
    RequirementsSpec moved = req;
    moved.file = "/elsewhere/requirements.txt";
    EXPECT_EQ(rootfs::layer_key(base, "numpy==1.26\n", moved), key);
}

TEST(Layer, KeyFollowsTheWheelhouseContentNotItsPath) {
    const rootfs::Manifest base = sample_manifest();
    TempDir tmp;
    tmp.file("a/greeting-1.0-py3-none-any.whl", "wheel bytes");
    tmp.file("b/greeting-1.0-py3-none-any.whl", "wheel bytes");
    RequirementsSpec req;
    req.file = "/p/requirements.txt";
    const std::string without = rootfs::layer_key(base, "greeting\n", req);
    req.find_links = tmp.str("a");
    const std::string in_a = rootfs::layer_key(base, "greeting\n", req);
    EXPECT_NE(in_a, without);
    req.find_links = tmp.str("b");
    EXPECT_EQ(rootfs::layer_key(base, "greeting\n", req), in_a) << "same wheels elsewhere";
    tmp.file("b/greeting-1.1-py3-none-any.whl", "newer");
    EXPECT_NE(rootfs::layer_key(base, "greeting\n", req), in_a) << "a new wheel";
    tmp.file("a/greeting-1.0-py3-none-any.whl", "wheel BYTES");
    req.find_links = tmp.str("a");
    EXPECT_NE(rootfs::layer_key(base, "greeting\n", req), in_a) << "rebuilt, same size";
    // Where pip looks is part of it too.
    req.find_links = tmp.str("b");
    const std::string before = rootfs::layer_key(base, "greeting\n", req);
    ScopedEnv index("PIP_INDEX_URL", "https://mirror.example/simple");
    EXPECT_NE(rootfs::layer_key(base, "greeting\n", req), before) << "another index";
}

TEST(Layer, OverlayOverTheRootfsDirectoryEscapesItsPaths) {
    Spec spec;
    spec.rootfs = {"/store, a/python/root", Origin::cli()};
    spec.rootfs_name = "python";
    spec.hostname = {"nsbox", Origin::builtin()};
    spec.network = {NetMode::kNone, Origin::builtin()};
    spec.workspace = {"/home/u/proj", Origin::cli()};
    spec.workspace_dest = {kWorkspaceDir, Origin::builtin()};
    spec.workspace_mode = {WorkspaceMode::kReadOnly, Origin::builtin()};
    spec.workspace_size = {1 << 30, Origin::builtin()};
    spec.tmp_size = {1 << 29, Origin::builtin()};
    spec.shm_size = {1 << 26, Origin::builtin()};
    spec.home_size = {1 << 28, Origin::builtin()};
    spec.argv = {"python3"};
    ns::MountInputs in;
    in.spec = &spec;
    in.root_entries = {{"opt", ns::RootEntry::Type::kDir, {}},
                       {"usr", ns::RootEntry::Type::kDir, {}}};
    in.layers = {{"/store, a/layers/k:1/root", {"usr"}}};
    const std::vector<ns::MountOp> ops = ns::plan_mounts(in);
    const auto usr = std::find_if(
        ops.begin(), ops.end(), [](const ns::MountOp& op) { return op.target == "/newroot/usr"; });
    ASSERT_NE(usr, ops.end());
    EXPECT_EQ(usr->kind, ns::MountKind::kOverlay);
    EXPECT_EQ(usr->data,
              "lowerdir=/oldroot/store\\, a/layers/k\\:1/root/usr:/oldroot/store\\, "
              "a/python/root/usr,userxattr");
    EXPECT_NE(usr->flags & MS_RDONLY, 0U);
    EXPECT_NE(usr->flags & MS_NOSUID, 0U);
    // A directory the layer does not have stays a plain read-only bind.
    const auto opt = std::find_if(
        ops.begin(), ops.end(), [](const ns::MountOp& op) { return op.target == "/newroot/opt"; });
    ASSERT_NE(opt, ops.end());
    EXPECT_EQ(opt->kind, ns::MountKind::kBind);
    EXPECT_TRUE(opt->read_only);
}

// ---- subordinate ids ----

TEST(Subids, RangesByNameOrNumberInFileOrder) {
    TempDir tmp;
    const std::string file = tmp.file("subuid",
                                      "alice:100000:65536\n"
                                      "bob:165536:65536\n"
                                      "# not a range\n"
                                      "1001:300000:1000\n"
                                      "alice:400000:10\n"
                                      "alice:bad:10\n"
                                      "alice:500000:0\n");
    const auto alice = rootfs::subordinate_ranges(file, "alice", 1000);
    ASSERT_EQ(alice.size(), 2U);
    EXPECT_EQ(alice[0].start, 100000U);
    EXPECT_EQ(alice[0].count, 65536U);
    EXPECT_EQ(alice[1].start, 400000U);
    const auto by_uid = rootfs::subordinate_ranges(file, "carol", 1001);
    ASSERT_EQ(by_uid.size(), 1U);
    EXPECT_EQ(by_uid[0].start, 300000U);
    EXPECT_TRUE(rootfs::subordinate_ranges(file, "dave", 1002).empty());
    EXPECT_TRUE(rootfs::subordinate_ranges(tmp.str("missing"), "alice", 1000).empty());
}

// ---- profiles ----

TEST(RootfsProfile, NamesStayNamesAndPathsAreRelativeToTheProfile) {
    auto profile = parse_profile(
        "[sandbox]\nrootfs = \"python\"\n"
        "[requirements]\nfile = \"req.txt\"\nfind_links = \"wheels\"\nno_index = true\n",
        "/p/x.toml");
    ASSERT_TRUE(profile) << profile.error().line();
    const Settings& s = profile->settings;
    EXPECT_EQ(s.rootfs->value, "python");
    EXPECT_EQ(s.requirements_file->value, "/p/req.txt");
    EXPECT_EQ(s.requirements_file->origin.line, 4);
    EXPECT_EQ(s.find_links->value, "/p/wheels");
    EXPECT_TRUE(s.no_index->value);
    auto dir = parse_profile("[sandbox]\nrootfs = \"./tree\"\n", "/p/x.toml");
    ASSERT_TRUE(dir);
    EXPECT_EQ(dir->settings.rootfs->value, "/p/tree");
    auto host = parse_profile("[sandbox]\nrootfs = \"host\"\n", "/p/x.toml");
    ASSERT_TRUE(host);
    EXPECT_EQ(host->settings.rootfs->value, "host");
    auto bad = parse_profile("[requirements]\nno_index = \"yes\"\n", "/p/x.toml");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().line(),
              "nsbox: /p/x.toml:2: requirements.no_index: expected true or false");
}

// ---- validation ----

ResolvedProfile empty_profile() {
    ResolvedProfile profile;
    profile.name = "test";
    profile.path = "/profiles/test.toml";
    return profile;
}

Result<Spec> spec_with(const Settings& cli, const std::string& cwd) {
    RunRequest request;
    request.command = {"true"};
    request.workspace = cwd;
    request.cli = cli;
    HostContext host;
    host.cwd = cwd;
    return build_spec(empty_profile(), request, host);
}

TEST(RootfsValidation, NamesResolveInTheStoreAndRequirementsNeedOne) {
    TempDir tmp;
    ScopedEnv store("NSBOX_ROOTFS_DIR", tmp.str("store"));
    tmp.dir("store/python/root/usr");
    tmp.file("store/python/manifest.json", rootfs::manifest_json(sample_manifest()));
    const std::string requirements = tmp.file("req.txt", "greeting\n");

    Settings cli;
    cli.rootfs = Sourced<std::string>{"python", Origin::cli()};
    cli.requirements_file = Sourced<std::string>{"req.txt", Origin::cli()};
    cli.find_links = Sourced<std::string>{".", Origin::cli()};
    auto spec = spec_with(cli, tmp.str());
    ASSERT_TRUE(spec) << spec.error().line();
    EXPECT_EQ(spec->rootfs.value, tmp.str("store/python/root"));
    EXPECT_EQ(spec->rootfs_name, "python");
    EXPECT_EQ(spec->rootfs_entry, tmp.str("store/python"));
    ASSERT_TRUE(spec->requirements);
    EXPECT_EQ(spec->requirements->file, requirements);
    EXPECT_EQ(spec->requirements->find_links, tmp.str());
    EXPECT_FALSE(spec->requirements->no_index);

    Settings host = cli;
    host.rootfs = Sourced<std::string>{"host", Origin::cli()};
    auto refused = spec_with(host, tmp.str());
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().line().find("nsbox: --requirements: needs a rootfs built by nsbox"),
              std::string::npos)
        << refused.error().line();

    Settings stray;
    stray.no_index = Sourced<bool>{true, Origin::cli()};
    auto no_req = spec_with(stray, tmp.str());
    ASSERT_FALSE(no_req);
    EXPECT_EQ(no_req.error().line(), "nsbox: --no-index: needs a requirements file");

    Settings unknown;
    unknown.rootfs = Sourced<std::string>{"pyhton", Origin::profile("/p/x.toml", 3)};
    auto typo = spec_with(unknown, tmp.str());
    ASSERT_FALSE(typo);
    EXPECT_NE(
        typo.error().line().find("nsbox: /p/x.toml:3: sandbox.rootfs: no rootfs named \"pyhton\""),
        std::string::npos)
        << typo.error().line();

    // The requirements file's directory is pip's workspace: never a home with everything in it.
    {
        RunRequest request;
        request.command = {"true"};
        request.workspace = tmp.str();
        request.cli = cli;
        HostContext at_home;
        at_home.cwd = tmp.str();
        at_home.environment = {{"HOME", tmp.str()}};
        auto home = build_spec(empty_profile(), request, at_home);
        ASSERT_FALSE(home);
        EXPECT_NE(home.error().line().find("pip would see all of " + tmp.str()), std::string::npos)
            << home.error().line();
    }

    Settings missing_file = cli;
    missing_file.requirements_file = Sourced<std::string>{"nope.txt", Origin::cli()};
    auto no_file = spec_with(missing_file, tmp.str());
    ASSERT_FALSE(no_file);
    EXPECT_EQ(no_file.error().line(), "nsbox: --requirements: nope.txt: not a readable file");
}

}  // namespace
}  // namespace nsbox
