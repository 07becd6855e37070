#!/usr/bin/env bash
# Sets everything up and runs every test suite: lint, the unit and integration suites (with a
# real rootfs build: mmdebstrap, Debian's mirror) and the escape catalog as root, the suites
# again under AddressSanitizer and UndefinedBehaviorSanitizer,
# suites and catalog again as an unprivileged user (created if missing), since rootless is how
# most people run nsbox, and the cgroup v2 stage in a VM (scripts/vm-test.sh), since this
# machine's controllers are bound to cgroup v1.
#   scripts/test.sh
# Environment: NSBOX_TEST_USER (default nsboxtest), NSBOX_BUILD_DIR, NSBOX_CTEST_ARGS,
# NSBOX_SKIP_SANITIZERS=1 to skip the sanitizer build, NSBOX_VM_CACHE (where the VM kernel is
# kept, default /var/cache/nsbox-vm), NSBOX_ESCAPE_CATALOG (default
# ../shared/escape next to the checkout, then /work/shared/escape).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${NSBOX_BUILD_DIR:-$ROOT/build}
TEST_USER=${NSBOX_TEST_USER:-nsboxtest}
LABELS='unit|integration'
# The escape catalog lives next to the checkout; CI must run it, so its absence is an error.
# Looked for next to the checkout, then at the shared location of the project's machines.
if [[ -z ${NSBOX_ESCAPE_CATALOG:-} ]]; then
    for candidate in "$(cd "$ROOT/.." && pwd)/shared/escape" /work/shared/escape; do
        [[ -f $candidate/run.py ]] && { NSBOX_ESCAPE_CATALOG=$candidate; break; }
    done
fi
CATALOG=${NSBOX_ESCAPE_CATALOG:-}
[[ -n $CATALOG && -f $CATALOG/run.py ]] || {
    echo "escape catalog not found next to the checkout or in /work/shared/escape" \
        "(set NSBOX_ESCAPE_CATALOG)" >&2
    exit 1
}

NSBOX_CMAKE_ARGS="${NSBOX_CMAKE_ARGS:-} -DNSBOX_ESCAPE_CATALOG=$CATALOG" \
    "$ROOT/scripts/setup.sh" python3-numpy python3-pytest vim-tiny git clang-format clang-tidy \
    mmdebstrap uidmap

run_suites() {  # BUILD_DIR, as the current user
    ctest --test-dir "$1" -L "$LABELS" --output-on-failure -j2 ${NSBOX_CTEST_ARGS:-}
}

run_escape() {  # BUILD_DIR: the catalog takes minutes and runs alone (resource probes)
    ctest --test-dir "$1" -L escape --output-on-failure ${NSBOX_CTEST_ARGS:-}
}

echo "== lint =="
NSBOX_BUILD_DIR="$BUILD_DIR" "$ROOT/scripts/lint.sh"

echo "== test suites as $(id -un) (uid $(id -u)) =="
run_suites "$BUILD_DIR"
echo "== escape catalog as $(id -un) =="
run_escape "$BUILD_DIR"

if [[ -z ${NSBOX_SKIP_SANITIZERS:-} ]]; then
    echo "== test suites under AddressSanitizer + UndefinedBehaviorSanitizer =="
    NSBOX_BUILD_DIR="$BUILD_DIR-sanitize" NSBOX_BUILD_TYPE=Debug \
        NSBOX_CMAKE_ARGS="-DNSBOX_SANITIZE=address,undefined" "$ROOT/scripts/setup.sh" >/dev/null
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        run_suites "$BUILD_DIR-sanitize"
fi

if [[ $(id -u) -ne 0 ]]; then
    echo "== not root: the root run above was the rootless run; skipping the second pass =="
    exit 0
fi

id "$TEST_USER" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$TEST_USER"
# The unprivileged user builds and tests its own copy of the tree: a checkout under /root is
# not readable to it, and ctest must be able to write into its build directory.
STAGE=$(runuser -u "$TEST_USER" -- mktemp -d /tmp/nsbox-test-src.XXXXXX)
trap 'rm -rf "$STAGE"' EXIT
tar -C "$ROOT" --exclude=./.git --exclude='./build*' -cf - . | tar -C "$STAGE" -xf -
chown -R "$TEST_USER:" "$STAGE"
USER_BUILD=$STAGE/build
echo "== building as $TEST_USER in $STAGE =="
runuser -u "$TEST_USER" -- env NSBOX_BUILD_DIR="$USER_BUILD" \
    NSBOX_CMAKE_ARGS="-DNSBOX_ESCAPE_CATALOG=$CATALOG" "$STAGE/scripts/setup.sh" >/dev/null
echo "== test suites as $TEST_USER (rootless) =="
USER_HOME=$(getent passwd "$TEST_USER" | cut -d: -f6)
runuser -u "$TEST_USER" -- env HOME="$USER_HOME" \
    NSBOX_TEST_TMPDIR=/tmp ctest --test-dir "$USER_BUILD" -L "$LABELS" --output-on-failure -j2 \
    ${NSBOX_CTEST_ARGS:-}
echo "== escape catalog as $TEST_USER (rootless) =="
runuser -u "$TEST_USER" -- env HOME="$USER_HOME" \
    ctest --test-dir "$USER_BUILD" -L escape --output-on-failure ${NSBOX_CTEST_ARGS:-}

# The user's build, which the guest runs both as root and as the user.
echo "== cgroup v2 limits in a VM, as root and as $TEST_USER with a delegated cgroup =="
NSBOX_ESCAPE_CATALOG="$CATALOG" "$STAGE/scripts/vm-test.sh" "$USER_BUILD"
