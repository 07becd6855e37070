// nsbox serve (see server.hpp).
#include "serve/server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "limits/plan.hpp"
#include "nsbox/launcher.hpp"
#include "nsbox/unique_fd.hpp"
#include "nsbox/units.hpp"
#include "serve/api.hpp"
#include "serve/pool.hpp"
#include "serve/worker.hpp"
#include "util/sys.hpp"

namespace nsbox::serve {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr int kExitCannotStart = 125;
// What a run may still print after it has ended, before the server stops waiting for EOF.
constexpr std::chrono::milliseconds kDrainWait{2000};
// Beyond the request's own timeout (which the sandbox's supervisor enforces), how long the
// server waits for a result before it stops the sandbox itself.
constexpr std::chrono::seconds kResultGrace{15};

double ms_between(Clock::time_point from, Clock::time_point to) {
    return std::chrono::duration<double, std::milli>(to - from).count();
}

void say(const std::string& line) { std::fprintf(stderr, "nsbox serve: %s\n", line.c_str()); }

// ---------------------------------------------------------------- listening sockets

struct ListenAddress {
    bool is_unix = false;
    std::string path;  // unix
    std::string host;  // tcp
    std::string port;
    [[nodiscard]] std::string describe() const {
        if (is_unix) return "unix:" + path;
        return host.find(':') != std::string::npos ? "[" + host + "]:" + port : host + ":" + port;
    }
};

std::optional<ListenAddress> parse_listen(const std::string& text, std::string& why) {
    ListenAddress a;
    if (text.rfind("unix:", 0) == 0) {
        a.is_unix = true;
        a.path = text.substr(5);
        if (a.path.empty() || a.path.size() >= sizeof(sockaddr_un::sun_path)) {
            why = "a socket path of 1 to 107 bytes";
            return std::nullopt;
        }
        return a;
    }
    std::string host;
    std::string port = text;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find("]:");
        if (close == std::string::npos) {
            why = "[ADDRESS]:PORT";
            return std::nullopt;
        }
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else if (const auto colon = text.rfind(':'); colon != std::string::npos) {
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    a.host = host.empty() ? "127.0.0.1" : host;  // loopback unless told otherwise
    a.port = port;
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) > 65535) {
        why = "unix:PATH, HOST:PORT, [ADDRESS]:PORT or PORT";
        return std::nullopt;
    }
    return a;
}

// A listening socket; a UNIX socket's file is removed with it, on every way out.
struct Listener {
    UniqueFd fd;
    std::string unix_path;
    Listener() = default;
    Listener(Listener&&) = default;
    Listener& operator=(Listener&&) = delete;
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;
    ~Listener() { close(); }
    void close() {
        if (fd && !unix_path.empty()) ::unlink(unix_path.c_str());
        fd.reset();
    }
};

Result<Listener> listen_unix(const std::string& path) {
    auto err = [&](const std::string& what, int e) {
        return fail(Error::system(Step::kSupervise, e, what + " " + path));
    };
    const auto parent = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty() && !std::filesystem::exists(parent, ec)) {
        if (::mkdir(parent.c_str(), 0700) != 0 && errno != EEXIST)
            return err("create the directory of", errno);
    }
    UniqueFd fd{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (!fd) return err("socket for", errno);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return fail(Error::system(Step::kSupervise, EEXIST,
                                      path + " exists and is not a socket: not replacing it"));
        UniqueFd probe{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
        if (probe && ::connect(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0)
            return fail(Error::system(Step::kSupervise, EADDRINUSE,
                                      "another server is listening on " + path));
        ::unlink(path.c_str());  // a socket nobody listens on: left by a server that died
    }
    // Created 0600 from the start, so that there is no moment where another user could
    // connect: bind() gives the file the socket inode's mode (less the umask). Not by changing
    // the umask, which is the whole process's: a thread creating a directory meanwhile would
    // get one without its search bit.
    if (::fchmod(fd.get(), 0600) != 0) return err("set the mode of the socket for", errno);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        return err("bind", errno);
    Listener listener;
    listener.fd = std::move(fd);
    listener.unix_path = path;
    if (::listen(listener.fd.get(), 128) != 0) return err("listen on", errno);
    return listener;
}

Result<Listener> listen_tcp(ListenAddress& a) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    if (::getaddrinfo(a.host.c_str(), a.port.c_str(), &hints, &found) != 0 || !found)
        return fail(Error::system(Step::kSupervise, 0,
                                  "--listen " + a.describe() + ": not a numeric address"));
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, ::freeaddrinfo);
    UniqueFd fd{::socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, 0)};
    if (!fd) return fail(Error::from_errno(Step::kSupervise, "socket"));
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd.get(), found->ai_addr, found->ai_addrlen) != 0)
        return fail(Error::from_errno(Step::kSupervise, "bind " + a.describe()));
    if (::listen(fd.get(), 128) != 0)
        return fail(Error::from_errno(Step::kSupervise, "listen on " + a.describe()));
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    char port[NI_MAXSERV] = {};
    if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &len) == 0 &&
        ::getnameinfo(reinterpret_cast<sockaddr*>(&bound), len, nullptr, 0, port, sizeof port,
                      NI_NUMERICSERV) == 0)
        a.port = port;  // port 0: the one the kernel chose
    Listener listener;
    listener.fd = std::move(fd);
    return listener;
}

