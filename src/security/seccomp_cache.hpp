// Compiled seccomp programs kept per policy between launches. libseccomp takes about 4 ms of
// every launch to generate the default policy's BPF; reading it back takes microseconds.
//
// The cache lives in the user's runtime directory ($XDG_RUNTIME_DIR/nsbox, mode 0700; for root
// /run/nsbox): per boot, private to the user, and not a place people bind into a sandbox. A
// cache that is missing, foreign-owned, group- or world-accessible is not used. An entry holds
// its full key (the policy, the libseccomp version and this very nsbox binary), compared in
// full on every load, so a rebuilt nsbox or a changed policy never picks up another's program.
#pragma once

#include <linux/filter.h>

#include <optional>
#include <string>
#include <vector>

#include "security/seccomp_policy.hpp"

namespace nsbox::security {

// Everything the program depends on, as text.
std::string filter_cache_key(const SeccompPolicy& policy, bool notify);

// The cache directory, created if needed, or nullopt when there is no trustworthy one.
std::optional<std::string> filter_cache_dir();

std::optional<std::vector<sock_filter>> load_cached_filter(const std::string& dir,
                                                           const std::string& key);
// Best effort: a failure only means the next launch compiles again.
void store_cached_filter(const std::string& dir, const std::string& key,
                         const std::vector<sock_filter>& program);

}  // namespace nsbox::security
