// nsbox-scope: asks the user's systemd manager for a transient scope with Delegate=yes holding
// one process (the nsbox launcher), and waits until the process is in it.
//
//   nsbox-scope PID
//
// Prints the scope's unit name on success. On failure, prints one line saying why on stderr and
// exits 1. A separate, dynamically linked program, so that the nsbox binary stays static and pays
// for libsystemd only on the hosts and runs that need a scope.
//
// The manager is reached on its private socket first (no D-Bus broker needed; it is what
// `systemctl --user` does), then on the session bus. It moves a process whose cgroup it does not
// own (a login session's) by asking the system manager; that is systemd's business, not ours.
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <string_view>

namespace {

constexpr auto kJobDeadline = std::chrono::seconds(20);

struct BusDeleter {
    void operator()(sd_bus* bus) const noexcept { sd_bus_flush_close_unref(bus); }
};
struct MessageDeleter {
    void operator()(sd_bus_message* message) const noexcept { sd_bus_message_unref(message); }
};
using Bus = std::unique_ptr<sd_bus, BusDeleter>;
using Message = std::unique_ptr<sd_bus_message, MessageDeleter>;

// Owns an sd_bus_error (sd-bus's error out-parameter) and frees it.
struct BusError {
    sd_bus_error error = SD_BUS_ERROR_NULL;
    BusError() = default;
    BusError(const BusError&) = delete;
    BusError& operator=(const BusError&) = delete;
    ~BusError() { sd_bus_error_free(&error); }
    [[nodiscard]] std::string text(int code) const {
        return error.message != nullptr ? error.message : std::strerror(-code);
    }
};

[[noreturn]] void fail(const std::string& message) {
    std::fprintf(stderr, "%s\n", message.c_str());
    std::exit(1);
}

Bus connect_private(const std::string& address) {
    sd_bus* raw = nullptr;
    if (sd_bus_new(&raw) < 0) return nullptr;
    Bus bus(raw);
    if (sd_bus_set_address(raw, address.c_str()) < 0 || sd_bus_start(raw) < 0) return nullptr;
    return bus;
}

Bus connect() {
    const char* runtime_dir = std::getenv("XDG_RUNTIME_DIR");
    if (runtime_dir != nullptr && runtime_dir[0] == '/') {
        const std::string private_socket = std::string(runtime_dir) + "/systemd/private";
        if (::access(private_socket.c_str(), W_OK) == 0) {
            if (Bus bus = connect_private("unix:path=" + private_socket)) return bus;
        }
    }
    sd_bus* raw = nullptr;
    if (const int r = sd_bus_open_user(&raw); r < 0)
        fail(std::string("no systemd user manager answers on $XDG_RUNTIME_DIR/systemd/private or "
                         "the session bus: ") +
             std::strerror(-r));
    return Bus(raw);
}

std::string unit_name(unsigned pid) {
    std::random_device random;
    char name[64];
    std::snprintf(name, sizeof name, "nsbox-%u-%08x.scope", pid, random());
    return name;
}

struct JobWait {
    std::string job;     // the job's object path, once StartTransientUnit answered
    std::string result;  // "done", "failed", ... once JobRemoved named it
};

int on_job_removed(sd_bus_message* message, void* userdata, sd_bus_error* /*error*/) {
    auto* wait = static_cast<JobWait*>(userdata);
    std::uint32_t id = 0;
    const char* path = nullptr;
    const char* unit = nullptr;
    const char* result = nullptr;
    if (sd_bus_message_read(message, "uoss", &id, &path, &unit, &result) < 0) return 0;
    if (!wait->job.empty() && wait->job == path) wait->result = result;
    return 0;
}

// StartTransientUnit(name, mode, properties a(sv), aux a(sa(sv))).
Message start_scope(sd_bus* bus, const std::string& unit, unsigned pid) {
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_call(
        bus, &raw, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
        "org.freedesktop.systemd1.Manager", "StartTransientUnit");
    if (r < 0) fail(std::string("cannot build the D-Bus call: ") + std::strerror(-r));
    Message call(raw);
    const std::string description = "nsbox sandboxes of process " + std::to_string(pid);
    r = sd_bus_message_append(raw, "ss", unit.c_str(), "fail");
    if (r >= 0) r = sd_bus_message_open_container(raw, 'a', "(sv)");
    // Delegate: the scope's subtree is nsbox's to divide (a leaf for the launcher, one cgroup
    // per sandbox). CollectMode: the unit goes away with its last process even if it failed.
    if (r >= 0)
        r = sd_bus_message_append(raw, "(sv)(sv)(sv)(sv)", "Description", "s", description.c_str(),
                                  "Delegate", "b", 1, "CollectMode", "s", "inactive-or-failed",
                                  "PIDs", "au", 1, pid);
    if (r >= 0) r = sd_bus_message_close_container(raw);
    if (r >= 0) r = sd_bus_message_append(raw, "a(sa(sv))", 0);
    if (r < 0) fail(std::string("cannot build the D-Bus call: ") + std::strerror(-r));
    return call;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) fail("usage: nsbox-scope PID");
    char* end = nullptr;
    const unsigned long pid = std::strtoul(argv[1], &end, 10);
    if (*end != '\0' || pid == 0 || pid > 0x3fffffff)
        fail("nsbox-scope: bad PID " + std::string(argv[1]));

