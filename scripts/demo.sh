#!/usr/bin/env bash
# Sets everything up, then shows nsbox at work:
#   1. examples/whats_hidden.py directly on the host, then in a fresh sandbox: the difference is
#      what the sandbox hides;
#   2. the seed workflow (examples/seed): a requirements file installed into a cached layer, an
#      .env file, a script, the files it wrote exported: Docker's "build once, run isolated"
#      without Docker.
# The sandboxes run in the prepared "python" rootfs, built here the first time (about a minute,
# then cached in nsbox's store); where it cannot be built (no mmdebstrap, no subordinate ids),
# the demo says why and uses the host's /usr instead.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EXTRA=()
[[ $(id -u) -eq 0 ]] && EXTRA=(mmdebstrap uidmap)
"$ROOT/scripts/setup.sh" "${EXTRA[@]}" >&2
NSBOX=${NSBOX_BUILD_DIR:-$ROOT/build}/bin/nsbox
WORK=$(mktemp -d /tmp/nsbox-demo.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

ROOTFS=python
if "$NSBOX" rootfs path python >/dev/null 2>&1; then
    echo "=== using the prepared rootfs \"python\" (built earlier: $("$NSBOX" rootfs path python)) ==="
else
    echo "=== building the prepared rootfs \"python\" (once; cached for every later run) ==="
    if ! "$NSBOX" rootfs build python; then
        echo "(could not build it; the sandboxes below use the host's /usr instead)"
        ROOTFS=host
    fi
fi
echo

# A stand-in for the secrets a real shell holds: visible to anything you run directly.
export DEMO_API_TOKEN="demo-secret-$RANDOM$RANDOM"

echo "=== without a sandbox: python3 examples/whats_hidden.py ==="
python3 "$ROOT/examples/whats_hidden.py"
echo
echo "=== in a sandbox: nsbox run --rootfs $ROOTFS examples/whats_hidden.py ==="
"$NSBOX" run -q --rootfs "$ROOTFS" --report "$WORK/report.json" "$ROOT/examples/whats_hidden.py"
python3 - "$WORK/report.json" <<'PY'
import json, sys
sandbox = json.load(open(sys.argv[1]))["sandbox"]
print(f"(ran in the {sandbox['rootfs_kind']} rootfs {sandbox['rootfs_name'] or sandbox['rootfs']})")
PY

if [[ $ROOTFS == host ]]; then
    echo
    echo "(the seed workflow needs a prepared rootfs: see README.md, \"Prepared root filesystems\")"
    exit 0
fi
echo
echo "=== the seed workflow: requirements + .env + script, in the prepared rootfs ==="
python3 "$ROOT/examples/seed/make_wheelhouse.py" "$WORK/wheels" >/dev/null
SEED=(run --rootfs python --requirements "$ROOT/examples/seed/requirements.txt"
      --find-links "$WORK/wheels" --no-index --env-file "$ROOT/examples/seed/.env"
      --output "$WORK/out" "$ROOT/examples/seed/run.py")
echo "\$ nsbox ${SEED[*]}"
"$NSBOX" "${SEED[@]}"
echo "files the script wrote, exported with --output: $(cd "$WORK/out" && ls)"
