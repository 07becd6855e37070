// SHA-256 (nettle) as lower-case hex: recipe hashes and requirements-layer keys.
#pragma once

#include <string>
#include <string_view>

namespace nsbox::util {

std::string sha256_hex(std::string_view data);

}  // namespace nsbox::util
