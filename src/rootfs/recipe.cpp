// Rootfs recipes: TOML files naming a Debian suite, variant and packages (rootfs/*.toml
// documents every key). Like profiles, every error names file, line and key, and unknown keys
// are errors.
#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "nsbox/rootfs.hpp"
#include "spec/toml_doc.hpp"
#include "util/fs.hpp"
#include "util/path.hpp"
#include "util/sha256.hpp"

namespace nsbox::rootfs {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxRecipeBytes = 1U << 20;
constexpr std::size_t kMaxFileContentBytes = 256U << 10;

// mmdebstrap's variants that leave a configured system ("extract" and "custom" run no
// maintainer scripts: numpy's BLAS alternative, for one, is then missing).
constexpr const char* kVariants[] = {"essential", "apt",       "required", "minbase",
                                     "buildd",    "important", "standard"};

// Where a recipe file may not place files: the sandbox provides these fresh.
constexpr const char* kReservedFileDirs[] = {"/proc", "/dev", "/sys", "/run", "/tmp"};

int line_of(const toml::node& node) { return static_cast<int>(node.source().begin.line); }

struct Ctx {
    const std::string& file;
    Recipe& recipe;
    Error bad(const toml::node& node, const std::string& key, std::string what) const {
        return Error::profile(file, line_of(node), key, std::move(what));
    }
};

Result<std::string> get_string(const Ctx& ctx, const toml::node& node, const std::string& key) {
    const auto* s = node.as_string();
    if (!s) return fail(ctx.bad(node, key, "expected a string"));
    if (s->get().find('\0') != std::string::npos)
        return fail(ctx.bad(node, key, "contains a NUL character"));
    return s->get();
}

Result<std::vector<std::string>> get_string_list(const Ctx& ctx, const toml::node& node,
                                                 const std::string& key) {
    const auto* arr = node.as_array();
    if (!arr) return fail(ctx.bad(node, key, "expected an array of strings"));
    std::vector<std::string> out;
    for (const toml::node& item : *arr) {
        auto s = get_string(ctx, item, key);
        if (!s) return fail(ctx.bad(item, key, "expected an array of strings"));
        out.push_back(std::move(*s));
    }
    return out;
}

bool is_token(std::string_view s, std::string_view extra) {
    return !s.empty() && std::isalnum(static_cast<unsigned char>(s.front())) &&
           std::all_of(s.begin(), s.end(), [&](char c) {
               return (std::islower(static_cast<unsigned char>(c)) != 0) ||
                      (std::isdigit(static_cast<unsigned char>(c)) != 0) ||
                      extra.find(c) != std::string_view::npos;
           });
}

// Debian package names ([a-z0-9][a-z0-9+.-]+), optionally "=VERSION" or "/RELEASE" as apt
// accepts them; never an option, a path or a shell word.
bool is_package(std::string_view s) {
    const auto cut = s.find_first_of("=/");
    if (!is_token(s.substr(0, cut), "+.-")) return false;
    if (cut == std::string_view::npos) return true;
    const std::string_view rest = s.substr(cut + 1);
    return !rest.empty() && std::all_of(rest.begin(), rest.end(), [](char c) {
        return (std::isalnum(static_cast<unsigned char>(c)) != 0) ||
               std::string_view("+.~:-_").find(c) != std::string_view::npos;
    });
}

Result<void> set_packages(Ctx& ctx, const toml::node& node, const std::string& key) {
    auto list = get_string_list(ctx, node, key);
    if (!list) return fail(list.error());
    if (list->empty()) return fail(ctx.bad(node, key, "name at least one package"));
    for (const std::string& package : *list) {
        if (!is_package(package))
            return fail(ctx.bad(node, key, fmt::format("\"{}\" is not a package name", package)));
    }
    ctx.recipe.packages = std::move(*list);
    return {};
}

Result<mode_t> file_mode(const Ctx& ctx, const toml::node& node, const std::string& key) {
    std::int64_t value = -1;
    if (const auto* i = node.as_integer()) {
        value = i->get();
    } else if (const auto* s = node.as_string()) {
        const std::string& text = s->get();
        if (!text.empty() && text.size() <= 4 &&
            std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '7'; }))
            value = std::stoll(text, nullptr, 8);
    }
    // No setuid, setgid or sticky bits: nothing in a sandbox may honour them anyway.
    if (value < 0 || value > 0777)
        return fail(ctx.bad(node, key, "expected a mode such as \"0644\" (at most 0777)"));
    return static_cast<mode_t>(value);
}

