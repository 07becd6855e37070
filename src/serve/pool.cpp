// Pre-started sandboxes (see pool.hpp).
#include "serve/pool.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "util/sys.hpp"

namespace nsbox::serve {

// Waits for finished workers (their sandboxes are being torn down by the kernel) and removes
// their directories, off the request path.
class Reaper {
 public:
    Reaper() : wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)), thread_([this] { loop(); }) {}
    Reaper(const Reaper&) = delete;
    Reaper& operator=(const Reaper&) = delete;
    ~Reaper() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        poke();
        thread_.join();
    }
    void add(UniqueFd pidfd, std::string dir) {
        {
            std::lock_guard lock(mutex_);
            pending_.push_back({std::move(pidfd), std::move(dir)});
        }
        poke();
    }

 private:
    struct Entry {
        UniqueFd pidfd;
        std::string dir;
    };
    void poke() {
        const std::uint64_t one = 1;
        (void)!::write(wake_.get(), &one, sizeof one);
    }
    static void finish(Entry& e) {
        siginfo_t info{};
        sys::retry_eintr(
            [&] { return ::waitid(P_PIDFD, static_cast<id_t>(e.pidfd.get()), &info, WEXITED); });
        std::error_code ec;
        std::filesystem::remove_all(e.dir, ec);
    }
    void loop() {
        std::vector<Entry> waiting;
        for (;;) {
            bool stopping = false;
            {
                std::lock_guard lock(mutex_);
                for (Entry& e : pending_) waiting.push_back(std::move(e));
                pending_.clear();
                stopping = stopping_;
            }
            if (stopping) {
                for (Entry& e : waiting) finish(e);  // their control sockets are closed
                return;
            }
            std::vector<pollfd> fds{{wake_.get(), POLLIN, 0}};
            for (const Entry& e : waiting) fds.push_back({e.pidfd.get(), POLLIN, 0});
            if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) return;
            std::uint64_t count = 0;
            (void)!::read(wake_.get(), &count, sizeof count);
            for (std::size_t i = fds.size(); i-- > 1;) {
                if (fds[i].revents == 0) continue;
                finish(waiting[i - 1]);
                waiting.erase(waiting.begin() + static_cast<std::ptrdiff_t>(i - 1));
            }
        }
    }

    UniqueFd wake_;
    std::mutex mutex_;
    std::vector<Entry> pending_;
    bool stopping_ = false;
    std::thread thread_;
};

namespace {

tl::unexpected<std::string> pool_error(const std::string& message, int err = 0) {
    return tl::unexpected<std::string>(err == 0 ? message : message + ": " + std::strerror(err));
}

struct Pipe {
    UniqueFd read;
    UniqueFd write;
    static tl::expected<Pipe, std::string> open() {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) return pool_error("pipe", errno);
        return Pipe{UniqueFd{fds[0]}, UniqueFd{fds[1]}};
    }
};

// Reads what a worker that ended before it was ready said about why.
std::string startup_failure(int control_fd, int pidfd) {
    pollfd p{control_fd, POLLIN, 0};
    std::string text(1 << 16, '\0');
    if (::poll(&p, 1, 5000) > 0) {
        const ssize_t n = ::recv(control_fd, text.data(), text.size(), MSG_DONTWAIT);
        if (n > 0) {
            text.resize(static_cast<std::size_t>(n));
            if (auto r = parse_worker_result(text); r && r->error) return *r->error;
        }
    }
    siginfo_t info{};
    if (::waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, WEXITED | WNOHANG) == 0 &&
        info.si_pid != 0 && info.si_code == CLD_EXITED)
        return "the sandbox's supervisor exited with status " + std::to_string(info.si_status) +
               " before its interpreter was ready";
    return "the sandbox's interpreter ended before it was ready (is python3 in the rootfs?)";
}

}  // namespace

Pool::Pool(PoolConfig config) : config_(std::move(config)), reaper_(std::make_unique<Reaper>()) {}

// Members go in reverse order: the reaper, declared first, last, once every worker is handed
// to it.
Pool::~Pool() { shutdown(); }

