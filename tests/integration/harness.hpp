// Integration-test harness: runs the real nsbox binary (path injected by CMake) and captures
// its exit status, stdout, stderr and, when the payload is nsbox-probe, the probe's JSON facts.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nsbox::test {

struct RunOutput {
    int exit_code = -1;       // 128+N when nsbox itself died of signal N
    std::string stdout_text;
    std::string stderr_text;
    nlohmann::json probe;     // the last stdout line parsed as JSON, or null
    bool timed_out = false;   // the harness had to kill nsbox (a test failure in itself)
};

struct RunSettings {
    std::map<std::string, std::string> extra_env;  // added to a minimal environment
    std::filesystem::path cwd;                     // default: a fresh temp dir's parent
    std::string stdin_data;
    std::chrono::seconds limit{60};
};

std::string nsbox_bin();
std::string probe_bin();

RunOutput run_nsbox(const std::vector<std::string>& args, const RunSettings& settings = {});

// ["--ro-bind", "<probe>:/probe", ...extra_flags, "--", "/probe", actions...]
std::vector<std::string> probe_command(const std::vector<std::string>& actions,
                                       const std::vector<std::string>& extra_flags = {});

// A unique directory under the test temp dir, removed (recursively) on destruction.
class TempDir {
 public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    void write(const std::string& relative, const std::string& content, unsigned mode = 0644) const;
    [[nodiscard]] std::string read(const std::string& relative) const;

 private:
    std::filesystem::path path_;
};

// Mount points of the host's mount namespace, for "nothing left behind" checks.
std::vector<std::string> host_mount_points();
// PIDs of processes whose command line contains `marker`.
std::vector<int> processes_with(const std::string& marker);

}  // namespace nsbox::test
