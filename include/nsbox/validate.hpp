// From merged Settings and one run request to a validated Spec.
//
// build_spec() checks everything that can be checked before a sandbox exists (paths exist,
// sizes are sane, destinations are absolute and not reserved, the script is a readable file)
// so that launch-time failures are rare and every error names its source: a profile file:line,
// or the command-line flag.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "nsbox/profile.hpp"
#include "nsbox/result.hpp"
#include "nsbox/spec.hpp"

namespace nsbox {

struct RunRequest {
    // Either a script (FILE.py ARGS...) or a command (-- CMD ARGS...).
    std::vector<std::string> command;
    bool is_script = false;
    std::string workspace;  // --workspace, empty if not given
    // The command's own choice of workspace when --workspace is not given (nsbox shell: the
    // project's root); empty: the script's directory, or the current directory.
    std::string default_workspace;
    std::string default_workspace_note;
    // Start in the sandbox's view of the current directory when it lies in the workspace
    // (nsbox shell), rather than at the workspace's root.
    bool start_in_cwd = false;
    bool tty = false;  // --tty: a pseudo-terminal for the payload
    std::string output_dir;
    std::string report_path;
    std::vector<int> pass_fds;  // --pass-fd
    Settings cli;               // values set by command-line flags (origin: command line)
};

// What validation may read of the host, passed in so the logic stays testable.
struct HostContext {
    std::map<std::string, std::string> environment;
    std::string cwd;
    bool terminal_attached = false;
};

// This process's environment, working directory and whether a terminal is attached.
HostContext host_context_of_this_process();

// The built-in defaults, below any profile.
Settings builtin_settings();

// Environment for the payload: built-in variables, then the profile's env files, pass-through
// and env.set values, then the command line's --env-file, --pass-env and --setenv, each
// replacing earlier values of the same name (an explicit value beats a file within a layer).
// Only these ever reach the payload.
Result<std::vector<EnvVar>> build_environment(const Settings& settings, const HostContext& host);

Result<Spec> build_spec(const ResolvedProfile& profile, const RunRequest& request,
                        const HostContext& host);

// The resolved configuration, one "key = value  # origin" line each (--print-spec).
std::string render_spec(const Spec& spec);

}  // namespace nsbox
