// `nsbox run`: flags -> RunRequest -> Spec -> run -> exit code, report and messages.
#include <fcntl.h>
#include <fmt/core.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "cli/options.hpp"
#include "cli/settings_from_flags.hpp"
#include "nsbox/launcher.hpp"
#include "nsbox/report.hpp"
#include "nsbox/rootfs.hpp"
#include "nsbox/security.hpp"
#include "nsbox/units.hpp"
#include "nsbox/validate.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

namespace nsbox::cli {
namespace {

void set_log_level(const RunOptions& o) {
    if (o.quiet) {
        log::set_level(log::Level::kError);
    } else if (o.verbose >= 2) {
        log::set_level(log::Level::kDebug);
    } else if (o.verbose == 1) {
        log::set_level(log::Level::kInfo);
    }
}

Result<Spec> resolve(const RunOptions& o, const RunSetup& setup, const HostContext& host) {
    auto cli = settings_from_flags(o);
    if (!cli) return fail(cli.error());
    auto profile = resolve_profile(o.profile.empty() ? setup.default_profile : o.profile,
                                   profile_search_dirs());
    if (!profile) return fail(profile.error());
    RunRequest request = setup.request;
    for (const BindSpec& bind : setup.request.cli.binds) cli->binds.push_back(bind);
    request.tty = request.tty || o.tty;
    request.command = o.command;
    request.is_script = o.is_script;
    request.workspace = o.workspace;
    request.output_dir = o.output;
    request.report_path = o.report;
    request.pass_fds = o.pass_fds;
    request.cli = std::move(*cli);
    return build_spec(*profile, request, host);
}

// Where the report goes, opened before the run so that an unwritable path fails first.
class ReportSink {
 public:
    static Result<ReportSink> open(const std::string& path) {
        ReportSink sink;
        sink.path_ = path;
        if (path.empty() || path == "-") return sink;
        auto fd = util::open_fd(path, O_WRONLY | O_CREAT | O_TRUNC, Step::kReport, 0644);
        if (!fd) return fail(Error::from_errno(Step::kReport, "--report " + path));
        sink.fd_ = std::move(*fd);
        return sink;
    }
    // False if the report could not be written (the reason is logged).
    bool write(const ReportInput& input) {
        if (path_.empty()) return true;
        const std::string text = render_report(input);
        if (path_ == "-") {
            std::fwrite(text.data(), 1, text.size(), stdout);
            return std::fflush(stdout) == 0;
        }
        auto r = util::write_all(fd_.get(), text, Step::kReport, "write report " + path_);
        if (!r) std::fprintf(stderr, "%s\n", r.error().line().c_str());
        return static_cast<bool>(r);
    }