    Bus bus = connect();
    const std::string unit = unit_name(static_cast<unsigned>(pid));
    JobWait wait;
    // The match goes in before the call so that a fast job's JobRemoved cannot be missed. No
    // sender is named: on a private socket messages carry none.
    int r = sd_bus_match_signal(bus.get(), nullptr, nullptr, "/org/freedesktop/systemd1",
                                "org.freedesktop.systemd1.Manager", "JobRemoved", on_job_removed,
                                &wait);
    if (r < 0) fail(std::string("cannot watch systemd's jobs: ") + std::strerror(-r));
    {
        BusError error;
        // On the bus the manager only signals subscribers; on its private socket this is a no-op.
        r = sd_bus_call_method(bus.get(), "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                               "org.freedesktop.systemd1.Manager", "Subscribe", &error.error,
                               nullptr, "");
        if (r < 0) fail("systemd refused to report its jobs: " + error.text(r));
    }
    Message call = start_scope(bus.get(), unit, static_cast<unsigned>(pid));
    BusError error;
    sd_bus_message* reply_raw = nullptr;
    r = sd_bus_call(bus.get(), call.get(), 0, &error.error, &reply_raw);
    if (r < 0) fail("systemd refused a scope with Delegate=yes: " + error.text(r));
    Message reply(reply_raw);
    const char* job = nullptr;
    if (sd_bus_message_read(reply_raw, "o", &job) < 0) fail("systemd's answer has no job");
    wait.job = job;

    const auto deadline = std::chrono::steady_clock::now() + kJobDeadline;
    while (wait.result.empty()) {
        r = sd_bus_process(bus.get(), nullptr);
        if (r < 0) fail(std::string("lost the connection to systemd: ") + std::strerror(-r));
        if (r > 0) continue;
        const auto left = deadline - std::chrono::steady_clock::now();
        if (left <= std::chrono::steady_clock::duration::zero())
            fail("systemd did not start the scope " + unit + " within " +
                 std::to_string(kJobDeadline.count()) + " s");
        r = sd_bus_wait(bus.get(),
                        std::chrono::duration_cast<std::chrono::microseconds>(left).count());
        if (r < 0 && r != -EINTR)
            fail(std::string("lost the connection to systemd: ") + std::strerror(-r));
    }
    if (wait.result != "done")
        fail("systemd's job for the scope " + unit + " ended " + wait.result);
    std::printf("%s\n", unit.c_str());
    return 0;
}
