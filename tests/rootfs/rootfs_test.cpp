// Prepared root filesystems end to end: a real mmdebstrap build (rootless or as root, whoever
// runs the suite), runs in it, requirements layers from a local wheel, interrupted builds,
// damaged and missing stores, concurrent use. One build serves the whole suite, so it is one
// CTest test (tests/CMakeLists.txt) rather than one process per test.
//
// The store's path contains ',' and ':', which overlayfs's option parser splits on: every layer
// mount of the suite proves that nsbox escapes them. (mmdebstrap cannot build in a path with a
// ':', so the suite builds elsewhere and renames the store.)
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <thread>

#include "../integration/harness.hpp"

namespace nsbox::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kName = "test-python";

std::string sha256_of_file(const fs::path& file) {
    const std::string command = "sha256sum '" + file.string() + "'";
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
    char buffer[65] = {};
    if (!pipe || std::fread(buffer, 1, 64, pipe.get()) != 64) return {};
    return buffer;
}

// A wheel made by hand (a wheel is a zip with metadata): pip installs it with --no-index
// --find-links, as it would one from a company wheelhouse. It has a console script too.
void make_wheel(const fs::path& dir, const std::string& version) {
    const std::string script = R"(
import base64, hashlib, sys, zipfile
out, version = sys.argv[1], sys.argv[2]
files = {
    "greeting/__init__.py": "VERSION = %r\ndef hello(who):\n    return 'hello, ' + who\n"
                            "def main():\n    print(hello('console script'))\n" % version,
    "greeting-%s.dist-info/METADATA" % version:
        "Metadata-Version: 2.1\nName: greeting\nVersion: %s\n" % version,
    "greeting-%s.dist-info/WHEEL" % version:
        "Wheel-Version: 1.0\nGenerator: nsbox-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    "greeting-%s.dist-info/entry_points.txt" % version: "[console_scripts]\ngreet = greeting:main\n",
}
record = []
for path, text in files.items():
    digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
    record.append("%s,sha256=%s,%d" % (path, digest.decode(), len(text.encode())))
record.append("greeting-%s.dist-info/RECORD,," % version)
with zipfile.ZipFile("%s/greeting-%s-py3-none-any.whl" % (out, version), "w") as z:
    for path, text in files.items():
        z.writestr(path, text)
    z.writestr("greeting-%s.dist-info/RECORD" % version, "\n".join(record) + "\n")
)";
    const fs::path maker = dir / "make_wheel.py";
    std::ofstream(maker) << script;
    const std::string command =
        "python3 '" + maker.string() + "' '" + dir.string() + "' '" + version + "'";
    ASSERT_EQ(std::system(command.c_str()), 0);
    fs::remove(maker);
}

std::vector<std::string> entries_of(const fs::path& dir) {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec))
        names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

bool has_prefix(const std::vector<std::string>& names, const std::string& prefix) {
    return std::any_of(names.begin(), names.end(),
                       [&](const std::string& n) { return n.rfind(prefix, 0) == 0; });
}

// The JSON report `--report -` prints after the payload's output.
nlohmann::json last_report(const std::string& out) {
    const auto at = out.rfind("\n{\n");
    const std::size_t start = at != std::string::npos    ? at + 1
                              : out.rfind("{\n", 0) == 0 ? 0
                                                         : out.size();
    return nlohmann::json::parse(out.substr(start), nullptr, false);
}

bool wait_until(const std::function<bool()>& done, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (done()) return true;
        std::this_thread::sleep_for(100ms);
    }
    return done();
}

class RootfsTest : public ::testing::Test {
 protected:
    static void SetUpTestSuite() {
        temp_ = new TempDir();
        build_store_ = temp_->path() / "build store, with comma";
        store_ = temp_->path() / "store, with comma:and colon";
        const auto started = std::chrono::steady_clock::now();
        build_ =
            new RunOutput(run_nsbox({"rootfs", "build", recipe().string()}, build_settings(900s)));
        // The store is plain directories: it can move, and its rootfs with it.
        fs::rename(build_store_, store_);
        build_seconds_ =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        std::fprintf(stderr, "[rootfs] build of %s took %.1f s (exit %d)\n", kName, build_seconds_,
                     build_->exit_code);
    }