tl::expected<std::unique_ptr<Sandbox>, std::string> Pool::launch() {
    std::uint64_t id = 0;
    {
        std::lock_guard lock(mutex_);
        id = next_id_++;
    }
    auto sandbox = std::make_unique<Sandbox>();
    sandbox->dir = config_.base_dir + "/sb-" + std::to_string(id);
    if (::mkdir(sandbox->dir.c_str(), 0700) != 0)
        return pool_error("create " + sandbox->dir, errno);
    auto cleanup_dir = [&] {
        std::error_code ec;
        std::filesystem::remove_all(sandbox->dir, ec);
    };
    auto request = Pipe::open();
    auto out = Pipe::open();
    auto err = Pipe::open();
    int pair[2];
    if (!request || !out || !err ||
        ::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
        cleanup_dir();
        return pool_error("create the sandbox's pipes", errno);
    }
    UniqueFd control{pair[0]};
    UniqueFd worker_control{pair[1]};

    std::vector<std::string> args = worker_arguments(config_.sandbox, sandbox->out_dir());
    args.insert(args.begin(), config_.worker_exe);
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, request->read.get(), 0);
    posix_spawn_file_actions_adddup2(&actions, out->write.get(), 1);
    posix_spawn_file_actions_adddup2(&actions, err->write.get(), 2);
    posix_spawn_file_actions_adddup2(&actions, worker_control.get(), kWorkerControlFd);
    // The server's threads block the signals it waits for; the worker starts with none blocked.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // The server ignores SIGPIPE; an ignored signal would stay ignored in the sandbox.
    sigset_t none;
    sigset_t defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = -1;
    const int spawned =
        ::posix_spawn(&pid, config_.worker_exe.c_str(), &actions, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (spawned != 0) {
        cleanup_dir();
        return pool_error("start " + config_.worker_exe, spawned);
    }
    sandbox->pid = pid;
    sandbox->pidfd.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    sandbox->request = std::move(request->write);
    sandbox->stdout_read = std::move(out->read);
    sandbox->stderr_read = std::move(err->read);
    sandbox->control = std::move(control);
    if (!sandbox->pidfd) {
        // Cannot happen for our own unreaped child; without a pidfd it is reaped by pid.
        sandbox->control.reset();
        ::waitpid(pid, nullptr, 0);
        cleanup_dir();
        return pool_error("pidfd_open", errno);
    }
    request->read.reset();
    out->write.reset();
    err->write.reset();
    worker_control.reset();

    // Ready when the bootstrap's first byte arrives.
    const auto deadline = std::chrono::steady_clock::now() + config_.start_timeout;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd p{sandbox->stdout_read.get(), POLLIN, 0};
        const int r = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
        if (r < 0 && errno == EINTR) continue;
        std::string why;
        if (r == 0) {
            why = "the sandbox's interpreter was not ready within " +
                  std::to_string(config_.start_timeout.count()) + "s";
        } else {
            char byte = 0;
            const ssize_t n = sys::retry_eintr([&] { return ::read(p.fd, &byte, 1); });
            if (n == 1 && byte == kReadyByte) break;
            why = startup_failure(sandbox->control.get(), sandbox->pidfd.get());
        }
        release(std::move(sandbox));
        return pool_error(why);
    }
    for (const int fd : {sandbox->request.get(), sandbox->stdout_read.get(),
                         sandbox->stderr_read.get(), sandbox->control.get()})
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    return sandbox;
}

tl::expected<void, std::string> Pool::start() {
    auto first = launch();
    if (!first) return tl::unexpected(first.error());
    {
        std::lock_guard lock(mutex_);
        ++started_;
        if (config_.size > 0) {
            ready_.push_back(std::move(*first));
        }
    }
    if (*first) release(std::move(*first));
    for (unsigned i = 0; i < config_.size; ++i) starters_.emplace_back([this] { starter_loop(); });
    return {};
}

