// CLI11 wiring: subcommands, flags and help text; dispatch to the commands.
#include "cli/options.hpp"
#ifdef NSBOX_WITH_SERVE_WORKER
#include "serve/worker.hpp"
#endif

#include <fmt/core.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

namespace nsbox::cli {
namespace {

constexpr const char* kRunFooter =
    "\nLimits take \"none\" for no limit. Where the host cannot enforce one (no cgroup v2\n"
    "controller, no delegation), --limits best-effort warns and runs; strict refuses.\n"
    "\nExit status: the payload's; 128+N if it was killed by signal N; 124 on --timeout;\n"
    "137 out of memory; 152 on --cpu-time; 153 on --output-limit;\n"
    "125 launcher error; 126 cannot execute; 127 not found.";

void add_run_options(CLI::App& run, RunOptions& o) {
    run.add_option("--profile", o.profile,
                   "Profile name or TOML file (default: default; shell for nsbox shell)");
    run.add_option("--rootfs", o.rootfs,
                   "Root filesystem: host (the default), the NAME of one built with nsbox rootfs "
                   "build, or a directory (with a '/')");
    run.add_option("--requirements", o.requirements,
                   "pip requirements file, installed once into a cached layer over the --rootfs "
                   "NAME (pip gets the network, the script never does)");
    run.add_option("--find-links", o.find_links,
                   "A directory of wheels pip may install from (pip's --find-links)");
    run.add_flag("--no-index", o.no_index,
                 "pip uses --find-links only: no package index, no network");
    run.add_option("--workspace", o.workspace,
                   "Host directory granted as the workspace (default: the script's directory, "
                   "or the current directory; for nsbox shell, the project)");
    run.add_option("--workspace-mode", o.workspace_mode,
                   "overlay (writes stay in the sandbox), rw, or ro")
        ->check(CLI::IsMember({"overlay", "rw", "ro"}));
    run.add_option("--workspace-at", o.workspace_at,
                   "Where the sandbox sees the workspace: a path (default /workspace), or same "
                   "(its host path)");
    auto multi = [&](const char* name, std::vector<std::string>& into, const char* help) {
        run.add_option(name, into, help)
            ->expected(1)
            ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
            ->allow_extra_args(false);
    };
    multi("--bind", o.binds, "Bind a host path read-write: SRC[:DST]");
    multi("--ro-bind", o.ro_binds, "Bind a host path read-only: SRC[:DST]");
    multi("--tmpfs", o.tmpfs, "Mount a tmpfs: DST[:SIZE]");
    multi("--env-file", o.env_files, "Add variables from a dotenv file");
    multi("--setenv", o.setenv, "Set a variable: NAME=VALUE");
    multi("--pass-env", o.pass_env, "Copy a host variable into the sandbox: NAME");
    run.add_option("--net", o.net, "Network: none (loopback only) or host")
        ->check(CLI::IsMember({"none", "host"}));
    run.add_option("--hostname", o.hostname, "Host name inside the sandbox");
    run.add_option("--timeout", o.timeout, "Kill the sandbox after DURATION (e.g. 1.5s, 2m)");
    run.add_option("--limits", o.limits_mode,
                   "best-effort: run when a limit cannot be enforced, with a warning; strict: "
                   "refuse")
        ->check(CLI::IsMember({"best-effort", "strict"}));
    run.add_option("--memory", o.memory, "Memory limit for the whole sandbox, e.g. 512M, 2G");
    run.add_option("--pids", o.pids, "Most processes and threads at once, e.g. 256");
    run.add_option("--cpus", o.cpus, "CPU bandwidth, e.g. 0.5, 2");
    run.add_option("--cpu-time", o.cpu_time, "CPU time for the whole sandbox, e.g. 10s, 2m");
    run.add_option("--output-limit", o.output_limit,
                   "Most bytes of stdout+stderr before the sandbox is stopped, e.g. 10M");
    run.add_option("--open-files", o.open_files, "Most open files per process (RLIMIT_NOFILE)");
    run.add_option("--output", o.output,
                   "After the run, copy the files the code created or changed into DIR");
    run.add_option("--report", o.report, "Write a JSON report to FILE (- for stdout)");
    run.add_option("--pass-fd", o.pass_fds, "Let the payload inherit open fd N (N > 2)")
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
        ->allow_extra_args(false)
        ->check(CLI::Range(3, 1 << 20));
    run.add_flag("-v,--verbose", o.verbose, "More detail on stderr (repeat for debug)");
    run.add_flag("-q,--quiet", o.quiet, "Only errors on stderr");
    run.add_flag("--print-spec", o.print_spec,
                 "Print the resolved configuration with each value's origin, then exit");
    run.add_flag("--tty", o.tty,
                 "Give the payload a terminal of its own (a pty nsbox relays), for interactive "
                 "programs; the caller's terminal never enters the sandbox");
    run.footer(kRunFooter);
}

constexpr const char* kShellFooter =
    "\nThe project (the enclosing git work tree, or the current directory) is bound read-write\n"
    "at its own path; nothing else of the host is visible. On a terminal the shell gets a pty\n"
    "of its own; with stdin a pipe it reads commands from it. Exit status: the shell's.";

void add_shell_options(CLI::App& shell, ShellOptions& o) {
    add_run_options(shell, o.run);
    shell
        .add_option("--home", o.home,
                    "ephemeral (an empty HOME each time) or persist (one per project, kept in "
                    "$XDG_DATA_HOME/nsbox/homes)")
        ->check(CLI::IsMember({"ephemeral", "persist"}));
    shell.add_flag("--no-tty", o.no_tty, "No pty even on a terminal");
    shell.footer(kShellFooter);
}

// Everything from the first positional on is the payload: FILE.py ARGS... or, after "--",
// CMD ARGS... Options after the script belong to the script.
// CLI11 leaves a script and its arguments in run.remaining() and, after "--", the command in
// the top-level app's remaining(). An unknown option would land there too, so reject it.
std::optional<std::string> take_command(const CLI::App& app, const CLI::App& run, RunOptions& o) {
    const std::vector<std::string> script = run.remaining();
    if (!script.empty()) {
        if (script.front().size() > 1 && script.front().front() == '-')
            return fmt::format("run: unknown option {}", script.front());
        o.command = script;
        o.is_script = true;
        return std::nullopt;
    }
    o.command = app.remaining();
    o.is_script = false;
    return std::nullopt;
}

constexpr const char* kRootfsFooter =
    "\nA rootfs is built with mmdebstrap from a recipe (rootfs/*.toml): rootless with the\n"
    "subordinate ids of /etc/subuid, or as root. It is stored in $XDG_DATA_HOME/nsbox/rootfs\n"
    "(root: /var/lib/nsbox/rootfs) and used read-only: nsbox run --rootfs NAME.";

CLI::App* add_rootfs_commands(CLI::App& app, RootfsOptions& o) {
    CLI::App* rootfs = app.add_subcommand("rootfs", "Build and manage prepared root filesystems");
    rootfs->require_subcommand(1);
    rootfs->footer(kRootfsFooter);
    CLI::App* build = rootfs->add_subcommand("build", "Build a rootfs from a recipe");
    build->add_option("recipe", o.recipe, "Recipe name or TOML file (default: python)");
    build->add_option("--name", o.name, "Store it under NAME (default: the recipe's name)");
    build->add_flag("-q,--quiet", o.quiet, "Only errors on stderr");
    build->callback([&o] { o.action = "build"; });
    rootfs->add_subcommand("list", "List the built root filesystems")->callback([&o] {
        o.action = "list";
    });
    CLI::App* path = rootfs->add_subcommand("path", "Print the directory of rootfs NAME");
    path->add_option("name", o.name, "Rootfs name")->required();
    path->callback([&o] { o.action = "path"; });
    CLI::App* rm = rootfs->add_subcommand("rm", "Remove rootfs NAME and its requirements layers");
    rm->add_option("name", o.name, "Rootfs name")->required();
    rm->callback([&o] { o.action = "rm"; });
    return rootfs;
}

}  // namespace

// `nsbox serve ARGS...` is nsbox-serve from nsbox's own directory, which parses its own flags.
int exec_serve(int argc, char** argv) {
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    const std::string helper = (self.parent_path() / "nsbox-serve").string();
    std::vector<char*> args{const_cast<char*>(helper.c_str())};
    for (int i = 2; i < argc; ++i) args.push_back(argv[i]);
    args.push_back(nullptr);
    ::execv(helper.c_str(), args.data());
    const int err = errno;
    std::fprintf(stderr, "nsbox: serve: cannot run %s: %s\n", helper.c_str(), std::strerror(err));
    return err == ENOENT ? 127 : 126;
}

int run_cli(int argc, char** argv) {
    if (argc >= 2 && std::string_view(argv[1]) == "serve") return exec_serve(argc, argv);
#ifdef NSBOX_WITH_SERVE_WORKER
    // One sandbox of nsbox serve, started by nsbox-serve itself (serve/worker.hpp).
    if (argc >= 2 && std::string_view(argv[1]) == "--sandbox-worker")
        return serve::worker_main(std::vector<std::string>(argv + 1, argv + argc));
#endif
    CLI::App app{"nsbox: run untrusted code in a rootless Linux sandbox", "nsbox"};
    app.set_version_flag("--version", std::string("nsbox ") + NSBOX_VERSION);
    app.require_subcommand(1);

    // Listed for --help; exec_serve() takes `nsbox serve` before parsing.
    app.add_subcommand("serve",
                       "Serve code execution over HTTP, a fresh sandbox per request "
                       "(nsbox serve --help)");

    RunOptions run_options;
    CLI::App* run =
        app.add_subcommand("run", "Run FILE.py [ARGS...], or -- CMD [ARGS...], in a fresh sandbox");
    run->prefix_command();
    run->allow_extras();
    app.allow_extras();
    add_run_options(*run, run_options);

    ShellOptions shell_options;
    CLI::App* shell = app.add_subcommand(
        "shell", "Open an interactive shell (bash, or -- SHELL ARGS) in a sandbox of the project");
    shell->allow_extras();
    add_shell_options(*shell, shell_options);

    RootfsOptions rootfs_options;
    CLI::App* rootfs = add_rootfs_commands(app, rootfs_options);

    CheckOptions check_options;
    CLI::App* check = app.add_subcommand("check", "Validate a profile and print its settings");
    check->add_option("profile", check_options.profile, "Profile name or file");
    check->add_flag("--explain", check_options.explain, "Print every value with its origin");

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        fmt::print(stderr, "nsbox: {} (see nsbox --help)\n", e.what());
        return 125;
    }
    const std::vector<std::string> args(argv, argv + argc);
    if (*run) {
        if (auto bad = take_command(app, *run, run_options)) {
            fmt::print(stderr, "nsbox: {} (see nsbox run --help)\n", *bad);
            return 125;
        }
        return run_command(run_options, args);
    }
    if (*shell) {
        if (!shell->remaining().empty()) {
            fmt::print(stderr,
                       "nsbox: shell: unexpected argument {} (a command goes after --; see nsbox "
                       "shell --help)\n",
                       shell->remaining().front());
            return 125;
        }
        shell_options.run.command = app.remaining();
        return shell_command(shell_options, args);
    }
    if (!app.remaining().empty()) {
        fmt::print(stderr, "nsbox: {}: unexpected argument {}\n", *rootfs ? "rootfs" : "check",
                   app.remaining().front());
        return 125;
    }
    if (*rootfs) return rootfs_command(rootfs_options);
    return check_command(check_options);
}

}  // namespace nsbox::cli