Result<std::string> read_token(const std::string& file) {
    auto err = [&](const std::string& why, int e = 0) {
        return fail(Error::system(Step::kSupervise, e, "--token-file " + file + ": " + why));
    };
    UniqueFd fd{::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)};
    if (!fd) return fail(Error::from_errno(Step::kSupervise, "--token-file " + file));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return err("not a regular file");
    if ((st.st_mode & 077) != 0) return err("readable by other users (chmod 600 it)");
    if (st.st_size > 4096) return err("longer than 4096 bytes");
    std::string token(static_cast<std::size_t>(st.st_size), '\0');
    if (::read(fd.get(), token.data(), token.size()) != static_cast<ssize_t>(token.size()))
        return err("could not be read", errno);
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' '))
        token.pop_back();
    if (token.size() < 16) return err("the token must be at least 16 characters");
    if (token.find_first_of(" \t\r\n") != std::string::npos) return err("the token has whitespace");
    return token;
}

// Constant-time for tokens of the same length: the comparison does not stop at the first
// difference.
bool same_secret(std::string_view a, std::string_view b) {
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (std::size_t i = 0; i < a.size(); ++i)
        diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
    return diff == 0;
}

// ---------------------------------------------------------------- one request's run

struct RunOutcome {
    ExecuteResponse response;
    bool client_gone = false;
    bool shutdown_stop = false;
};

void send_control(int fd, ControlCommand command, std::uint32_t value = 0) {
    unsigned char msg[kControlMessageSize] = {static_cast<unsigned char>(command),
                                              static_cast<unsigned char>(value & 0xFFU),
                                              static_cast<unsigned char>((value >> 8U) & 0xFFU),
                                              static_cast<unsigned char>((value >> 16U) & 0xFFU),
                                              static_cast<unsigned char>((value >> 24U) & 0xFFU)};
    (void)::send(fd, msg, sizeof msg, MSG_NOSIGNAL | MSG_DONTWAIT);
}

