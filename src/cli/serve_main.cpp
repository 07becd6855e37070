// nsbox-serve: the HTTP code-execution service (`nsbox serve` runs it), and the supervisor of
// each of its sandboxes (--sandbox-worker, started by the service itself). A program of its own
// so that nsbox stays static: libmicrohttpd is a shared library.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "nsbox/units.hpp"
#include "serve/server.hpp"
#include "serve/worker.hpp"

namespace {

constexpr const char* kFooter =
    "\nEvery POST /v1/execute runs in a fresh sandbox of the profile (default \"serve\"): no\n"
    "network, a private /workspace, the profile's limits. The API is in docs/api.md.\n"
    "TCP needs --token-file (clients send Authorization: Bearer TOKEN); the default UNIX\n"
    "socket is mode 0600. SIGTERM or SIGINT: stop accepting, let running requests finish\n"
    "within --shutdown-timeout, stop the rest.";

int serve_cli(int argc, char** argv) {
    nsbox::serve::ServeOptions o;
    CLI::App app{"nsbox serve: run Python code sent over HTTP, each request in a fresh sandbox",
                 "nsbox serve"};
    app.set_version_flag("--version", std::string("nsbox ") + NSBOX_VERSION);
    app.add_option("--listen", o.listen,
                   "unix:PATH, HOST:PORT, [ADDR]:PORT or PORT (loopback); default unix:" +
                       nsbox::serve::default_socket_path());
    app.add_option("--profile", o.profile, "Profile of every sandbox (default: serve)");
    app.add_option("--limits", o.limits_mode,
                   "strict (refuse to start where a limit cannot be enforced) or best-effort")
        ->check(CLI::IsMember({"strict", "best-effort"}));
    app.add_option("--rootfs", o.rootfs, "Root filesystem: host, a stored NAME, or a directory");
    app.add_option("--max-concurrency", o.max_concurrency,
                   "Requests that run at once (default: the number of CPUs)")
        ->check(CLI::Range(1U, 1024U));
    app.add_option("--queue", o.queue,
                   "Requests that may wait for a slot; more get 429 (default: 4 x max-concurrency)")
        ->check(CLI::Range(1U, 65536U));
    app.add_option("--pool", o.pool,
                   "Sandboxes kept started and waiting (default: max-concurrency; 0: start one "
                   "per request)")
        ->check(CLI::Range(0, 1024));
    app.add_option("--token-file", o.token_file,
                   "File holding the bearer token (mode 0600); required for TCP");
    std::string max_body = "16M";
    app.add_option("--max-body", max_body, "Largest request body (default 16M); larger: 413");
    app.add_option("--max-files", o.max_files, "Files in and out per request (default 100)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
    std::string max_file_bytes = "10M";
    app.add_option("--max-file-bytes", max_file_bytes,
                   "Bytes of files in, and out, per request (default 10M)");
    unsigned shutdown_seconds = 10;
    app.add_option("--shutdown-timeout", shutdown_seconds,
                   "Seconds running requests get to finish on SIGTERM (default 10)");
    app.footer(kFooter);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) return app.exit(e);
        std::fprintf(stderr, "nsbox serve: %s\n", e.what());
        return 125;
    }
    for (const auto& [flag, text, target] :
         {std::tuple{"--max-body", &max_body, &o.max_body_bytes},
          std::tuple{"--max-file-bytes", &max_file_bytes, &o.max_file_bytes}}) {
        auto size = nsbox::parse_size(*text);
        if (!size || *size == 0) {
            std::fprintf(stderr, "nsbox serve: %s %s: expected a size such as 16M\n", flag,
                         text->c_str());
            return 125;
        }
        *target = *size;
    }
    o.shutdown_timeout = std::chrono::seconds(shutdown_seconds);
    // The static nsbox next to this program starts each sandbox's worker sooner; this program
    // can be its own worker where there is none.
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    const auto nsbox = self.parent_path() / "nsbox";
    o.worker_exe = !ec && ::access(nsbox.c_str(), X_OK) == 0 ? nsbox.string() : "/proc/self/exe";
    return nsbox::serve::serve(o);
}

}  // namespace

int main(int argc, char** argv) {
    try {
        if (argc >= 2 && std::string(argv[1]) == "--sandbox-worker")
            return nsbox::serve::worker_main(std::vector<std::string>(argv + 1, argv + argc));
        return serve_cli(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "nsbox serve: internal error: %s\n", e.what());
    }
    return 125;
}