    static void TearDownTestSuite() {
        // Rootless builds belong to subordinate ids: nsbox removes them, plain rm cannot.
        for (const std::string& name : entries_of(store_)) {
            if (name.front() != '.' && name != "layers") nsbox({"rootfs", "rm", name});
        }
        nsbox({"rootfs", "list"});  // collects debris
        run_nsbox({"rootfs", "list"}, build_settings(60s));
        delete build_;
        delete temp_;
    }

    void SetUp() override {
        ASSERT_EQ(build_->exit_code, 0) << "the suite's rootfs build failed:\n"
                                        << build_->stderr_text;
    }

    static fs::path recipe() { return fs::path(NSBOX_TEST_DATA_DIR) / "rootfs/test-python.toml"; }

    static RunSettings settings(std::chrono::seconds limit = 120s) {
        RunSettings s;
        s.extra_env["NSBOX_ROOTFS_DIR"] = store_.string();
        s.cwd = temp_->path();
        s.limit = limit;
        return s;
    }

    static RunSettings build_settings(std::chrono::seconds limit) {
        RunSettings s = settings(limit);
        s.extra_env["NSBOX_ROOTFS_DIR"] = build_store_.string();
        return s;
    }

    static RunOutput nsbox(const std::vector<std::string>& args,
                           std::chrono::seconds limit = 120s) {
        return run_nsbox(args, settings(limit));
    }

    static std::vector<std::string> run_in_rootfs(const std::vector<std::string>& more) {
        std::vector<std::string> args{"run", "-q", "--rootfs", kName};
        args.insert(args.end(), more.begin(), more.end());
        return args;
    }

    static fs::path layers() { return store_ / "layers"; }

    // A build in build_store_ has mmdebstrap filling its tree (then a moment more, so that apt
    // and its helpers are at work too): the point at which the tests stop it.
    static bool mmdebstrap_at_work() {
        const bool started = wait_until(
            [] {
                for (const std::string& name : entries_of(build_store_))
                    if (name.rfind(".build-", 0) == 0 && fs::exists(build_store_ / name / "root"))
                        return true;
                return false;
            },
            120s);
        std::this_thread::sleep_for(2s);
        return started;
    }

    static std::vector<std::string> layer_dirs() {
        std::vector<std::string> out;
        for (const std::string& name : entries_of(layers()))
            if (name.front() != '.') out.push_back(name);
        return out;
    }

    inline static TempDir* temp_ = nullptr;
    inline static fs::path store_;
    inline static fs::path build_store_;
    inline static RunOutput* build_ = nullptr;
    inline static double build_seconds_ = 0;
};

TEST_F(RootfsTest, BuildRecordsAManifestAndLeavesNothingElse) {
    const nlohmann::json manifest = read_json_file(store_ / kName / "manifest.json");
    ASSERT_TRUE(manifest.is_object());
    EXPECT_EQ(manifest["name"], kName);
    EXPECT_EQ(manifest["recipe"]["sha256"], sha256_of_file(recipe()));
    EXPECT_EQ(manifest["suite"], "bookworm");
    EXPECT_EQ(manifest["builder"], ::geteuid() == 0 ? "root" : "rootless");
    EXPECT_GT(manifest["size_bytes"].get<std::uint64_t>(), 100U << 20);
    EXPECT_EQ(manifest["id"].get<std::string>().size(), 32U);
    bool numpy = false;
    for (const auto& package : manifest["packages"])
        numpy |=
            package["name"] == "python3-numpy" && !package["version"].get<std::string>().empty();
    EXPECT_TRUE(numpy) << manifest["packages"].dump();
    // Only the finished tree and the name linking to it: no build directory, no mmdebstrap
    // temporary files.
    const auto entries = entries_of(store_);
    EXPECT_FALSE(has_prefix(entries, ".build-")) << ::testing::PrintToString(entries);
    EXPECT_EQ(std::count_if(entries.begin(), entries.end(),
                            [](const std::string& n) { return n.rfind(".tree-", 0) == 0; }),
              1)
        << ::testing::PrintToString(entries);
    EXPECT_TRUE(fs::is_symlink(store_ / kName));
    EXPECT_EQ(fs::read_symlink(store_ / kName).string(),
              ".tree-" + manifest["id"].get<std::string>());
    EXPECT_EQ(entries_of(store_ / kName), (std::vector<std::string>{"manifest.json", "root"}));
    EXPECT_NE(build_->stderr_text.find("numpy"), std::string::npos) << "the recipe's check ran";
}

