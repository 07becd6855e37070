// Result<T>: the engine's error model. Library code returns values, not exceptions, because a
// launcher failure is an ordinary outcome that must reach the JSON report as data.
#pragma once

#include <tl/expected.hpp>

#include "nsbox/error.hpp"

namespace nsbox {

template <class T>
using Result = tl::expected<T, Error>;

// Shorthand for `return fail(Error{...});` at error sites.
inline tl::unexpected<Error> fail(Error error) { return tl::unexpected<Error>(std::move(error)); }

}  // namespace nsbox
