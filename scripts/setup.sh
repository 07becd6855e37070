#!/usr/bin/env bash
# Installs what nsbox needs to build (idempotently, from Debian packages) and builds it.
#   scripts/setup.sh [EXTRA_PACKAGE...]
# Environment: NSBOX_BUILD_DIR (default: build), NSBOX_BUILD_TYPE (default: RelWithDebInfo),
# NSBOX_CMAKE_ARGS (extra cmake arguments).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${NSBOX_BUILD_DIR:-$ROOT/build}
BUILD_PACKAGES=(g++ cmake make pkg-config libseccomp-dev libcap-dev libcli11-dev
                libtomlplusplus-dev libexpected-dev libfmt-dev nlohmann-json3-dev googletest
                libgtest-dev libsystemd-dev nettle-dev libmicrohttpd-dev python3)

install_packages() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$pkg")
    done
    ((${#missing[@]})) || return 0
    if [[ $(id -u) -ne 0 ]]; then
        echo "nsbox setup: missing packages: ${missing[*]}" >&2
        echo "nsbox setup: install them as root: apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    echo "nsbox setup: installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_packages "${BUILD_PACKAGES[@]}" "$@"

# shellcheck disable=SC2086
cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="${NSBOX_BUILD_TYPE:-RelWithDebInfo}" \
    ${NSBOX_CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
