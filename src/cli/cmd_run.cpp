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
#include "nsbox/validate.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

extern char** environ;

namespace nsbox::cli {
namespace {

HostContext current_host() {
    HostContext host;
    for (char** entry = environ; entry && *entry; ++entry) {
        const std::string_view kv(*entry);
        const auto eq = kv.find('=');
        if (eq != std::string_view::npos)
            host.environment.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
    }
    std::error_code ec;
    host.cwd = std::filesystem::current_path(ec).string();
    host.terminal_attached =
        ::isatty(STDIN_FILENO) || ::isatty(STDOUT_FILENO) || ::isatty(STDERR_FILENO);
    return host;
}

void set_log_level(const RunOptions& o) {
    if (o.quiet) {
        log::set_level(log::Level::kError);
    } else if (o.verbose >= 2) {
        log::set_level(log::Level::kDebug);
    } else if (o.verbose == 1) {
        log::set_level(log::Level::kInfo);
    }
}

Result<Spec> resolve(const RunOptions& o, const HostContext& host) {
    auto cli = settings_from_flags(o);
    if (!cli) return fail(cli.error());
    auto profile =
        resolve_profile(o.profile.empty() ? "default" : o.profile, profile_search_dirs());
    if (!profile) return fail(profile.error());
    RunRequest request;
    request.command = o.command;
    request.is_script = o.is_script;
    request.workspace = o.workspace;
    request.output_dir = o.output;
    request.report_path = o.report;
    request.cli = std::move(*cli);
    return build_spec(*profile, request, host);
}

void write_report(const std::string& path, const ReportInput& input) {
    if (path.empty()) return;
    const std::string text = render_report(input);
    if (path == "-") {
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
        return;
    }
    auto fd = util::open_fd(path, O_WRONLY | O_CREAT | O_TRUNC, Step::kReport, 0644);
    if (!fd) {
        log::warn("{}", fd.error().message());
        return;
    }
    if (auto r = util::write_all(fd->get(), text, Step::kReport, "write report " + path); !r)
        log::warn("{}", r.error().message());
}

void summarize(const Spec& spec, const RunResult& r) {
    if (r.error) std::fprintf(stderr, "%s\n", r.error->line().c_str());
    if (r.reason == Reason::kTimeout)
        log::warn("timed out after {:.1f}s: the sandbox was killed",
                  spec.timeout.value.count() / 1000.0);
    if (r.export_error) log::warn("--output: {}", r.export_error->message());
    if (r.exported) {
        log::info("exported {} file(s), {} bytes to {}{}", r.exported->written.size(),
                  r.exported->bytes, spec.output_dir,
                  r.exported->skipped.empty()
                      ? ""
                      : fmt::format(" ({} skipped)", r.exported->skipped.size()));
    }
    log::info("{} with exit code {} after {:.3f}s", reason_name(r.reason), r.exit_code,
              std::chrono::duration<double>(r.wall_time).count());
}

}  // namespace

int run_command(const RunOptions& o, const std::vector<std::string>& argv) {
    set_log_level(o);
    const HostContext host = current_host();
    auto spec = resolve(o, host);
    if (!spec) {
        std::fprintf(stderr, "%s\n", spec.error().line().c_str());
        write_report(o.report, ReportInput{argv, nullptr, nullptr, &spec.error()});
        return spec.error().exit_code();
    }
    if (o.print_spec) {
        std::fputs(render_spec(*spec).c_str(), stdout);
        return 0;
    }
    auto result = run_sandbox(*spec);
    if (!result) {
        std::fprintf(stderr, "%s\n", result.error().line().c_str());
        write_report(spec->report_path, ReportInput{argv, &*spec, nullptr, &result.error()});
        return result.error().exit_code();
    }
    summarize(*spec, *result);
    write_report(spec->report_path, ReportInput{argv, &*spec, &*result, nullptr});
    return result->exit_code;
}

}  // namespace nsbox::cli