TEST_F(RootfsTest, ListAndPathNameTheBuild) {
    const RunOutput list = nsbox({"rootfs", "list"});
    ASSERT_EQ(list.exit_code, 0) << list.stderr_text;
    EXPECT_NE(list.stdout_text.find(kName), std::string::npos) << list.stdout_text;
    const RunOutput path = nsbox({"rootfs", "path", kName});
    ASSERT_EQ(path.exit_code, 0) << path.stderr_text;
    EXPECT_EQ(path.stdout_text, (fs::canonical(store_ / kName) / "root").string() + "\n");
    // A build in a path with a ':' is refused up front, with the way out.
    const RunOutput colon = nsbox({"rootfs", "build", "--name", "colon", recipe().string()});
    EXPECT_EQ(colon.exit_code, 125);
    EXPECT_NE(colon.stderr_text.find("NSBOX_ROOTFS_DIR"), std::string::npos) << colon.stderr_text;
}

TEST_F(RootfsTest, PythonAndNumpyRunInTheReadOnlyRootfs) {
    const RunOutput out =
        nsbox(run_in_rootfs({"--report", "-", "--", "python3", "-c",
                             "import numpy, os, sys\n"
                             "print(int(numpy.linalg.inv(numpy.eye(3) * 2).trace() * 2))\n"
                             "print(open('/etc/nsbox-test/marker.txt').read().strip())\n"
                             "try:\n"
                             "    open('/etc/nsbox-test/private.txt').read()\n"
                             "except OSError as e:\n"
                             "    print('private:', e.strerror)\n"
                             "for path in ('/usr/lib/nsbox-write-test', '/etc/nsbox-write-test'):\n"
                             "    try:\n"
                             "        open(path, 'w')\n"
                             "        print('wrote', path)\n"
                             "    except OSError as e:\n"
                             "        print(path, e.strerror)\n"}));
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    const auto lines = lines_of(out.stdout_text);
    ASSERT_GE(lines.size(), 5U) << out.stdout_text;
    EXPECT_EQ(lines[0], "3");
    EXPECT_EQ(lines[1], "from the recipe");
    EXPECT_EQ(lines[2], "private: Permission denied");
    EXPECT_EQ(lines[3], "/usr/lib/nsbox-write-test Read-only file system");
    EXPECT_EQ(lines[4], "/etc/nsbox-write-test Read-only file system");
    const nlohmann::json report = last_report(out.stdout_text);
    EXPECT_EQ(report["sandbox"]["rootfs_kind"], "prepared");
    EXPECT_EQ(report["sandbox"]["rootfs_name"], kName);
    EXPECT_EQ(report["sandbox"]["rootfs"], (fs::canonical(store_ / kName) / "root").string());
    EXPECT_FALSE(fs::exists(store_ / kName / "root/usr/lib/nsbox-write-test"));
}