void Pool::starter_loop() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        if (ready_.size() + starting_ >= config_.size) {
            // Woken at least every second to replace a ready sandbox that ended meanwhile,
            // rather than when a request would have taken it.
            changed_.wait_for(lock, std::chrono::seconds(1));
            release_all(lock, take_ended_locked());
            continue;
        }
        ++starting_;
        lock.unlock();
        auto sandbox = launch();
        lock.lock();
        --starting_;
        if (sandbox) {
            consecutive_failures_ = 0;
            ++started_;
            if (stopping_) {
                lock.unlock();
                release(std::move(*sandbox));
                lock.lock();
                continue;
            }
            ready_.push_back(std::move(*sandbox));
            changed_.notify_all();
            continue;
        }
        ++failed_;
        ++consecutive_failures_;
        last_error_ = sandbox.error();
        changed_.notify_all();
        // A host that cannot start sandboxes now is not retried in a tight loop.
        const auto backoff = std::min<std::chrono::milliseconds>(
            std::chrono::milliseconds(100 << std::min(consecutive_failures_, 6U)),
            std::chrono::seconds(5));
        changed_.wait_for(lock, backoff, [this] { return stopping_; });
    }
}

namespace {

// A ready sandbox sends nothing and keeps running until its request: any event on its worker's
// pidfd or control socket means it ended.
bool has_ended(const Sandbox& sandbox) {
    pollfd ended[2] = {{sandbox.pidfd.get(), POLLIN, 0}, {sandbox.control.get(), POLLIN, 0}};
    return ::poll(ended, 2, 0) > 0;
}

}  // namespace

std::vector<std::unique_ptr<Sandbox>> Pool::take_ended_locked() {
    std::vector<std::unique_ptr<Sandbox>> ended;
    for (auto it = ready_.begin(); it != ready_.end();) {
        if (!has_ended(**it)) {
            ++it;
            continue;
        }
        ended.push_back(std::move(*it));
        it = ready_.erase(it);
        ++failed_;
        last_error_ = "a ready sandbox ended before its request";
    }
    if (!ended.empty()) changed_.notify_all();
    return ended;
}

void Pool::release_all(std::unique_lock<std::mutex>& lock,
                       std::vector<std::unique_ptr<Sandbox>> sandboxes) {
    if (sandboxes.empty()) return;
    lock.unlock();
    for (auto& sandbox : sandboxes) release(std::move(sandbox));
    lock.lock();
}

tl::expected<std::unique_ptr<Sandbox>, std::string> Pool::acquire(
    std::chrono::steady_clock::time_point deadline) {
    if (config_.size == 0) {
        auto sandbox = launch();
        std::lock_guard lock(mutex_);
        if (sandbox) {
            ++started_;
        } else {
            ++failed_;
            last_error_ = sandbox.error();
        }
        return sandbox;
    }
    std::unique_lock lock(mutex_);
    for (;;) {
        if (stopping_) return pool_error("the server is shutting down");
        // One that ended while it waited (killed from outside, say) is replaced, not used.
        release_all(lock, take_ended_locked());
        if (stopping_) return pool_error("the server is shutting down");
        if (!ready_.empty()) {
            auto sandbox = std::move(ready_.front());
            ready_.pop_front();
            changed_.notify_all();
            return sandbox;
        }
        if (consecutive_failures_ >= 3)
            return pool_error("no sandbox could be started: " + last_error_);
        if (changed_.wait_until(lock, deadline) == std::cv_status::timeout && ready_.empty())
            return pool_error("no sandbox was ready in time");
    }
}

void Pool::release(std::unique_ptr<Sandbox> sandbox) {
    if (!sandbox) return;
    // Closing the control socket stops the sandbox if it still runs; the worker then exits.
    sandbox->control.reset();
    sandbox->request.reset();
    sandbox->stdout_read.reset();
    sandbox->stderr_read.reset();
    reaper_->add(std::move(sandbox->pidfd), sandbox->dir);
}

void Pool::shutdown() {
    std::deque<std::unique_ptr<Sandbox>> idle;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        idle.swap(ready_);
    }
    changed_.notify_all();
    for (std::thread& t : starters_) t.join();
    starters_.clear();
    for (auto& sandbox : idle) release(std::move(sandbox));
}

PoolStats Pool::stats() {
    std::unique_lock lock(mutex_);
    release_all(lock, take_ended_locked());
    return PoolStats{static_cast<unsigned>(ready_.size()),
                     starting_,
                     started_,
                     failed_,
                     consecutive_failures_,
                     last_error_};
}

}  // namespace nsbox::serve
