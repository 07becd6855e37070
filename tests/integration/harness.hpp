// Integration-test harness: runs the real nsbox binary (path injected by CMake) and captures
// its exit status, stdout, stderr and, when the payload is nsbox-probe, the probe's JSON facts.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace nsbox::test {

struct RunOutput {
    int exit_code = -1;  // 128+N when nsbox itself died of signal N
    std::string stdout_text;
    std::string stderr_text;
    nlohmann::json probe;    // the last stdout line parsed as JSON, or null
    bool timed_out = false;  // the harness had to kill nsbox (a test failure in itself)
};

struct RunSettings {
    std::map<std::string, std::string> extra_env;  // added to a minimal environment
    std::filesystem::path cwd;                     // default: a fresh temp dir's parent
    std::string stdin_data;
    std::chrono::seconds limit{60};
    // stdin and stdout on a new pseudo-terminal (no echo, "\n" line ends) that nsbox has as
    // its controlling terminal, as when a person runs it from a shell; stdin_data is not used.
    bool terminal = false;
};

// Flags that drop the limits only a cgroup v2 host enforces, for tests that compare stderr
// exactly: elsewhere those limits add nsbox's best-effort warning line.
inline const std::vector<std::string> kWithoutCgroupLimits = {"--memory", "none",       "--cpus",
                                                              "none",     "--cpu-time", "none"};

std::string nsbox_bin();
std::string probe_bin();

RunOutput run_nsbox(const std::vector<std::string>& args, const RunSettings& settings = {});

// nsbox started in the background, for tests that act on a run while it is in progress (send
// a signal once the payload has printed "ready"). Output is collected as with run_nsbox.
class AsyncRun {
 public:
    explicit AsyncRun(const std::vector<std::string>& args, const RunSettings& settings = {});
    // Kills nsbox's process group and reaps it if the test did not call finish().
    ~AsyncRun();
    AsyncRun(const AsyncRun&) = delete;
    AsyncRun& operator=(const AsyncRun&) = delete;

    [[nodiscard]] pid_t pid() const { return pid_; }
    // Reads output until stdout holds a complete line equal to `line`. False on EOF or when
    // `limit` passes first: the caller must not go on to act on a run that never got ready.
    bool wait_for_line(const std::string& line, std::chrono::seconds limit);
    // Signals the nsbox process itself (not its group): what a shell or supervisor would do.
    void send_signal(int signo) const;
    // Types `text` on the terminal (RunSettings::terminal only), e.g. "\x03" for Ctrl-C.
    void type_on_terminal(const std::string& text) const;
    // Reads stdout and stderr to EOF (bounded by RunSettings::limit, counted from now) and
    // reaps nsbox.
    RunOutput finish();

 private:
    bool pump(std::chrono::steady_clock::time_point deadline, const std::string* wanted_line);

    pid_t pid_ = -1;
    int out_fd_ = -1;
    int err_fd_ = -1;
    int terminal_fd_ = -1;  // the terminal's master side, also out_fd_ until it is closed
    std::chrono::seconds limit_;
    RunOutput result_;
    bool reaped_ = false;
};

// ["--ro-bind", "<probe>:/probe", ...extra_flags, "--", "/probe", actions...]
std::vector<std::string> probe_command(const std::vector<std::string>& actions,
                                       const std::vector<std::string>& extra_flags = {});
// As probe_command, with the probe bound at `destination`: a unique destination puts a marker
// into the command line of every process the probe becomes or forks, for processes_with().
std::vector<std::string> probe_command_at(const std::string& destination,
                                          const std::vector<std::string>& actions,
                                          const std::vector<std::string>& extra_flags = {});

// Runs the probe with a fresh, empty workspace, for tests that do not look at /workspace.
RunOutput run_probe(const std::vector<std::string>& actions,
                    const std::vector<std::string>& extra_flags = {},
                    const RunSettings& settings = {});

// A string no other test (or concurrent run of this binary) uses: "<label>-<pid>-<n>-<random>".
std::string unique_marker(const std::string& label);
// The lines of `text` without their newlines (the last line need not end with one).
std::vector<std::string> lines_of(const std::string& text);
// Parses a whole file as JSON; null when it is missing or not valid JSON.
nlohmann::json read_json_file(const std::filesystem::path& file);

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
// The whole content of a file, or "" when it cannot be read (also /proc files of a process
// that exits meanwhile).
std::string read_text(const std::filesystem::path& file);
// PIDs of processes whose command line contains `marker`.
std::vector<int> processes_with(const std::string& marker);
// Entries in the temp directories (the test temp dir and /tmp) that nsbox might have created:
// names starting with "nsbox", except the test suites' own fixtures.
std::vector<std::string> nsbox_temp_entries();

}  // namespace nsbox::test
