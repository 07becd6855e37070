// Profile TOML parsing (toml++ is used only here). Every value keeps its file:line origin and
// every error names file, line and key.
#include <fmt/core.h>

#include <algorithm>
#include <filesystem>
#include <functional>

#include "nsbox/profile.hpp"
#include "nsbox/rootfs.hpp"
#include "nsbox/units.hpp"
#include "spec/toml_doc.hpp"
#include "util/fs.hpp"

namespace nsbox {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxProfileBytes = 1U << 20;

struct Ctx {
    const std::string& file;
    fs::path base_dir;  // relative paths in the profile are relative to the profile's directory
    Profile& profile;
};

int line_of(const toml::node& node) { return static_cast<int>(node.source().begin.line); }

Error bad(const Ctx& ctx, const toml::node& node, const std::string& key, std::string what) {
    return Error::profile(ctx.file, line_of(node), key, std::move(what));
}

Result<std::string> get_string(const Ctx& ctx, const toml::node& node, const std::string& key) {
    if (const auto* s = node.as_string()) {
        // The kernel would read a path, name or value only up to a NUL: "/etc\u0000x" would
        // pass every check here as one path and act as "/etc" there.
        if (s->get().find('\0') != std::string::npos)
            return fail(bad(ctx, node, key, "contains a NUL character"));
        return s->get();
    }
    return fail(bad(ctx, node, key, "expected a string"));
}

Result<std::vector<std::pair<std::string, int>>> get_string_list(const Ctx& ctx,
                                                                 const toml::node& node,
                                                                 const std::string& key) {
    const auto* arr = node.as_array();
    if (!arr) return fail(bad(ctx, node, key, "expected an array of strings"));
    std::vector<std::pair<std::string, int>> out;
    for (const toml::node& item : *arr) {
        auto s = get_string(ctx, item, key);
        if (!s) return fail(bad(ctx, item, key, "expected an array of strings"));
        out.emplace_back(*s, line_of(item));
    }
    return out;
}

std::string absolute_from(const Ctx& ctx, const std::string& path) {
    if (path.empty() || path.front() == '/') return path;
    return (ctx.base_dir / path).lexically_normal().string();
}

using Handler = std::function<Result<void>(Ctx&, const toml::node&, const std::string& key)>;

// Numeric keys take TOML numbers as their text: `pids = 256` and `cpus = 1.5` mean what
// "256" and "1.5" do.
enum class Numbers : std::uint8_t { kRejected, kAccepted };

template <class T, class Parse>
Handler scalar(std::optional<Sourced<T>> Settings::*field, Parse parse, const char* expected,
               Numbers numbers = Numbers::kRejected) {
    return [=](Ctx& ctx, const toml::node& node, const std::string& key) -> Result<void> {
        const bool numeric = numbers == Numbers::kAccepted;
        auto text = numeric && node.is_integer()
                        ? Result<std::string>(fmt::format("{}", node.as_integer()->get()))
                    : numeric && node.is_floating_point()
                        ? Result<std::string>(fmt::format("{}", node.as_floating_point()->get()))
                        : get_string(ctx, node, key);
        if (!text) return fail(text.error());
        std::optional<T> value = parse(*text);
        if (!value)
            return fail(
                bad(ctx, node, key, fmt::format("expected {}, got \"{}\"", expected, *text)));
        ctx.profile.settings.*field = Sourced<T>{*value, Origin::profile(ctx.file, line_of(node))};
        return {};
    };
}

std::optional<std::string> any_string(const std::string& s) { return s; }

std::optional<NetMode> parse_net(const std::string& s) { return parse_net_mode(s); }

std::optional<WorkspaceMode> parse_mode(const std::string& s) { return parse_workspace_mode(s); }

std::optional<std::chrono::milliseconds> parse_timeout(const std::string& s) {
    if (s == "none") return std::chrono::milliseconds{0};
    return parse_duration(s);
}

// Limits: "none" means no limit, stored as 0.
std::optional<std::uint64_t> size_or_none(const std::string& s) {
    return s == "none" ? std::optional<std::uint64_t>{0} : parse_size(s);
}
std::optional<std::uint64_t> count_or_none(const std::string& s) {
    return s == "none" ? std::optional<std::uint64_t>{0} : parse_count(s);
}
std::optional<std::uint64_t> cpus_or_none(const std::string& s) {
    return s == "none" ? std::optional<std::uint64_t>{0} : parse_cpus(s);
}
std::optional<LimitsMode> parse_limits(const std::string& s) { return parse_limits_mode(s); }

Handler rootfs_handler() {
    return [](Ctx& ctx, const toml::node& node, const std::string& key) -> Result<void> {
        auto text = get_string(ctx, node, key);
        if (!text) return fail(text.error());
        if (text->empty())
            return fail(bad(ctx, node, key,
                            "expected \"host\", a rootfs name or a directory (with a '/')"));
        // A name stays a name (looked up in the store); a directory is relative to this file.
        const std::string value = *text == "host" || rootfs::names_stored_rootfs(*text)
                                      ? *text
                                      : absolute_from(ctx, *text);
        ctx.profile.settings.rootfs =
            Sourced<std::string>{value, Origin::profile(ctx.file, line_of(node))};
        return {};
    };
}

Handler mount_list(bool tmpfs, bool read_only) {
    return [=](Ctx& ctx, const toml::node& node, const std::string& key) -> Result<void> {
        auto items = get_string_list(ctx, node, key);
        if (!items) return fail(items.error());
        for (const auto& [text, line] : *items) {
            const Origin origin = Origin::profile(ctx.file, line);
            if (tmpfs) {
                auto spec = parse_tmpfs_arg(text, origin);
                if (!spec) return fail(Error::profile(ctx.file, line, key, spec.error().what));
                ctx.profile.settings.tmpfs.push_back(*spec);
            } else {
                auto spec = parse_bind_arg(text, read_only, origin);
                if (!spec) return fail(Error::profile(ctx.file, line, key, spec.error().what));
                spec->source = absolute_from(ctx, spec->source);
                if (spec->dest.empty()) spec->dest = spec->source;
                ctx.profile.settings.binds.push_back(*spec);
            }
        }
        return {};
    };
}

Handler env_list(bool files) {
    return [=](Ctx& ctx, const toml::node& node, const std::string& key) -> Result<void> {
        auto items = get_string_list(ctx, node, key);
        if (!items) return fail(items.error());
        auto& target = files ? ctx.profile.settings.env_files : ctx.profile.settings.env_pass;
        for (const auto& [text, line] : *items) {
            target.push_back(
                {files ? absolute_from(ctx, text) : text, Origin::profile(ctx.file, line)});
        }
        return {};
    };
}

Handler name_list(std::vector<Sourced<std::string>> Settings::*field) {
    return [=](Ctx& ctx, const toml::node& node, const std::string& key) -> Result<void> {
        auto items = get_string_list(ctx, node, key);
        if (!items) return fail(items.error());
        for (const auto& [text, line] : *items)
            (ctx.profile.settings.*field).push_back({text, Origin::profile(ctx.file, line)});
        return {};
    };
}

Handler path_setting(std::optional<Sourced<std::string>> Settings::*field) {
    return [=](Ctx& ctx, const toml::node& node, const std::string& key) -> Result<void> {
        auto text = get_string(ctx, node, key);
        if (!text) return fail(text.error());
        if (text->empty()) return fail(bad(ctx, node, key, "expected a path"));
        ctx.profile.settings.*field = Sourced<std::string>{
            absolute_from(ctx, *text), Origin::profile(ctx.file, line_of(node))};
        return {};
    };
}

Handler boolean(std::optional<Sourced<bool>> Settings::*field) {
    return [=](Ctx& ctx, const toml::node& node, const std::string& key) -> Result<void> {
        const auto* value = node.as_boolean();
        if (!value) return fail(bad(ctx, node, key, "expected true or false"));
        ctx.profile.settings.*field =
            Sourced<bool>{value->get(), Origin::profile(ctx.file, line_of(node))};
        return {};
    };
}

std::optional<SeccompAction> parse_action(const std::string& s) { return parse_seccomp_action(s); }

std::optional<LandlockMode> parse_landlock(const std::string& s) { return parse_landlock_mode(s); }

Handler env_set_table() {
    return [](Ctx& ctx, const toml::node& node, const std::string& key) -> Result<void> {
        const auto* table = node.as_table();
        if (!table) return fail(bad(ctx, node, key, "expected a table of NAME = \"value\""));
        for (const auto& [name, value] : *table) {
            const std::string full = key + "." + std::string(name.str());
            auto text = get_string(ctx, value, full);
            if (!text) return fail(text.error());
            ctx.profile.settings.env_set.push_back(
                {std::string(name.str()), *text, Origin::profile(ctx.file, line_of(value))});
        }
        return {};
    };
}

Handler extends_handler() {
    return [](Ctx& ctx, const toml::node& node, const std::string& key) -> Result<void> {
        auto text = get_string(ctx, node, key);
        if (!text) return fail(text.error());
        if (text->empty()) return fail(bad(ctx, node, key, "expected a profile name"));
        ctx.profile.extends = *text;
        ctx.profile.extends_line = line_of(node);
        return {};
    };
}

// The schema: every key a profile may contain. Anything else is an error.
const std::vector<std::pair<std::string, Handler>>& schema() {
    static const std::vector<std::pair<std::string, Handler>> table = {
        {"extends", extends_handler()},
        {"sandbox.rootfs", rootfs_handler()},
        {"sandbox.hostname", scalar(&Settings::hostname, any_string, "a host name")},
        {"sandbox.network", scalar(&Settings::network, parse_net, "\"none\" or \"host\"")},
        {"sandbox.timeout",
         scalar(&Settings::timeout, parse_timeout, "a duration such as \"30s\" or \"none\"")},
        {"workspace.mode",
         scalar(&Settings::workspace_mode, parse_mode, "\"overlay\", \"rw\" or \"ro\"")},
        {"workspace.size", scalar(&Settings::workspace_size, parse_size, "a size such as \"1G\"")},
        {"workspace.read_only", name_list(&Settings::workspace_read_only)},
        {"workspace.at", scalar(&Settings::workspace_at, any_string,
                                "an absolute path such as \"/workspace\", or \"same\"")},
        {"requirements.file", path_setting(&Settings::requirements_file)},
        {"requirements.find_links", path_setting(&Settings::find_links)},
        {"requirements.no_index", boolean(&Settings::no_index)},
        {"tmpfs.tmp", scalar(&Settings::tmp_size, parse_size, "a size such as \"512M\"")},
        {"tmpfs.shm", scalar(&Settings::shm_size, parse_size, "a size such as \"256M\"")},
        {"tmpfs.home", scalar(&Settings::home_size, parse_size, "a size such as \"512M\"")},
        {"mounts.bind", mount_list(false, false)},
        {"mounts.ro_bind", mount_list(false, true)},
        {"mounts.tmpfs", mount_list(true, false)},
        {"env.pass", env_list(false)},
        {"env.files", env_list(true)},
        {"env.set", env_set_table()},
        {"seccomp.action",
         scalar(&Settings::seccomp_action, parse_action, "\"errno\" or \"kill\"")},
        {"seccomp.allow", name_list(&Settings::seccomp_allow)},
        {"seccomp.deny", name_list(&Settings::seccomp_deny)},
        {"landlock.mode",
         scalar(&Settings::landlock, parse_landlock, "\"auto\", \"required\" or \"off\"")},
        {"landlock.allow_tcp", boolean(&Settings::landlock_allow_tcp)},
        {"limits.mode",
         scalar(&Settings::limits_mode, parse_limits, "\"best-effort\" or \"strict\"")},
        {"limits.memory",
         scalar(&Settings::memory_limit, size_or_none, "a size such as \"512M\" or \"none\"")},
        {"limits.pids",
         scalar(&Settings::pids_limit, count_or_none,
                "a number of tasks such as \"256\" or \"none\"", Numbers::kAccepted)},
        {"limits.cpus", scalar(&Settings::cpus_limit, cpus_or_none,
                               "a number of CPUs such as \"1.5\" or \"none\"", Numbers::kAccepted)},
        {"limits.cpu_time", scalar(&Settings::cpu_time_limit, parse_timeout,
                                   "a duration such as \"10s\" or \"none\"")},
        {"limits.output",
         scalar(&Settings::output_limit, size_or_none, "a size such as \"8M\" or \"none\"")},
        {"limits.open_files",
         scalar(&Settings::open_files_limit, count_or_none,
                "a number of files such as \"1024\" or \"none\"", Numbers::kAccepted)},
    };
    return table;
}

const Handler* find_handler(const std::string& key) {
    for (const auto& [name, handler] : schema())
        if (name == key) return &handler;
    return nullptr;
}

bool is_section(const std::string& key) {
    for (const auto& [name, handler] : schema())
        if (name.rfind(key + ".", 0) == 0) return true;
    return false;
}

Result<void> walk(Ctx& ctx, const toml::table& table, const std::string& prefix) {
    for (const auto& [name_ptr, node_ptr] : in_file_order(table)) {
        const toml::key& name = *name_ptr;
        const toml::node& node = *node_ptr;
        const std::string key =
            prefix.empty() ? std::string(name.str()) : prefix + "." + std::string(name.str());
        if (const Handler* handler = find_handler(key)) {
            if (auto r = (*handler)(ctx, node, key); !r) return r;
        } else if (is_section(key) && node.is_table()) {
            if (auto r = walk(ctx, *node.as_table(), key); !r) return r;
        } else {
            return fail(Error::profile(ctx.file, static_cast<int>(name.source().begin.line), key,
                                       "unknown key"));
        }
    }
    return {};
}

}  // namespace

Result<Profile> parse_profile(std::string_view text, const std::string& file) {
    auto doc = parse_toml(text, file);
    if (!doc) return fail(doc.error());
    Profile profile;
    profile.path = file;
    std::error_code ec;
    Ctx ctx{file, fs::absolute(fs::path(file), ec).parent_path(), profile};
    if (auto r = walk(ctx, *doc, ""); !r) return fail(r.error());
    return profile;
}

Result<Profile> load_profile(const fs::path& file) {
    auto text = util::read_small_file(file, kMaxProfileBytes);
    if (!text) {
        return fail(
            Error::profile(file.string(), 0, {}, "cannot read profile: " + text.error().message()));
    }
    return parse_profile(*text, file.string());
}

}  // namespace nsbox
