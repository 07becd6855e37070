// SHA-256 through nettle (see sha256.hpp).
#include "util/sha256.hpp"

#include <nettle/sha2.h>

#include <array>

namespace nsbox::util {

std::string sha256_hex(std::string_view data) {
    sha256_ctx ctx{};
    sha256_init(&ctx);
    sha256_update(&ctx, data.size(), reinterpret_cast<const std::uint8_t*>(data.data()));
    std::array<std::uint8_t, SHA256_DIGEST_SIZE> digest{};
    sha256_digest(&ctx, digest.size(), digest.data());
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(digest.size() * 2);
    for (const std::uint8_t byte : digest) {
        out.push_back(kHex[byte >> 4]);
        out.push_back(kHex[byte & 0xf]);
    }
    return out;
}

}  // namespace nsbox::util
