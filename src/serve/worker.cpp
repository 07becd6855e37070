// One pre-started sandbox's supervisor (see worker.hpp).
#include "serve/worker.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "nsbox/launcher.hpp"
#include "nsbox/profile.hpp"
#include "nsbox/rootfs.hpp"
#include "nsbox/validate.hpp"
#include "util/log.hpp"

namespace nsbox::serve {

extern const char* const kBootstrapPy;

namespace {

using nlohmann::json;

template <class T>
json optional_json(const std::optional<T>& value) {
    return value ? json(*value) : json(nullptr);
}

template <class T>
std::optional<T> optional_from(const json& doc, const char* key) {
    const auto it = doc.find(key);
    if (it == doc.end() || it->is_null()) return std::nullopt;
    return it->get<T>();
}

void send_result(const WorkerResult& result) {
    const std::string text = render_worker_result(result);
    (void)::send(kWorkerControlFd, text.data(), text.size(), MSG_NOSIGNAL);
}

WorkerResult setup_failure(const Error& error) {
    WorkerResult r;
    r.reason = "setup_error";
    r.exit_code = error.exit_code();
    r.error = error.message();
    return r;
}

}  // namespace

std::vector<std::string> worker_arguments(const SandboxTemplate& t, const std::string& out_dir) {
    return {"--sandbox-worker",
            t.profile,
            t.limits_mode,
            t.rootfs,
            t.empty_dir,
            out_dir,
            std::to_string(t.max_files),
            std::to_string(t.max_bytes)};
}

Result<Spec> sandbox_spec(const SandboxTemplate& t, const std::string& out_dir) {
    auto profile = resolve_profile(t.profile, profile_search_dirs());
    if (!profile) return fail(profile.error());
    RunRequest request;
    request.command = {"python3", "-c", kBootstrapPy};
    request.workspace = t.empty_dir;
    request.output_dir = out_dir;
    if (!t.limits_mode.empty()) {
        if (auto mode = parse_limits_mode(t.limits_mode))
            request.cli.limits_mode = Sourced<LimitsMode>{*mode, Origin::cli()};
    }
    if (!t.rootfs.empty()) request.cli.rootfs = Sourced<std::string>{t.rootfs, Origin::cli()};
    auto spec = build_spec(*profile, request, host_context_of_this_process());
    if (!spec) return spec;
    spec->output_max_files = t.max_files;
    spec->output_max_bytes = t.max_bytes;
    return spec;
}

std::string render_worker_result(const WorkerResult& r) {
    json skipped = json::array();
    for (const auto& [path, why] : r.skipped) skipped.push_back({path, why});
    return json{{"reason", r.reason},
                {"exit_code", r.exit_code},
                {"error", optional_json(r.error)},
                {"cpu_us", optional_json(r.cpu_us)},
                {"cpu_at_start_us", optional_json(r.cpu_at_start_us)},
                {"peak_memory_bytes", optional_json(r.peak_memory_bytes)},
                {"output_truncated", r.output_truncated},
                {"stopped", r.stopped},
                {"skipped", std::move(skipped)},
                {"export_error", optional_json(r.export_error)}}
        .dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<WorkerResult> parse_worker_result(std::string_view text) {
    try {
        const json doc = json::parse(text);
        WorkerResult r;
        r.reason = doc.at("reason").get<std::string>();
        r.exit_code = doc.at("exit_code").get<int>();
        r.error = optional_from<std::string>(doc, "error");
        r.cpu_us = optional_from<std::uint64_t>(doc, "cpu_us");
        r.cpu_at_start_us = optional_from<std::uint64_t>(doc, "cpu_at_start_us");
        r.peak_memory_bytes = optional_from<std::uint64_t>(doc, "peak_memory_bytes");
        r.output_truncated = doc.at("output_truncated").get<bool>();
        r.stopped = doc.at("stopped").get<bool>();
        for (const json& s : doc.at("skipped"))
            r.skipped.emplace_back(s.at(0).get<std::string>(), s.at(1).get<std::string>());
        r.export_error = optional_from<std::string>(doc, "export_error");
        return r;
    } catch (const json::exception&) {
        return std::nullopt;
    }
}

int worker_main(const std::vector<std::string>& args) {
    // stderr is the code's: nothing of the worker's own may appear there.
    log::set_level(log::Level::kError);
    if (args.size() != 8 || ::fcntl(kWorkerControlFd, F_SETFD, FD_CLOEXEC) != 0) return 125;
    SandboxTemplate t;
    t.profile = args[1];
    t.limits_mode = args[2];
    t.rootfs = args[3];
    t.empty_dir = args[4];
    t.max_files = std::strtoull(args[6].c_str(), nullptr, 10);
    t.max_bytes = std::strtoull(args[7].c_str(), nullptr, 10);
    auto spec = sandbox_spec(t, args[5]);
    if (!spec) {
        send_result(setup_failure(spec.error()));
        return 125;
    }
    spec->control_fd = kWorkerControlFd;
    // A pool's sandbox may wait any time for its request: the profile's timeout is the
    // request's limit, armed by the server's kStart (timeout_ms, at most the profile's).
    spec->timeout.value = std::chrono::milliseconds(0);
    auto lease = rootfs::prepare_for_run(*spec);
    if (!lease) {
        send_result(setup_failure(lease.error()));
        return 125;
    }
    auto run = run_sandbox(*spec);
    if (!run) {
        send_result(setup_failure(run.error()));
        return 125;
    }
    WorkerResult r;
    r.reason = std::string(reason_name(run->reason));
    r.exit_code = run->exit_code;
    if (run->error) r.error = run->error->message();
    const ResourceUsage& u = run->usage;
    if (u.cpu_user_us && u.cpu_system_us) r.cpu_us = *u.cpu_user_us + *u.cpu_system_us;
    r.cpu_at_start_us = run->cpu_at_start_us;
    r.peak_memory_bytes = u.peak_memory_bytes;
    r.output_truncated = u.output_truncated;
    r.stopped = run->stopped_by_caller;
    if (run->exported) {
        // The result is one socket message: a long list is cut, its length said.
        constexpr std::size_t kListed = 100;
        const auto& skipped = run->exported->skipped;
        for (std::size_t i = 0; i < skipped.size() && i < kListed; ++i)
            r.skipped.emplace_back(skipped[i].path, skipped[i].reason);
        if (skipped.size() > kListed)
            r.skipped.emplace_back("",
                                   std::to_string(skipped.size() - kListed) + " more not listed");
    }
    if (run->export_error) r.export_error = run->export_error->message();
    send_result(r);
    return 0;
}

}  // namespace nsbox::serve