class OutputBuffer {
 public:
    explicit OutputBuffer(std::uint64_t cap) : cap_(cap) {}
    // False at EOF or on an error.
    bool read_from(int fd) {
        char chunk[65536];
        for (;;) {
            const ssize_t n = ::read(fd, chunk, sizeof chunk);
            if (n > 0) {
                const auto room = cap_ > text.size() ? cap_ - text.size() : 0;
                text.append(chunk, std::min<std::size_t>(static_cast<std::size_t>(n), room));
                if (static_cast<std::uint64_t>(n) > room) truncated = true;
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
        }
    }
    std::string text;
    bool truncated = false;

 private:
    std::uint64_t cap_;
};

// What the code wrote under /workspace, as the worker exported it: regular files only, less
// the input files it left unchanged. The export keeps the code's symlinks as symlinks: none is
// followed here, not even to name it.
void collect_files(const std::string& out_dir, const ExecuteRequest& request,
                   const ApiLimits& limits, ExecuteResponse& response) {
    std::error_code ec;
    if (!std::filesystem::is_directory(out_dir, ec)) return;
    std::uint64_t total = 0;
    std::vector<std::filesystem::path> paths;
    for (auto it = std::filesystem::recursive_directory_iterator(out_dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
        paths.push_back(it->path());
    std::sort(paths.begin(), paths.end());
    for (const auto& path : paths) {
        const std::string rel = path.lexically_relative(out_dir).string();
        const auto status = std::filesystem::symlink_status(path, ec);
        if (std::filesystem::is_directory(status)) continue;
        if (!std::filesystem::is_regular_file(status)) {
            response.files_omitted.push_back(
                {rel, std::filesystem::is_symlink(status) ? "symlink" : "not a regular file"});
            continue;
        }
        if (!is_valid_utf8(rel)) {
            response.files_omitted.push_back({rel, "name is not valid UTF-8"});
            continue;
        }
        std::ifstream in(path, std::ios::binary);
        std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        const auto input = std::find_if(request.files.begin(), request.files.end(),
                                        [&](const InputFile& f) { return f.path == rel; });
        if (input != request.files.end() && input->data == data) continue;  // unchanged
        if (response.files.size() >= limits.max_files) {
            response.files_omitted.push_back(
                {rel, fmt::format("more than {} files", limits.max_files)});
            continue;
        }
        if (total + data.size() > limits.max_file_bytes) {
            response.files_omitted.push_back(
                {rel, fmt::format("more than {} bytes of files", limits.max_file_bytes)});
            continue;
        }
        total += data.size();
        response.files.emplace(rel, std::move(data));
    }
}

RunOutcome run_in_sandbox(Sandbox& sandbox, const ExecuteRequest& request, const ApiLimits& limits,
                          std::uint64_t output_cap, int client_fd, int stop_fd) {
    RunOutcome outcome;
    ExecuteResponse& response = outcome.response;
    const std::string message = bootstrap_message(request) + request.stdin_data;
    std::size_t written = 0;
    const auto start = Clock::now();
    send_control(sandbox.control.get(), ControlCommand::kStart,
                 static_cast<std::uint32_t>(request.timeout.count()));
    OutputBuffer out(output_cap);
    OutputBuffer err(output_cap);
    bool out_open = true;
    bool err_open = true;
    bool worker_exited = false;
    bool stop_sent = false;
    std::optional<WorkerResult> result;
    std::optional<Clock::time_point> drain_until;
    const auto give_up_at = start + request.timeout + kResultGrace;
    auto stop = [&] {
        if (!stop_sent) send_control(sandbox.control.get(), ControlCommand::kStop);
        stop_sent = true;
    };
    for (;;) {
        if ((result || worker_exited) && !out_open && !err_open) break;
        const auto now = Clock::now();
        if ((result || worker_exited) && !drain_until) drain_until = now + kDrainWait;
        if (drain_until && now >= *drain_until) break;
        if (now >= give_up_at && !stop_sent) stop();
        if (now >= give_up_at + kResultGrace) {
            sys::pidfd_send_signal(sandbox.pidfd.get(), SIGKILL);
            break;
        }
        const bool writing = sandbox.request && written < message.size();
        pollfd fds[7] = {{writing ? sandbox.request.get() : -1, POLLOUT, 0},
                         {out_open ? sandbox.stdout_read.get() : -1, POLLIN, 0},
                         {err_open ? sandbox.stderr_read.get() : -1, POLLIN, 0},
                         {!result ? sandbox.control.get() : -1, POLLIN, 0},
                         {!outcome.client_gone ? client_fd : -1, POLLRDHUP, 0},
                         {!outcome.shutdown_stop ? stop_fd : -1, POLLIN, 0},
                         {!worker_exited ? sandbox.pidfd.get() : -1, POLLIN, 0}};
        const auto wait = drain_until ? *drain_until - now : give_up_at + kResultGrace - now;
        const int timeout_ms = static_cast<int>(std::clamp<std::int64_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(wait).count() + 1, 1, 1000));
        if (::poll(fds, 7, timeout_ms) < 0 && errno != EINTR) break;
        if (fds[0].revents != 0) {
            const ssize_t n =
                ::write(sandbox.request.get(), message.data() + written, message.size() - written);
            if (n > 0) written += static_cast<std::size_t>(n);
            if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == message.size())
                sandbox.request.reset();  // all sent, or the code stopped reading: EOF on stdin
        }
        if (fds[1].revents != 0) out_open = out.read_from(sandbox.stdout_read.get());
        if (fds[2].revents != 0) err_open = err.read_from(sandbox.stderr_read.get());
        if (fds[3].revents != 0) {
            std::string text(1 << 17, '\0');
            const ssize_t n = ::recv(sandbox.control.get(), text.data(), text.size(), MSG_DONTWAIT);
            if (n > 0) {
                text.resize(static_cast<std::size_t>(n));
                result = parse_worker_result(text);
                if (!result)
                    result = WorkerResult{"setup_error",
                                          kExitLauncherError,
                                          "the sandbox's supervisor sent a result that "
                                          "could not be read",
                                          {},
                                          {},
                                          {},
                                          false,
                                          false,
                                          {},
                                          {}};
            } else if (n == 0) {
                worker_exited = true;  // the worker closed its end without a result
            }
        }
        if (fds[4].revents != 0) {
            outcome.client_gone = true;
            stop();
        }
        if (fds[5].revents != 0) {
            outcome.shutdown_stop = true;
            stop();
        }
        if (fds[6].revents != 0) worker_exited = true;
    }
    response.duration_ms = ms_between(start, Clock::now());
    response.stdout_text = std::move(out.text);
    response.stderr_text = std::move(err.text);
    if (!result) {
        response.reason = "setup_error";
        response.exit_code = kExitLauncherError;
        response.error = "the sandbox's supervisor ended without a result";
        return outcome;
    }
    response.reason = result->reason;
    response.exit_code = result->exit_code;
    response.error = result->error;
    response.success = result->reason == "exited" && result->exit_code == 0;
    response.truncated = result->output_truncated || out.truncated || err.truncated;
    if (result->cpu_us) {
        const std::uint64_t before = result->cpu_at_start_us.value_or(0);
        response.cpu_ms =
            static_cast<double>(*result->cpu_us - std::min(before, *result->cpu_us)) / 1000.0;
    }
    response.peak_memory_bytes = result->peak_memory_bytes;
    for (const auto& [path, why] : result->skipped) response.files_omitted.push_back({path, why});
    if (result->export_error) response.files_omitted.push_back({"", *result->export_error});
    if (result->reason != "setup_error")
        collect_files(sandbox.out_dir(), request, limits, response);
    return outcome;
}

// ---------------------------------------------------------------- the service

// Requests running and waiting for a sandbox: at most max_concurrency run, at most `queue`
// wait; beyond that a request is refused at once, so memory stays bounded.
class Admission {
 public:
    enum class Verdict : std::uint8_t { kRun, kFull, kDraining, kClientGone };
    Admission(unsigned max_running, unsigned max_waiting)
        : max_running_(max_running), max_waiting_(max_waiting) {}