 private:
    std::string path_;
    UniqueFd fd_;
};

// --output DIR is created before the run, so a bad path costs nothing.
Result<void> prepare_output_dir(const std::string& dir) {
    if (dir.empty()) return {};
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec || !std::filesystem::is_directory(dir, ec))
        return fail(Error::system(Step::kExport, ec ? ec.value() : ENOTDIR, "--output " + dir));
    return {};
}

std::string denial_list(const std::vector<SyscallDenial>& denials) {
    std::string out;
    for (const SyscallDenial& d : denials)
        out += fmt::format("{}{} x{}", out.empty() ? "" : ", ", d.name, d.count);
    return out;
}

// ", CPU 0.41s (user 0.38s), peak memory 41M (sandbox), output 12K".
std::string usage_summary(const ResourceUsage& u) {
    std::string out;
    if (u.cpu_user_us && u.cpu_system_us) {
        out += fmt::format(", CPU {:.2f}s (user {:.2f}s)",
                           static_cast<double>(*u.cpu_user_us + *u.cpu_system_us) / 1e6,
                           static_cast<double>(*u.cpu_user_us) / 1e6);
    }
    if (u.peak_memory_bytes) {
        out += fmt::format(", peak memory {:.1f}M ({})",
                           static_cast<double>(*u.peak_memory_bytes) / (1 << 20),
                           u.peak_memory_source == "memory.peak" ? "sandbox" : "largest process");
    }
    if (u.pids_peak) out += fmt::format(", {} tasks at most", *u.pids_peak);
    if (u.cpu_throttled_us && *u.cpu_throttled_us > 0)
        out += fmt::format(", throttled {:.2f}s", static_cast<double>(*u.cpu_throttled_us) / 1e6);
    if (u.oom_kills && *u.oom_kills > 0) out += fmt::format(", {} OOM kill(s)", *u.oom_kills);
    out += fmt::format(", output {}{}", u.output_bytes, u.output_truncated ? "B (truncated)" : "B");
    return out;
}

void summarize(const Spec& spec, const RunResult& r) {
    if (r.error) std::fprintf(stderr, "%s\n", r.error->line().c_str());
    if (r.seccomp_kill) {
        std::fprintf(stderr,
                     "nsbox: the sandbox was killed: the payload called %s, which the seccomp "
                     "policy denies (seccomp.action = \"kill\")\n",
                     r.seccomp_kill->c_str());
    } else if (!r.denials.empty()) {
        log::info("seccomp denied: {}", denial_list(r.denials));
    }
    if (!r.limits_warning.empty() && r.reason != Reason::kSetupError)
        log::warn("{}", r.limits_warning);
    const Limits& limits = spec.limits;
    switch (r.reason) {
        case Reason::kTimeout:
            log::warn("timed out after {:.1f}s: the sandbox was killed",
                      spec.timeout.value.count() / 1000.0);
            break;
        case Reason::kCpuTime:
            log::warn(
                "the sandbox used its {} of CPU time and was stopped (limits.cpu_time from "
                "{}; raise it with --cpu-time)",
                format_duration(limits.cpu_time.value), limits.cpu_time.origin.describe());
            break;
        case Reason::kOom:
            log::warn(
                "the sandbox ran out of memory at its {} limit and was stopped "
                "(limits.memory from {}; raise it with --memory)",
                format_size(limits.memory.value), limits.memory.origin.describe());
            break;
        case Reason::kOutputLimit:
            log::warn(
                "the sandbox wrote more than {} to stdout/stderr and was stopped "
                "(limits.output from {}; raise it with --output-limit)",
                format_size(limits.output.value), limits.output.origin.describe());
            break;
        default:
            break;
    }
    if (r.export_error)
        std::fprintf(stderr, "nsbox: --output: %s\n", r.export_error->message().c_str());
    if (r.exported) {
        log::info("exported {} file(s), {} bytes to {}{}", r.exported->written.size(),
                  r.exported->bytes, spec.output_dir,
                  r.exported->skipped.empty()
                      ? ""
                      : fmt::format(" ({} skipped)", r.exported->skipped.size()));
    }
    log::info("{} with exit code {} after {:.3f}s{}", reason_name(r.reason), r.exit_code,
              std::chrono::duration<double>(r.wall_time).count(), usage_summary(r.usage));
}

// A payload that succeeded while its requested report or files were lost is not a success.
int final_exit_code(const RunResult& result, bool report_written) {
    const bool lost_outputs = result.export_error.has_value() || !report_written;
    return result.exit_code == 0 && lost_outputs ? kExitLauncherError : result.exit_code;
}

int fail_with(const Error& error) {
    std::fprintf(stderr, "%s\n", error.line().c_str());
    return error.exit_code();
}

}  // namespace

int run_command(const RunOptions& o, const std::vector<std::string>& argv, const RunSetup& setup) {
    set_log_level(o);
    const HostContext host = host_context_of_this_process();
    auto report = ReportSink::open(o.report.empty() || o.report == "-"
                                       ? o.report
                                       : std::filesystem::absolute(o.report).string());
    if (!report) return fail_with(report.error());
    auto spec = resolve(o, setup, host);
    if (!spec) {
        report->write(ReportInput{argv, nullptr, nullptr, &spec.error()});
        return fail_with(spec.error());
    }
    if (o.print_spec) {
        auto layers = describe_security(*spec);
        if (!layers) return fail_with(layers.error());
        std::fputs((render_spec(*spec) + render_security(*layers)).c_str(), stdout);
        return 0;
    }
    if (auto r = prepare_output_dir(spec->output_dir); !r) return fail_with(r.error());
    // Held until the sandbox has finished: the stored rootfs and layer cannot go meanwhile.
    auto lease = rootfs::prepare_for_run(*spec);
    if (!lease) {
        report->write(ReportInput{argv, &*spec, nullptr, &lease.error()});
        return fail_with(lease.error());
    }
    if (setup.before_launch) {
        if (auto r = setup.before_launch(*spec); !r) return fail_with(r.error());
    }
    auto result = run_sandbox(*spec);
    if (!result) {
        report->write(ReportInput{argv, &*spec, nullptr, &result.error()});
        return fail_with(result.error());
    }
    summarize(*spec, *result);
    const bool report_written = report->write(ReportInput{argv, &*spec, &*result, nullptr});
    return final_exit_code(*result, report_written);
}

}  // namespace nsbox::cli
