// profiles/default.toml as compiled into the binary, used when no default.toml is installed.
#pragma once

namespace nsbox {

extern const char* const kEmbeddedDefaultProfile;
inline constexpr const char* kEmbeddedDefaultName = "(built-in)/default.toml";

}  // namespace nsbox
