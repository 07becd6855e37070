#!/usr/bin/env bash
# Sets everything up, then runs examples/whats_hidden.py twice: directly on the host, and in a
# fresh nsbox sandbox, so the difference is what the sandbox hides.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$ROOT/scripts/setup.sh" >&2
NSBOX=${NSBOX_BUILD_DIR:-$ROOT/build}/bin/nsbox

# A stand-in for the secrets a real shell holds: visible to anything you run directly.
export DEMO_API_TOKEN="demo-secret-$RANDOM$RANDOM"

echo "=== without a sandbox: python3 examples/whats_hidden.py ==="
python3 "$ROOT/examples/whats_hidden.py"
echo
echo "=== in a sandbox: nsbox run examples/whats_hidden.py ==="
"$NSBOX" run "$ROOT/examples/whats_hidden.py"
