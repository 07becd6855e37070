#!/usr/bin/env bash
# Static checks: clang-format (no diff), third-party headers kept to their one module each,
# and clang-tidy on the engine and CLI (needs a configured build dir for compile_commands.json).
#   scripts/lint.sh [--fix]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${NSBOX_BUILD_DIR:-$ROOT/build}
cd "$ROOT"
status=0

mapfile -t sources < <(git ls-files 'src/*.cpp' 'src/*.hpp' 'include/*.hpp' 'tests/*.cpp' 'tests/*.hpp')
if [[ ${1:-} == --fix ]]; then
    clang-format -i "${sources[@]}"
elif ! clang-format --dry-run --Werror "${sources[@]}"; then
    echo "lint: clang-format differences (run scripts/lint.sh --fix)" >&2
    status=1
fi

# Each third-party library is used by exactly one module (docs/architecture.md).
check_confined() {  # HEADER_REGEX ALLOWED_DIR_REGEX
    local hits
    hits=$(git grep -lE "#include <($1)" -- src include | grep -vE "^($2)/" || true)
    if [[ -n $hits ]]; then
        echo "lint: <$1> included outside $2: $hits" >&2
        status=1
    fi
}
check_confined 'CLI/' src/cli
# The rootfs store owns its JSON formats (manifest.json, layer.json); its TOML recipes are read
# through src/spec's toml_doc.
check_confined 'toml\+\+/' src/spec
# nsbox serve owns its HTTP API's JSON and the worker's result message.
check_confined 'nlohmann/' 'src/report|src/rootfs|src/serve'
check_confined 'microhttpd\.h' src/serve
check_confined 'seccomp\.h' src/security
check_confined 'sys/capability\.h' src/security
check_confined 'systemd/' src/systemd

if [[ -f $BUILD_DIR/compile_commands.json ]]; then
    mapfile -t units < <(git ls-files 'src/*.cpp')
    if ! clang-tidy -p "$BUILD_DIR" --quiet "${units[@]}" 2>/dev/null | grep -E "warning:|error:"; then
        :
    else
        echo "lint: clang-tidy findings above" >&2
        status=1
    fi
fi
exit $status