Result<RecipeFile> parse_file(const Ctx& ctx, const toml::table& table, int index) {
    RecipeFile file;
    bool have_path = false;
    bool have_content = false;
    for (const auto& [name, node] : table) {
        const std::string key = fmt::format("files[{}].{}", index, name.str());
        if (name == "path") {
            auto text = get_string(ctx, node, key);
            if (!text) return fail(text.error());
            const std::string normal = fs::path(*text).lexically_normal().string();
            if (text->empty() || text->front() != '/' || normal != *text || normal == "/")
                return fail(ctx.bad(node, key, "expected a normalised absolute file path"));
            // Plain path characters only: the build hands the path to a shell hook.
            if (!std::all_of(normal.begin(), normal.end(), [](char c) {
                    return (std::isalnum(static_cast<unsigned char>(c)) != 0) ||
                           std::string_view("/._+-@").find(c) != std::string_view::npos;
                }))
                return fail(
                    ctx.bad(node, key, "use letters, digits and / . _ + - @ in file paths"));
            for (const char* reserved : kReservedFileDirs) {
                if (normal == reserved || util::is_below(normal, reserved))
                    return fail(ctx.bad(
                        node, key,
                        fmt::format("{} is provided by the sandbox, not the rootfs", reserved)));
            }
            file.path = normal;
            have_path = true;
        } else if (name == "content") {
            auto text = get_string(ctx, node, key);
            if (!text) return fail(text.error());
            if (text->size() > kMaxFileContentBytes)
                return fail(ctx.bad(node, key,
                                    fmt::format("larger than {} KiB", kMaxFileContentBytes >> 10)));
            file.content = std::move(*text);
            have_content = true;
        } else if (name == "mode") {
            auto mode = file_mode(ctx, node, key);
            if (!mode) return fail(mode.error());
            file.mode = *mode;
        } else {
            return fail(Error::profile(ctx.file, static_cast<int>(name.source().begin.line), key,
                                       "unknown key"));
        }
    }
    if (!have_path || !have_content) {
        return fail(Error::profile(ctx.file, static_cast<int>(table.source().begin.line),
                                   fmt::format("files[{}]", index),
                                   "each file needs a path and a content"));
    }
    return file;
}

Result<void> set_files(Ctx& ctx, const toml::node& node, const std::string& key) {
    const auto* arr = node.as_array();
    if (!arr) return fail(ctx.bad(node, key, "expected [[files]] tables"));
    int index = 0;
    for (const toml::node& item : *arr) {
        const auto* table = item.as_table();
        if (!table) return fail(ctx.bad(item, key, "expected [[files]] tables"));
        auto file = parse_file(ctx, *table, index++);
        if (!file) return fail(file.error());
        ctx.recipe.files.push_back(std::move(*file));
    }
    return {};
}