    Verdict enter(int client_fd) {
        std::unique_lock lock(mutex_);
        if (draining_) return Verdict::kDraining;
        if (running_ < max_running_) {
            ++running_;
            return Verdict::kRun;
        }
        if (waiting_ >= max_waiting_) return Verdict::kFull;
        ++waiting_;
        for (;;) {
            changed_.wait_for(lock, std::chrono::milliseconds(100));
            if (draining_) {
                --waiting_;
                return Verdict::kDraining;
            }
            if (running_ < max_running_) {
                --waiting_;
                ++running_;
                return Verdict::kRun;
            }
            pollfd p{client_fd, POLLRDHUP, 0};
            if (::poll(&p, 1, 0) > 0) {
                --waiting_;
                return Verdict::kClientGone;
            }
        }
    }
    void leave() {
        std::lock_guard lock(mutex_);
        --running_;
        changed_.notify_all();
    }
    void drain() {
        std::lock_guard lock(mutex_);
        draining_ = true;
        changed_.notify_all();
    }
    // Waits until nothing runs, or `until`; true when nothing runs.
    bool wait_idle(Clock::time_point until) {
        std::unique_lock lock(mutex_);
        return changed_.wait_until(lock, until, [this] { return running_ == 0 && waiting_ == 0; });
    }
    std::pair<unsigned, unsigned> counts() {
        std::lock_guard lock(mutex_);
        return {running_, waiting_};
    }
    bool draining() {
        std::lock_guard lock(mutex_);
        return draining_;
    }

 private:
    std::mutex mutex_;
    std::condition_variable changed_;
    unsigned max_running_;
    unsigned max_waiting_;
    unsigned running_ = 0;
    unsigned waiting_ = 0;
    bool draining_ = false;
};

struct RequestState {
    std::uint64_t id = 0;
    Clock::time_point received = Clock::now();
    std::string method;
    std::string path;
    std::string body;
    bool too_large = false;
    bool responded = false;
    int status = 0;
    std::size_t bytes_out = 0;
    std::optional<std::string> reason;
    std::optional<int> exit_code;
    std::optional<double> queue_ms;
    bool client_gone = false;
    bool admitted = false;  // holds a place in Admission until the request is complete
};

class Service {
 public:
    Service(const ServeOptions& options, ApiLimits limits, json info, std::string token, Pool& pool,
            std::uint64_t output_cap)
        : options_(options),
          limits_(limits),
          info_(std::move(info)),
          token_(std::move(token)),
          pool_(pool),
          output_cap_(output_cap),
          admission_(options.max_concurrency, options.queue),
          stop_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

    static MHD_Result on_request(void* cls, MHD_Connection* c, const char* url, const char* method,
                                 const char* /*version*/, const char* upload, size_t* upload_size,
                                 void** ctx) {
        return static_cast<Service*>(cls)->handle(c, url, method, upload, upload_size, ctx);
    }
    static void on_completed(void* cls, MHD_Connection* c, void** ctx,
                             MHD_RequestTerminationCode code) {
        auto* state = static_cast<RequestState*>(*ctx);
        auto* service = static_cast<Service*>(cls);
        if (state) service->log_request(c, *state, code);
        if (state && state->admitted) service->admission_.leave();
        delete state;
        *ctx = nullptr;
    }

