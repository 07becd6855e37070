#!/usr/bin/env bash
# Sets everything up and runs every test suite: as root and again as an unprivileged user
# (created if missing), since rootless is how most people run nsbox.
#   scripts/test.sh            all suites
# Environment: NSBOX_TEST_USER (default nsboxtest), NSBOX_BUILD_DIR, NSBOX_CTEST_ARGS.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${NSBOX_BUILD_DIR:-$ROOT/build}
TEST_USER=${NSBOX_TEST_USER:-nsboxtest}
LABELS='unit|integration'

"$ROOT/scripts/setup.sh" python3-numpy

run_suites() {  # BUILD_DIR, as the current user
    ctest --test-dir "$1" -L "$LABELS" --output-on-failure -j2 ${NSBOX_CTEST_ARGS:-}
}

echo "== test suites as $(id -un) (uid $(id -u)) =="
run_suites "$BUILD_DIR"

if [[ $(id -u) -ne 0 ]]; then
    echo "== not root: the root run above was the rootless run; skipping the second pass =="
    exit 0
fi

id "$TEST_USER" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$TEST_USER"
# The unprivileged user needs its own readable checkout; a clone under /root is not one.
if runuser -u "$TEST_USER" -- test -r "$ROOT/CMakeLists.txt" -a -x "$BUILD_DIR/bin/nsbox"; then
    USER_BUILD=$BUILD_DIR
else
    STAGE=$(runuser -u "$TEST_USER" -- mktemp -d /tmp/nsbox-test-src.XXXXXX)
    trap 'rm -rf "$STAGE"' EXIT
    git -C "$ROOT" ls-files -z | (cd "$ROOT" && xargs -0 cp --parents -t "$STAGE")
    chown -R "$TEST_USER:" "$STAGE"
    USER_BUILD=$STAGE/build
    runuser -u "$TEST_USER" -- env NSBOX_BUILD_DIR="$USER_BUILD" "$STAGE/scripts/setup.sh" >/dev/null
fi
echo "== test suites as $TEST_USER (rootless) =="
runuser -u "$TEST_USER" -- env HOME="$(getent passwd "$TEST_USER" | cut -d: -f6)" \
    NSBOX_TEST_TMPDIR=/tmp ctest --test-dir "$USER_BUILD" -L "$LABELS" --output-on-failure -j2 \
    ${NSBOX_CTEST_ARGS:-}