Result<void> set_key(Ctx& ctx, const std::string& key, const toml::node& node) {
    Recipe& r = ctx.recipe;
    if (key == "files") return set_files(ctx, node, key);
    if (key == "packages") return set_packages(ctx, node, key);
    if (key == "components" || key == "check") {
        auto list = get_string_list(ctx, node, key);
        if (!list) return fail(list.error());
        if (key == "check") {
            if (list->empty() || list->front().empty())
                return fail(ctx.bad(node, key, "expected a command: [\"PROGRAM\", \"ARG\", ...]"));
            r.check = std::move(*list);
            return {};
        }
        for (const std::string& component : *list) {
            if (!is_token(component, "-"))
                return fail(
                    ctx.bad(node, key, fmt::format("\"{}\" is not a component", component)));
        }
        r.components = std::move(*list);
        return {};
    }
    if (key != "description" && key != "suite" && key != "variant" && key != "mirror")
        return fail(ctx.bad(node, key, "unknown key"));
    auto text = get_string(ctx, node, key);
    if (!text) return fail(text.error());
    if (key == "description") {
        r.description = std::move(*text);
    } else if (key == "suite") {
        if (!is_token(*text, "-."))
            return fail(ctx.bad(node, key, "expected a Debian suite such as \"bookworm\""));
        r.suite = std::move(*text);
    } else if (key == "variant") {
        if (std::none_of(std::begin(kVariants), std::end(kVariants),
                         [&](const char* v) { return *text == v; }))
            return fail(
                ctx.bad(node, key,
                        fmt::format("expected one of essential, apt, required, minbase, buildd, "
                                    "important, standard (got \"{}\")",
                                    *text)));
        r.variant = std::move(*text);
    } else if (key == "mirror") {
        // A URL or apt source line, passed to mmdebstrap as one argument; never an option.
        if (!text->empty() && text->front() == '-')
            return fail(ctx.bad(node, key,
                                "expected a mirror URL such as "
                                "\"http://deb.debian.org/debian\""));
        r.mirror = std::move(*text);
    }
    return {};
}

std::string stem_of(const std::string& file) { return fs::path(file).stem().string(); }

}  // namespace

std::vector<fs::path> recipe_search_dirs() {
    return util::config_search_dirs("rootfs", NSBOX_INSTALL_RECIPE_DIR);
}

Result<Recipe> parse_recipe(std::string_view text, const std::string& file) {
    auto doc = parse_toml(text, file);
    if (!doc) return fail(doc.error());
    Recipe recipe;
    recipe.path = file;
    recipe.name = stem_of(file);
    recipe.sha256 = util::sha256_hex(text);
    recipe.variant = "essential";
    recipe.components = {"main"};
    Ctx ctx{file, recipe};
    for (const auto& [name, node] : in_file_order(*doc)) {
        if (auto r = set_key(ctx, std::string(name->str()), *node); !r) return fail(r.error());
    }
    if (recipe.suite.empty()) return fail(Error::profile(file, 0, "suite", "missing"));
    if (recipe.packages.empty()) return fail(Error::profile(file, 0, "packages", "missing"));
    if (!is_valid_name(recipe.name)) {
        return fail(Error::profile(
            file, 0, {},
            fmt::format("\"{}\" cannot name a rootfs: use lower-case letters, digits, '.', '_' "
                        "and '-' in the file name",
                        recipe.name)));
    }
    return recipe;
}

Result<Recipe> load_recipe(std::string_view name_or_path, const std::vector<fs::path>& dirs) {
    fs::path file;
    if (util::looks_like_toml_path(name_or_path)) {
        file = fs::path(name_or_path);
    } else {
        if (!is_valid_name(name_or_path))
            return fail(Error::usage(fmt::format("\"{}\" is not a recipe name", name_or_path)));
        std::string searched;
        for (const fs::path& dir : dirs) {
            const fs::path candidate = dir / (std::string(name_or_path) + ".toml");
            std::error_code ec;
            if (fs::is_regular_file(candidate, ec)) {
                file = candidate;
                break;
            }
            searched += (searched.empty() ? "" : ", ") + dir.string();
        }
        if (file.empty()) {
            return fail(Error::usage(fmt::format("rootfs recipe \"{}\" not found (searched {})",
                                                 name_or_path, searched)));
        }
    }
    auto text = util::read_small_file(file, kMaxRecipeBytes);
    if (!text) {
        return fail(
            Error::profile(file.string(), 0, {}, "cannot read recipe: " + text.error().message()));
    }
    return parse_recipe(*text, file.string());
}

}  // namespace nsbox::rootfs