    Admission& admission() { return admission_; }
    // Stops every run still going (the shutdown deadline passed).
    void stop_all() {
        const std::uint64_t one = 1;
        (void)!::write(stop_fd_.get(), &one, sizeof one);
    }

 private:
    MHD_Result respond(MHD_Connection* c, RequestState& st, unsigned status,
                       const std::string& body, const char* extra_header = nullptr,
                       const char* extra_value = nullptr) {
        MHD_Response* response = MHD_create_response_from_buffer(
            body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
        if (!response) return MHD_NO;
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        if (extra_header) MHD_add_response_header(response, extra_header, extra_value);
        if (admission_.draining()) MHD_add_response_header(response, "Connection", "close");
        const MHD_Result r = MHD_queue_response(c, status, response);
        MHD_destroy_response(response);
        st.responded = true;
        st.status = static_cast<int>(status);
        st.bytes_out = body.size();
        return r;
    }

    MHD_Result handle(MHD_Connection* c, const char* url, const char* method, const char* upload,
                      size_t* upload_size, void** ctx) {
        auto* st = static_cast<RequestState*>(*ctx);
        if (!st) {
            st = new RequestState;
            *ctx = st;
            st->id = ++next_id_;
            st->method = method;
            st->path = url;
            return first_look(c, *st);
        }
        if (st->responded) {
            *upload_size = 0;
            return MHD_YES;
        }
        if (*upload_size != 0) {
            if (st->body.size() + *upload_size > options_.max_body_bytes) {
                st->too_large = true;
                st->body.clear();
            } else if (!st->too_large) {
                st->body.append(upload, *upload_size);
            }
            *upload_size = 0;
            return MHD_YES;
        }
        if (st->too_large) return respond_too_large(c, *st);
        return route(c, *st);
    }

    MHD_Result respond_too_large(MHD_Connection* c, RequestState& st) {
        return respond(
            c, st, MHD_HTTP_CONTENT_TOO_LARGE,
            render_error(fmt::format("the body is larger than {} bytes", options_.max_body_bytes)));
    }

    // Before any body is read: the token and the declared length, so an unauthorized or
    // oversized upload costs nothing.
    MHD_Result first_look(MHD_Connection* c, RequestState& st) {
        if (!token_.empty() && st.path != "/healthz") {
            const char* auth =
                MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
            const std::string_view given = auth ? auth : "";
            if (given.rfind("Bearer ", 0) != 0 || !same_secret(given.substr(7), token_))
                return respond(c, st, MHD_HTTP_UNAUTHORIZED,
                               render_error("a valid bearer token is required"),
                               MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
        }
        if (const char* length =
                MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH)) {
            if (std::strtoull(length, nullptr, 10) > options_.max_body_bytes)
                return respond_too_large(c, st);
        }
        return MHD_YES;
    }

    MHD_Result route(MHD_Connection* c, RequestState& st) {
        const bool get = st.method == "GET";
        const bool post = st.method == "POST";
        if (st.path == "/healthz") {
            if (!get) return method_not_allowed(c, st, "GET");
            return health(c, st);
        }
        if (st.path == "/v1/info") {
            if (!get) return method_not_allowed(c, st, "GET");
            return respond(c, st, MHD_HTTP_OK,
                           info_.dump(-1, ' ', false, json::error_handler_t::replace));
        }
        if (st.path == "/v1/execute") {
            if (!post) return method_not_allowed(c, st, "POST");
            return execute(c, st);
        }
        return respond(
            c, st, MHD_HTTP_NOT_FOUND,
            render_error("no such endpoint (POST /v1/execute, GET /v1/info, GET /healthz)"));
    }

    MHD_Result method_not_allowed(MHD_Connection* c, RequestState& st, const char* allowed) {
        return respond(c, st, MHD_HTTP_METHOD_NOT_ALLOWED,
                       render_error(fmt::format("{} {}: use {}", st.method, st.path, allowed)),
                       MHD_HTTP_HEADER_ALLOW, allowed);
    }

    MHD_Result health(MHD_Connection* c, RequestState& st) {
        const PoolStats pool = pool_.stats();
        const auto [running, waiting] = admission_.counts();
        const bool draining = admission_.draining();
        // Degraded while sandboxes fail to start and none is left, not for one that ended.
        const bool failing =
            pool.ready == 0 && options_.pool != 0 && pool.failed_starts_in_a_row > 0;
        json doc{{"status", draining  ? "draining"
                            : failing ? "degraded"
                                      : "ok"},
                 {"ready_sandboxes", pool.ready},
                 {"running", running},
                 {"waiting", waiting},
                 {"sandboxes_started", pool.started},
                 {"sandbox_failures", pool.failed},
                 {"last_error", pool.last_error.empty() ? json(nullptr) : json(pool.last_error)}};
        return respond(c, st, draining || failing ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK,
                       doc.dump(-1, ' ', false, json::error_handler_t::replace));
    }

    MHD_Result execute(MHD_Connection* c, RequestState& st) {
        auto request = parse_execute_request(st.body, limits_);
        st.body.clear();
        st.body.shrink_to_fit();
        if (!request) {
            return respond(c, st, MHD_HTTP_BAD_REQUEST,
                           render_error(request.error().text(), request.error().field));
        }
        const MHD_ConnectionInfo* info =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        const int client_fd = info ? info->connect_fd : -1;
        const auto queued = Clock::now();
        switch (admission_.enter(client_fd)) {
            case Admission::Verdict::kFull:
                return respond(c, st, MHD_HTTP_TOO_MANY_REQUESTS,
                               render_error(fmt::format("busy: {} requests run and {} wait",
                                                        options_.max_concurrency, options_.queue)),
                               MHD_HTTP_HEADER_RETRY_AFTER, "1");
            case Admission::Verdict::kDraining:
                return respond(c, st, MHD_HTTP_SERVICE_UNAVAILABLE,
                               render_error("the server is shutting down"),
                               MHD_HTTP_HEADER_RETRY_AFTER, "1");
            case Admission::Verdict::kClientGone:
                st.client_gone = true;
                return MHD_NO;
            case Admission::Verdict::kRun:
                break;
        }
        st.admitted = true;  // until its answer is sent: on_completed() lets the next one in
        auto sandbox = pool_.acquire(Clock::now() + std::chrono::seconds(60));
        st.queue_ms = ms_between(queued, Clock::now());
        if (!sandbox) {
            return respond(c, st, MHD_HTTP_SERVICE_UNAVAILABLE, render_error(sandbox.error()),
                           MHD_HTTP_HEADER_RETRY_AFTER, "1");
        }
        RunOutcome outcome =
            run_in_sandbox(**sandbox, *request, limits_, output_cap_, client_fd, stop_fd_.get());
        pool_.release(std::move(*sandbox));
        st.reason = outcome.response.reason;
        st.exit_code = outcome.response.exit_code;
        if (outcome.client_gone) {
            st.client_gone = true;
            return MHD_NO;  // nobody to answer: close the connection
        }
        if (outcome.shutdown_stop) {
            return respond(c, st, MHD_HTTP_SERVICE_UNAVAILABLE,
                           render_error("the server shut down before the run finished; it was "
                                        "stopped"));
        }
        return respond(c, st, MHD_HTTP_OK, render_execute_response(outcome.response));
    }

    void log_request(MHD_Connection* c, const RequestState& st, MHD_RequestTerminationCode code) {
        std::string client = "unix";
        if (const MHD_ConnectionInfo* info =
                MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
            info && info->client_addr && info->client_addr->sa_family != AF_UNIX) {
            char host[NI_MAXHOST] = {};
            char port[NI_MAXSERV] = {};
            const socklen_t len = info->client_addr->sa_family == AF_INET6 ? sizeof(sockaddr_in6)
                                                                           : sizeof(sockaddr_in);
            if (::getnameinfo(info->client_addr, len, host, sizeof host, port, sizeof port,
                              NI_NUMERICHOST | NI_NUMERICSERV) == 0)
                client = std::string(host) + ":" + port;
        }
        const auto now = std::chrono::system_clock::now();
        const auto secs = std::chrono::system_clock::to_time_t(now);
        const auto millis =
            std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
            1000;
        std::tm tm{};
        ::gmtime_r(&secs, &tm);
        const std::string stamp =
            fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
        json line{{"time", stamp},
                  {"request", st.id},
                  {"client", client},
                  {"method", st.method},
                  {"path", st.path},
                  {"status", st.responded ? json(st.status) : json(nullptr)},
                  {"reason", st.reason ? json(*st.reason) : json(nullptr)},
                  {"exit_code", st.exit_code ? json(*st.exit_code) : json(nullptr)},
                  {"queue_ms", st.queue_ms ? json(*st.queue_ms) : json(nullptr)},
                  {"duration_ms", ms_between(st.received, Clock::now())},
                  {"bytes_out", st.bytes_out},
                  {"client_gone", st.client_gone || code == MHD_REQUEST_TERMINATED_CLIENT_ABORT ||
                                      code == MHD_REQUEST_TERMINATED_READ_ERROR}};
        const std::string text = line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
        std::lock_guard lock(log_mutex_);
        std::fwrite(text.data(), 1, text.size(), stderr);
        std::fflush(stderr);
    }

    const ServeOptions& options_;
    ApiLimits limits_;
    json info_;
    std::string token_;
    Pool& pool_;
    std::uint64_t output_cap_;
    Admission admission_;
    UniqueFd stop_fd_;
    std::atomic<std::uint64_t> next_id_{0};
    std::mutex log_mutex_;
};

void mhd_log(void* /*cls*/, const char* format, va_list args) {
    char text[1024];
    std::vsnprintf(text, sizeof text, format, args);
    std::string line = text;
    while (!line.empty() && line.back() == '\n') line.pop_back();
    say("http: " + line);
}

std::string base_dir_parent() {
    const char* runtime = std::getenv("XDG_RUNTIME_DIR");
    if (runtime && runtime[0] == '/' && ::access(runtime, W_OK | X_OK) == 0) return runtime;
    const char* tmp = std::getenv("TMPDIR");
    return tmp && tmp[0] == '/' ? tmp : "/tmp";
}

// The private directory of one server: the empty workspace every sandbox starts from, and one
// directory per sandbox for the files it exports. Removed when the server ends.
class StateDir {
 public:
    static Result<StateDir> create() {
        std::string pattern = base_dir_parent() + "/nsbox-serve.XXXXXX";
        if (!::mkdtemp(pattern.data()))
            return fail(
                Error::from_errno(Step::kSupervise, "create a directory in " + base_dir_parent()));
        StateDir dir;
        dir.path_ = pattern;
        if (::mkdir((pattern + "/empty").c_str(), 0755) != 0)
            return fail(Error::from_errno(Step::kSupervise, "create " + pattern + "/empty"));
        return dir;
    }
    StateDir(StateDir&& other) noexcept : path_(std::exchange(other.path_, {})) {}
    StateDir& operator=(StateDir&&) = delete;
    ~StateDir() {
        std::error_code ec;
        if (!path_.empty()) std::filesystem::remove_all(path_, ec);
    }
    [[nodiscard]] const std::string& path() const { return path_; }

