// Command-line model and the two commands (CLI11 is used only in src/cli).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "nsbox/validate.hpp"

namespace nsbox::cli {

struct RunOptions {
    std::string profile;
    std::string rootfs;
    std::string requirements;
    std::string find_links;
    bool no_index = false;
    std::string workspace;
    std::string workspace_mode;
    std::string workspace_at;
    std::vector<std::string> binds;
    std::vector<std::string> ro_binds;
    std::vector<std::string> tmpfs;
    std::vector<std::string> env_files;
    std::vector<std::string> setenv;
    std::vector<std::string> pass_env;
    std::string net;
    std::string hostname;
    std::string timeout;
    std::string limits_mode;
    std::string memory;
    std::string pids;
    std::string cpus;
    std::string cpu_time;
    std::string output_limit;
    std::string open_files;
    std::string output;
    std::string report;
    std::vector<int> pass_fds;
    int verbose = 0;
    bool quiet = false;
    bool print_spec = false;
    bool tty = false;                  // --tty: a pseudo-terminal of the sandbox's own
    std::vector<std::string> command;  // FILE.py ARGS... or CMD ARGS...
    bool is_script = false;
};

struct ShellOptions {
    RunOptions run;                  // the run flags, with the "shell" profile by default
    std::string home = "ephemeral";  // or "persist": a per-project HOME kept on the host
    bool no_tty = false;             // never a pty, even on a terminal
};

struct RootfsOptions {
    std::string action;  // build, list, path, rm
    std::string recipe = "python";
    std::string name;
    bool quiet = false;
};

struct CheckOptions {
    std::string profile = "default";
    bool explain = false;
};

// What a command adds to the run flags (nsbox shell): its profile, the request fields no run
// flag sets (request.cli.binds are added to the flags' binds), and a look at the validated
// Spec before the launch.
struct RunSetup {
    std::string default_profile = "default";
    RunRequest request;
    std::function<Result<void>(const Spec&)> before_launch;
};

int run_command(const RunOptions& options, const std::vector<std::string>& argv,
                const RunSetup& setup = {});
int shell_command(ShellOptions& options, const std::vector<std::string>& argv);
int check_command(const CheckOptions& options);
int rootfs_command(const RootfsOptions& options);

// Parses argv and dispatches; returns the process exit code. May throw (main catches).
int run_cli(int argc, char** argv);

}  // namespace nsbox::cli
