// Pre-started sandboxes: each one's namespaces, mounts, limits and a waiting interpreter are
// ready before a request comes, is used for exactly one request, then destroyed; the pool
// starts its replacement at once, in the background.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tl/expected.hpp>
#include <vector>

#include "nsbox/unique_fd.hpp"
#include "serve/worker.hpp"

namespace nsbox::serve {

// One sandbox, ready for its request. Destroying it stops the sandbox (its control socket
// closes) and hands the worker to the reaper.
struct Sandbox {
    pid_t pid = -1;
    UniqueFd pidfd;
    UniqueFd request;  // write end of the bootstrap's stdin
    UniqueFd stdout_read;
    UniqueFd stderr_read;
    UniqueFd control;
    std::string dir;  // the worker's own directory: out/ receives the exported files
    [[nodiscard]] std::string out_dir() const { return dir + "/out"; }
};

class Reaper;

struct PoolConfig {
    std::string worker_exe;  // nsbox-serve
    SandboxTemplate sandbox;
    std::string base_dir;  // private (0700): one directory per sandbox
    unsigned size = 2;     // sandboxes kept ready; 0: start one per request
    std::chrono::seconds start_timeout{60};
};

struct PoolStats {
    unsigned ready = 0;
    unsigned starting = 0;
    std::uint64_t started = 0;
    std::uint64_t failed = 0;
    unsigned failed_starts_in_a_row = 0;  // the host cannot start sandboxes now
    std::string last_error;
};

class Pool {
 public:
    explicit Pool(PoolConfig config);
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;
    ~Pool();

    // Starts one sandbox in the foreground (a broken profile or host fails here, with the
    // engine's own error line), then the background starters.
    tl::expected<void, std::string> start();
    // A ready sandbox, waiting up to `deadline`; why not, when none could be started.
    tl::expected<std::unique_ptr<Sandbox>, std::string> acquire(
        std::chrono::steady_clock::time_point deadline);
    // Called when a sandbox is done with: stops it, reaps its worker, removes its directory.
    void release(std::unique_ptr<Sandbox> sandbox);
    void shutdown();
    PoolStats stats();

 private:
    tl::expected<std::unique_ptr<Sandbox>, std::string> launch();
    void starter_loop();
    // Takes out the ready sandboxes that ended while they waited (counted as failures).
    std::vector<std::unique_ptr<Sandbox>> take_ended_locked();
    // Releases them with the lock dropped: the reaper has its own.
    void release_all(std::unique_lock<std::mutex>& lock,
                     std::vector<std::unique_ptr<Sandbox>> sandboxes);

    PoolConfig config_;
    std::unique_ptr<Reaper> reaper_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<std::unique_ptr<Sandbox>> ready_;
    unsigned starting_ = 0;
    unsigned consecutive_failures_ = 0;
    std::uint64_t started_ = 0;
    std::uint64_t failed_ = 0;
    std::uint64_t next_id_ = 0;
    std::string last_error_;
    bool stopping_ = false;
    std::vector<std::thread> starters_;
};

}  // namespace nsbox::serve