 private:
    StateDir() = default;
    std::string path_;
};

json limit_json(const std::uint64_t value) { return value == 0 ? json(nullptr) : json(value); }

json info_document(const ServeOptions& o, const Spec& spec, const ApiLimits& limits,
                   const std::string& warning, unsigned pool_size) {
    const Limits& l = spec.limits;
    return json{
        {"version", NSBOX_VERSION},
        {"profile", spec.profile_name},
        {"rootfs", spec.rootfs_name.empty() ? spec.rootfs.value : spec.rootfs_name},
        {"network", std::string(net_mode_name(spec.network.value))},
        {"limits",
         {{"mode", std::string(limits_mode_name(l.mode.value))},
          {"enforced", warning.empty()},
          {"warning", warning.empty() ? json(nullptr) : json(warning)},
          {"memory_bytes", limit_json(l.memory.value)},
          {"pids", limit_json(l.pids.value)},
          {"cpus",
           l.cpus.value == 0 ? json(nullptr) : json(static_cast<double>(l.cpus.value) / 1000)},
          {"cpu_time_ms", limit_json(static_cast<std::uint64_t>(l.cpu_time.value.count()))},
          {"output_bytes", limit_json(l.output.value)},
          {"open_files", limit_json(l.open_files.value)},
          {"workspace_bytes", limit_json(spec.workspace_size.value)}}},
        {"timeout_ms",
         {{"default", limits.default_timeout.count()}, {"max", limits.max_timeout.count()}}},
        {"max_concurrency", o.max_concurrency},
        {"queue", o.queue},
        {"pool", pool_size},
        {"max_body_bytes", o.max_body_bytes},
        {"max_files", limits.max_files},
        {"max_file_bytes", limits.max_file_bytes}};
}

}  // namespace

std::string default_socket_path() {
    if (::geteuid() == 0) return "/run/nsbox/serve.sock";
    const char* runtime = std::getenv("XDG_RUNTIME_DIR");
    if (runtime && runtime[0] == '/') return std::string(runtime) + "/nsbox/serve.sock";
    return "/tmp/nsbox-" + std::to_string(::geteuid()) + "/serve.sock";
}

int serve(const ServeOptions& given) {
    ServeOptions o = given;
    const long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
    if (o.max_concurrency == 0) o.max_concurrency = static_cast<unsigned>(std::max(1L, cpus));
    if (o.queue == 0) o.queue = 4 * o.max_concurrency;
    const unsigned pool_size = o.pool < 0 ? o.max_concurrency : static_cast<unsigned>(o.pool);

    std::string why;
    auto address = parse_listen(o.listen.empty() ? "unix:" + default_socket_path() : o.listen, why);
    if (!address) {
        say("--listen " + o.listen + ": expected " + why);
        return kExitCannotStart;
    }
    if (!address->is_unix && o.token_file.empty()) {
        say("--listen " + address->describe() +
            ": TCP needs --token-file (any local user can reach a TCP port; a UNIX socket is "
            "private to you)");
        return kExitCannotStart;
    }
    std::string token;
    if (!o.token_file.empty()) {
        auto t = read_token(o.token_file);
        if (!t) {
            say(t.error().message());
            return kExitCannotStart;
        }
        token = std::move(*t);
    }

    // The signals that stop the server are taken by sigwait below; every thread inherits the
    // mask. Writes to a sandbox that has gone fail with EPIPE instead of killing the server.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGHUP);
    ::pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    ::signal(SIGPIPE, SIG_IGN);

    auto state = StateDir::create();
    if (!state) {
        say(state.error().message());
        return kExitCannotStart;
    }
    SandboxTemplate sandbox{o.profile,   o.limits_mode,   o.rootfs, state->path() + "/empty",
                            o.max_files, o.max_file_bytes};
    auto spec = sandbox_spec(sandbox, state->path() + "/check");
    if (!spec) {
        say(spec.error().message());
        return kExitCannotStart;
    }
    ApiLimits limits;
    limits.max_files = o.max_files;
    limits.max_file_bytes = o.max_file_bytes;
    if (spec->timeout.value.count() > 0) {
        limits.max_timeout = spec->timeout.value;
        limits.default_timeout = spec->timeout.value;
    } else {
        limits.max_timeout = std::chrono::hours(24);
        limits.default_timeout = std::chrono::seconds(30);
    }
    const limits::LimitsPlan plan =
        limits::plan_limits(spec->limits, limits::host_facts(spec->limits));
    std::string warning = limits::unenforced_summary(plan);
    if (const auto hint = warning.find(" (-q silences this)"); hint != std::string::npos)
        warning.erase(hint);
    // Output beyond the profile's limit stops the run; the server keeps at most that much of
    // each stream (and 8 MiB when the profile sets none).
    const std::uint64_t output_cap =
        (spec->limits.output.value != 0 ? spec->limits.output.value : 8ULL << 20) + 256;

    // Before any sandbox starts: an address in use is refused at once.
    auto listener = address->is_unix ? listen_unix(address->path) : listen_tcp(*address);
    if (!listener) {
        say(listener.error().message());
        return kExitCannotStart;
    }
    Pool pool(
        PoolConfig{o.worker_exe, sandbox, state->path(), pool_size, std::chrono::seconds(60)});
    if (auto started = pool.start(); !started) {
        say("cannot start a sandbox: " + started.error());
        return kExitCannotStart;
    }
    if (!warning.empty()) say("warning: " + warning + " (--limits best-effort)");

    Service service(o, limits, info_document(o, *spec, limits, warning, pool_size), token, pool,
                    output_cap);
    // Connections beyond the running and waiting requests get a quick 429 or 503 from these
    // spare threads; past them the daemon closes new connections without an answer.
    const unsigned connection_limit = o.max_concurrency + o.queue + 16;
    MHD_Daemon* daemon = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
            MHD_USE_ITC | MHD_USE_ERROR_LOG,
        0, nullptr, nullptr, &Service::on_request, &service, MHD_OPTION_EXTERNAL_LOGGER, &mhd_log,
        nullptr, MHD_OPTION_LISTEN_SOCKET, listener->fd.get(), MHD_OPTION_CONNECTION_LIMIT,
        connection_limit, MHD_OPTION_CONNECTION_TIMEOUT, 60U, MHD_OPTION_NOTIFY_COMPLETED,
        &Service::on_completed, &service, MHD_OPTION_END);
    if (!daemon) {
        say("cannot start the HTTP server on " + address->describe());
        return kExitCannotStart;
    }
    say(fmt::format("listening on {} (profile {}, {} runs at once, queue {}, {} sandboxes ready)",
                    address->describe(), spec->profile_name, o.max_concurrency, o.queue,
                    pool_size));

    int sig = 0;
    while (::sigwait(&stop_signals, &sig) != 0) {
    }
    say(fmt::format("{}: no new requests; waiting up to {}s for {} running", ::strsignal(sig),
                    o.shutdown_timeout.count(), service.admission().counts().first));
    service.admission().drain();
    MHD_quiesce_daemon(daemon);  // the listening socket stays ours (closed below)
    if (!service.admission().wait_idle(Clock::now() + o.shutdown_timeout)) {
        say("shutdown deadline passed: stopping the runs still going");
        service.stop_all();
        service.admission().wait_idle(Clock::now() + std::chrono::seconds(10));
    }
    MHD_stop_daemon(daemon);
    listener->close();
    pool.shutdown();
    say("stopped");
    return 0;
}

}  // namespace nsbox::serve
