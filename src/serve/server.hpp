// nsbox serve: the HTTP code-execution service (docs/api.md). libmicrohttpd serves HTTP/1.1
// with one thread per connection; each POST /v1/execute takes a pre-started sandbox from the
// pool, hands it the request and relays its result.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace nsbox::serve {

struct ServeOptions {
    std::string listen;  // "unix:PATH", "HOST:PORT", ":PORT" or "PORT"; empty: the default socket
    std::string profile = "serve";
    std::string limits_mode;       // "strict" or "best-effort"; empty: the profile's
    std::string rootfs;            // empty: the profile's
    unsigned max_concurrency = 0;  // 0: the number of CPUs
    unsigned queue = 0;            // 0: 4 x max_concurrency
    int pool = -1;                 // -1: max_concurrency
    std::string token_file;
    std::uint64_t max_body_bytes = 16ULL << 20;
    std::size_t max_files = 100;
    std::uint64_t max_file_bytes = 10ULL << 20;
    std::chrono::seconds shutdown_timeout{10};
    std::string worker_exe;  // this program, for --sandbox-worker
};

// Where the default socket goes: $XDG_RUNTIME_DIR/nsbox/serve.sock, /run/nsbox/serve.sock for
// root, else /tmp/nsbox-UID/serve.sock.
std::string default_socket_path();

// Runs until SIGTERM or SIGINT; returns the exit status (125 when it cannot start).
int serve(const ServeOptions& options);

}  // namespace nsbox::serve
