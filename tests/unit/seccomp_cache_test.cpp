// Unit tests for the compiled-filter cache: an entry is used only by the same key, only when
// private to this user, and a damaged or foreign entry falls back to compiling.
#include "security/seccomp_cache.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "security/seccomp_compile.hpp"
#include "temp_dir.hpp"

namespace nsbox::security {
namespace {

namespace fs = std::filesystem;
using testing_support::TempDir;

std::vector<sock_filter> sample_program() {
    return {{0x20, 0, 0, 4}, {0x15, 0, 1, 0xc000003e}, {0x06, 0, 0, 0x7fff0000}};
}

bool same(const std::vector<sock_filter>& a, const std::vector<sock_filter>& b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [](const sock_filter& x, const sock_filter& y) {
                                                  return x.code == y.code && x.jt == y.jt &&
                                                         x.jf == y.jf && x.k == y.k;
                                              });
}

fs::path only_entry(const fs::path& dir) {
    fs::path found;
    for (const auto& e : fs::directory_iterator(dir)) found = e.path();
    return found;
}

TEST(SeccompCache, StoredProgramLoadsBackForTheSameKeyOnly) {
    TempDir dir;
    store_cached_filter(dir.str(), "key A", sample_program());
    const auto loaded = load_cached_filter(dir.str(), "key A");
    ASSERT_TRUE(loaded);
    EXPECT_TRUE(same(*loaded, sample_program()));
    EXPECT_FALSE(load_cached_filter(dir.str(), "key B"));
}

TEST(SeccompCache, AnEntryOthersCouldWriteIsIgnored) {
    TempDir dir;
    store_cached_filter(dir.str(), "key", sample_program());
    ::chmod(only_entry(dir.path()).c_str(), 0666);
    EXPECT_FALSE(load_cached_filter(dir.str(), "key"));
}

TEST(SeccompCache, ADamagedEntryIsIgnored) {
    TempDir dir;
    store_cached_filter(dir.str(), "key", sample_program());
    const fs::path entry = only_entry(dir.path());
    fs::resize_file(entry, fs::file_size(entry) - 3);  // no longer whole instructions
    EXPECT_FALSE(load_cached_filter(dir.str(), "key"));
}

TEST(SeccompCache, AnEntryWithAnotherKeyUnderTheSameNameIsIgnored) {
    TempDir dir;
    store_cached_filter(dir.str(), "key", sample_program());
    const fs::path entry = only_entry(dir.path());
    std::ofstream(entry, std::ios::binary | std::ios::trunc)
        << "nsbox-seccomp-cache 1\nother" << '\0' << std::string(24, 'x');
    EXPECT_FALSE(load_cached_filter(dir.str(), "key"));
}

TEST(SeccompCache, KeyCoversThePolicyAndTheNotifyMode) {
    SeccompPolicy policy;
    policy.rules = {{"read", Verdict::kAllow, Condition::kNone, 0}};
    const std::string base = filter_cache_key(policy, true);
    EXPECT_NE(base, filter_cache_key(policy, false));
    policy.rules[0].verdict = Verdict::kDeny;
    EXPECT_NE(base, filter_cache_key(policy, true));
    policy.rules[0].verdict = Verdict::kAllow;
    policy.action = SeccompAction::kKill;
    EXPECT_NE(base, filter_cache_key(policy, true));
}

}  // namespace
}  // namespace nsbox::security