TEST_F(RootfsTest, HostRootfsStaysTheDefault) {
    const RunOutput out =
        nsbox({"run", "-q", "--report", "-", "--", "python3", "-c", "print('host')"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(last_report(out.stdout_text)["sandbox"]["rootfs_kind"], "host");
}

TEST_F(RootfsTest, RequirementsLayerIsBuiltOnceThenReused) {
    TempDir project;
    fs::create_directories(project.path() / "wheels");
    make_wheel(project.path() / "wheels", "1.0");
    project.write("requirements.txt", "greeting==1.0\n");
    project.write("run.py",
                  "import greeting, shutil\n"
                  "print(greeting.hello('layer'), greeting.VERSION)\n"
                  "print(shutil.which('greet'))\n");
    const std::vector<std::string> flags = {"run",
                                            "--rootfs",
                                            kName,
                                            "--requirements",
                                            (project.path() / "requirements.txt").string(),
                                            "--find-links",
                                            (project.path() / "wheels").string(),
                                            "--no-index",
                                            (project.path() / "run.py").string()};
    const auto before = layer_dirs();
    const RunOutput first = nsbox(flags);
    ASSERT_EQ(first.exit_code, 0) << first.stderr_text;
    EXPECT_EQ(first.stdout_text, "hello, layer 1.0\n/usr/local/bin/greet\n");
    EXPECT_NE(first.stderr_text.find("into a new layer"), std::string::npos) << first.stderr_text;
    const auto after = layer_dirs();
    ASSERT_EQ(after.size(), before.size() + 1);
    const RunOutput second = nsbox(flags);
    ASSERT_EQ(second.exit_code, 0) << second.stderr_text;
    EXPECT_EQ(second.stdout_text, first.stdout_text);
    EXPECT_EQ(second.stderr_text.find("layer"), std::string::npos)
        << "the second run reuses the layer:\n"
        << second.stderr_text;
    EXPECT_EQ(layer_dirs(), after);
    // The layer records what pip installed, over which build.
    std::string fresh;
    for (const std::string& name : after)
        if (std::find(before.begin(), before.end(), name) == before.end()) fresh = name;
    const nlohmann::json info = read_json_file(layers() / fresh / "layer.json");
    EXPECT_EQ(info["base"]["id"], read_json_file(store_ / kName / "manifest.json")["id"]);
    ASSERT_EQ(info["packages"].size(), 1U) << info.dump();
    EXPECT_EQ(info["packages"][0]["name"], "greeting");
    EXPECT_EQ(info["packages"][0]["version"], "1.0");
    // The console script works, and the layer is as read-only as the rootfs.
    std::vector<std::string> shell = flags;
    shell.pop_back();
    shell.insert(shell.end(),
                 {"--", "sh", "-c", "greet; touch /usr/local/bin/x 2>&1 | grep -c Read-only"});
    const RunOutput script = nsbox(shell);
    EXPECT_EQ(script.stdout_text, "hello, console script\n1\n") << script.stderr_text;
}

TEST_F(RootfsTest, ChangedRequirementsGetANewLayerAndTheScriptNoNetwork) {
    TempDir project;
    fs::create_directories(project.path() / "wheels");
    make_wheel(project.path() / "wheels", "2.0");
    project.write("requirements.txt", "greeting==2.0\n");
    const auto before = layer_dirs();
    const RunOutput out = nsbox({"run", "-q", "--rootfs", kName, "--requirements",
                                 (project.path() / "requirements.txt").string(), "--find-links",
                                 (project.path() / "wheels").string(), "--no-index", "--report",
                                 "-", "--", "python3", "-c",
                                 "import greeting, socket\n"
                                 "print(greeting.VERSION)\n"
                                 "try:\n"
                                 "    socket.create_connection(('192.0.2.1', 80), timeout=2)\n"
                                 "except OSError as e:\n"
                                 "    print('no network:', e.strerror)\n"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    const auto lines = lines_of(out.stdout_text);
    ASSERT_GE(lines.size(), 2U);
    EXPECT_EQ(lines[0], "2.0");
    // No interface but loopback (ENETUNREACH), or Landlock refusing TCP (EACCES).
    EXPECT_EQ(lines[1].rfind("no network: ", 0), 0U) << lines[1];
    EXPECT_EQ(layer_dirs().size(), before.size() + 1);
    const nlohmann::json report = last_report(out.stdout_text);
    EXPECT_EQ(report["sandbox"]["network"], "none");
    EXPECT_TRUE(report["sandbox"]["requirements"]["layer"].is_string());
}

TEST_F(RootfsTest, PipFailureKeepsNoLayer) {
    TempDir project;
    project.write("requirements.txt", "no-such-package-anywhere==9.9\n");
    fs::create_directories(project.path() / "wheels");
    const auto before = layer_dirs();
    const RunOutput out = nsbox(run_in_rootfs(
        {"--requirements", (project.path() / "requirements.txt").string(), "--find-links",
         (project.path() / "wheels").string(), "--no-index", "--", "true"}));
    EXPECT_EQ(out.exit_code, 125);
    EXPECT_NE(out.stderr_text.find("nothing was kept"), std::string::npos) << out.stderr_text;
    EXPECT_EQ(layer_dirs(), before);
    EXPECT_FALSE(has_prefix(entries_of(layers()), ".build-"));
}

TEST_F(RootfsTest, MissingDamagedOrUnsuitableRootfsIsOneClearLine) {
    const RunOutput missing = nsbox({"run", "--rootfs", "no-such-rootfs", "--", "true"});
    EXPECT_EQ(missing.exit_code, 125);
    EXPECT_EQ(lines_of(missing.stderr_text).size(), 1U) << missing.stderr_text;
    EXPECT_NE(missing.stderr_text.find("nsbox rootfs build no-such-rootfs"), std::string::npos);

    fs::create_directories(store_ / "damaged/root/usr");
    std::ofstream(store_ / "damaged/manifest.json") << "{\"name\": \"damaged\", ";
    const RunOutput damaged = nsbox({"run", "--rootfs", "damaged", "--", "true"});
    EXPECT_EQ(damaged.exit_code, 125);
    EXPECT_EQ(lines_of(damaged.stderr_text).size(), 1U) << damaged.stderr_text;
    EXPECT_NE(damaged.stderr_text.find("is damaged"), std::string::npos) << damaged.stderr_text;
    EXPECT_NE(nsbox({"rootfs", "list"}).stdout_text.find("damaged"), std::string::npos);
    EXPECT_EQ(nsbox({"rootfs", "rm", "damaged"}).exit_code, 0);
    EXPECT_FALSE(fs::exists(store_ / "damaged"));

    TempDir project;
    project.write("requirements.txt", "greeting\n");
    const RunOutput host = nsbox(
        {"run", "--requirements", (project.path() / "requirements.txt").string(), "--", "true"});
    EXPECT_EQ(host.exit_code, 125);
    EXPECT_EQ(lines_of(host.stderr_text).size(), 1U) << host.stderr_text;
    EXPECT_NE(host.stderr_text.find("--requirements"), std::string::npos) << host.stderr_text;

    const RunOutput no_file =
        nsbox(run_in_rootfs({"--requirements", "/nonexistent.txt", "--", "true"}));
    EXPECT_EQ(no_file.exit_code, 125);
    EXPECT_NE(no_file.stderr_text.find("/nonexistent.txt"), std::string::npos);

    // "layers" is the store's own directory, never a rootfs name.
    const RunOutput reserved = nsbox({"rootfs", "build", "--name", "layers", recipe().string()});
    EXPECT_EQ(reserved.exit_code, 125);
    EXPECT_NE(reserved.stderr_text.find("cannot name a rootfs"), std::string::npos)
        << reserved.stderr_text;
}

TEST_F(RootfsTest, ParallelRunsShareTheBaseAndRemovalIsRefusedMeanwhile) {
    TempDir signal_dir;
    const std::string code =
        "import numpy, os, time\n"
        "print(int(numpy.arange(1000).sum()), flush=True)\n"
        "print('ready', flush=True)\n"
        "while not os.path.exists('/workspace/go'): time.sleep(0.05)\n";
    std::vector<std::unique_ptr<AsyncRun>> runs;
    for (int i = 0; i < 2; ++i) {
        auto args = run_in_rootfs({"--timeout", "60s", "--workspace", signal_dir.path().string(),
                                   "--workspace-mode", "ro", "--", "python3", "-c", code});
        runs.push_back(std::make_unique<AsyncRun>(args, settings()));
    }
    for (auto& run : runs) ASSERT_TRUE(run->wait_for_line("ready", 60s));
    // Both are running in the rootfs: it cannot be removed under them.
    const RunOutput refused = nsbox({"rootfs", "rm", kName});
    EXPECT_EQ(refused.exit_code, 125);
    EXPECT_NE(refused.stderr_text.find("in use"), std::string::npos) << refused.stderr_text;
    EXPECT_TRUE(fs::exists(store_ / kName / "manifest.json"));
    signal_dir.write("go", "");
    for (auto& run : runs) {
        const RunOutput out = run->finish();
        EXPECT_EQ(out.exit_code, 0) << out.stderr_text;
        EXPECT_EQ(out.stdout_text, "499500\nready\n");
    }
}

TEST_F(RootfsTest, InterruptedBuildLeavesNothing) {
    AsyncRun build({"rootfs", "build", "--name", "interrupted", recipe().string()},
                   build_settings(300s));
    ASSERT_TRUE(mmdebstrap_at_work());
    build.send_signal(SIGINT);
    const RunOutput out = build.finish();
    EXPECT_EQ(out.exit_code, 130) << out.stderr_text;
    EXPECT_NE(out.stderr_text.find("nothing was kept"), std::string::npos) << out.stderr_text;
    const auto entries = entries_of(build_store_);
    EXPECT_FALSE(has_prefix(entries, ".build-")) << ::testing::PrintToString(entries);
    EXPECT_FALSE(fs::exists(build_store_ / "interrupted"));
    EXPECT_TRUE(processes_with(build_store_.string() + "/.build-").empty());
}

TEST_F(RootfsTest, KilledBuildIsCollectedByTheNextCommand) {
    AsyncRun build({"rootfs", "build", "--name", "killed", recipe().string()},
                   build_settings(300s));
    ASSERT_TRUE(mmdebstrap_at_work());
    build.send_signal(SIGKILL);
    build.finish();
    // mmdebstrap learns of nsbox's death (parent-death signal) and stops.
    EXPECT_TRUE(wait_until(
        [&] { return processes_with(build_store_.string() + "/.build-").empty(); }, 60s));
    const RunOutput list = run_nsbox({"rootfs", "list"}, build_settings(60s));
    EXPECT_EQ(list.exit_code, 0) << list.stderr_text;
    const auto entries = entries_of(build_store_);
    EXPECT_FALSE(has_prefix(entries, ".build-")) << ::testing::PrintToString(entries);
    EXPECT_FALSE(fs::exists(build_store_ / "killed"));
}

TEST_F(RootfsTest, BadRecipeIsOneLineNamingFileLineAndKey) {
    TempDir dir;
    dir.write("bad.toml", "suite = \"bookworm\"\npackages = [\"python3\"]\nvariantt = \"apt\"\n");
    const RunOutput out = nsbox({"rootfs", "build", (dir.path() / "bad.toml").string()});
    EXPECT_EQ(out.exit_code, 125);
    EXPECT_EQ(out.stderr_text,
              "nsbox: " + (dir.path() / "bad.toml").string() + ":3: variantt: unknown key\n");
    const RunOutput missing = nsbox({"rootfs", "build", "no-such-recipe"});
    EXPECT_EQ(missing.exit_code, 125);
    EXPECT_NE(missing.stderr_text.find("not found"), std::string::npos);
    if (::geteuid() != 0) {
        // Rootless, mmdebstrap builds as a subordinate id, which a 0700 directory keeps out:
        // said up front, with the fix, and nothing is created.
        fs::create_directory(dir.path() / "closed");
        fs::permissions(dir.path() / "closed", fs::perms::owner_all);
        RunSettings closed = settings();
        closed.extra_env["NSBOX_ROOTFS_DIR"] = (dir.path() / "closed/store").string();
        const RunOutput refused = run_nsbox({"rootfs", "build", recipe().string()}, closed);
        EXPECT_EQ(refused.exit_code, 125);
        EXPECT_NE(refused.stderr_text.find("chmod o+x " + (dir.path() / "closed").string()),
                  std::string::npos)
            << refused.stderr_text;
        EXPECT_FALSE(fs::exists(dir.path() / "closed/store"));
    }
}

// A rebuild while a sandbox runs: the sandbox keeps the tree it started on, the name moves to
// the new tree, and the old one goes once the sandbox has finished.
TEST_F(RootfsTest, RebuildLeavesTheOldTreeToARunningSandbox) {
    // Builds need a path without ':': the store moves there for this test.
    fs::rename(store_, build_store_);
    struct MoveBack {
        ~MoveBack() { fs::rename(build_store_, store_); }
    } move_back;
    TempDir signal_dir;
    const fs::path old_tree = fs::canonical(build_store_ / kName);
    AsyncRun run({"run", "-q", "--rootfs", kName, "--timeout", "600s", "--workspace",
                  signal_dir.path().string(), "--workspace-mode", "ro", "--", "python3", "-c",
                  "import os, time\n"
                  "print('ready', flush=True)\n"
                  "while not os.path.exists('/workspace/go'): time.sleep(0.05)\n"
                  "import numpy\n"
                  "print(int(numpy.arange(10).sum()))\n"},
                 build_settings(900s));
    ASSERT_TRUE(run.wait_for_line("ready", 60s));
    const RunOutput rebuild =
        run_nsbox({"rootfs", "build", "-q", recipe().string()}, build_settings(900s));
    ASSERT_EQ(rebuild.exit_code, 0) << rebuild.stderr_text;
    const fs::path new_tree = fs::canonical(build_store_ / kName);
    EXPECT_NE(new_tree, old_tree);
    EXPECT_TRUE(fs::exists(old_tree / "root/usr")) << "kept for the running sandbox";
    signal_dir.write("go", "");
    const RunOutput out = run.finish();
    EXPECT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.stdout_text, "ready\n45\n");
    EXPECT_EQ(run_nsbox({"rootfs", "list"}, build_settings(60s)).exit_code, 0);
    EXPECT_FALSE(fs::exists(old_tree)) << "collected once the sandbox finished";
    EXPECT_TRUE(fs::exists(new_tree / "root/usr"));
}

// Last: removal takes the rootfs and every requirements layer built on it.
TEST_F(RootfsTest, RemoveTakesTheRootfsAndItsLayers) {
    TempDir project;
    fs::create_directories(project.path() / "wheels");
    make_wheel(project.path() / "wheels", "3.0");
    project.write("requirements.txt", "greeting==3.0\n");
    const RunOutput layered = nsbox(run_in_rootfs(
        {"--requirements", (project.path() / "requirements.txt").string(), "--find-links",
         (project.path() / "wheels").string(), "--no-index", "--", "true"}));
    ASSERT_EQ(layered.exit_code, 0) << layered.stderr_text;
    ASSERT_FALSE(layer_dirs().empty());
    const RunOutput out = nsbox({"rootfs", "rm", kName});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_FALSE(fs::exists(fs::symlink_status(store_ / kName)));
    EXPECT_TRUE(layer_dirs().empty()) << ::testing::PrintToString(layer_dirs());
    const auto entries = entries_of(store_);
    EXPECT_FALSE(has_prefix(entries, ".old-")) << ::testing::PrintToString(entries);
    EXPECT_FALSE(has_prefix(entries, ".tree-")) << ::testing::PrintToString(entries);
    const auto layer_entries = entries_of(layers());
    EXPECT_FALSE(has_prefix(layer_entries, ".lock-")) << ::testing::PrintToString(layer_entries);
    const RunOutput gone = nsbox({"run", "--rootfs", kName, "--", "true"});
    EXPECT_EQ(gone.exit_code, 125);
}

}  // namespace
}  // namespace nsbox::test
