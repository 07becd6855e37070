#!/usr/bin/env bash
# Prepared-rootfs benchmark (not a test): build time and size of each recipe in rootfs/, the
# time to build a requirements layer from a local wheelhouse and to reuse it, and one hyperfine
# run of hello.py side by side: bare python3, bubblewrap on the host's /usr, nsbox on the host
# rootfs, nsbox on the prepared "python" rootfs, and with a requirements layer. Rootless: as
# root it re-runs itself as NSBOX_BENCH_USER (default nsboxtest). Builds go to a private store
# that is removed afterwards; the network (Debian's mirror) is needed.
#   scripts/bench-rootfs.sh [--runs N] [--recipes "python python-sci"] [--markdown FILE]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=100
RECIPES="python python-sci"
MARKDOWN=""
while (($#)); do
    case $1 in
        --runs) RUNS=$2; shift 2 ;;
        --recipes) RECIPES=$2; shift 2 ;;
        --markdown) MARKDOWN=$2; shift 2 ;;
        *) echo "usage: $0 [--runs N] [--recipes \"NAME...\"] [--markdown FILE]" >&2; exit 2 ;;
    esac
done

if [[ $(id -u) -eq 0 && -z ${NSBOX_BENCH_AS_ROOT:-} ]]; then
    "$ROOT/scripts/setup.sh" hyperfine bubblewrap mmdebstrap uidmap >&2
    BENCH_USER=${NSBOX_BENCH_USER:-nsboxtest}
    id "$BENCH_USER" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$BENCH_USER"
    WORK=$(mktemp -d /tmp/nsbox-bench.XXXXXX)
    trap 'rm -rf "$WORK"' EXIT
    mkdir -p "$WORK/bin" "$WORK/share/nsbox" "$WORK/examples"
    cp "${NSBOX_BUILD_DIR:-$ROOT/build}/bin/nsbox" "$WORK/bin/"
    cp -r "$ROOT/profiles" "$ROOT/rootfs" "$WORK/share/nsbox/"
    cp -r "$ROOT/examples/seed" "$WORK/examples/"
    cp "$0" "$WORK/bench-rootfs.sh"
    mkdir -m 1777 "$WORK/out"
    chmod -R a+rX "$WORK"
    args=(--runs "$RUNS" --recipes "$RECIPES")
    [[ -n $MARKDOWN ]] && args+=(--markdown "$WORK/out/table.md")
    RUNTIME_DIR=/run/user/$(id -u "$BENCH_USER")
    [[ -d $RUNTIME_DIR ]] || install -d -m 0700 -o "$BENCH_USER" -g "$BENCH_USER" "$RUNTIME_DIR"
    runuser -u "$BENCH_USER" -- env NSBOX_BENCH_BIN="$WORK/bin/nsbox" NSBOX_BENCH_AS_ROOT=no \
        NSBOX_BENCH_EXAMPLES="$WORK/examples" XDG_RUNTIME_DIR="$RUNTIME_DIR" \
        bash "$WORK/bench-rootfs.sh" "${args[@]}"
    [[ -n $MARKDOWN ]] && cp "$WORK/out/table.md" "$MARKDOWN"
    exit 0
fi

NSBOX=${NSBOX_BENCH_BIN:-${NSBOX_BUILD_DIR:-$ROOT/build}/bin/nsbox}
EXAMPLES=${NSBOX_BENCH_EXAMPLES:-$ROOT/examples}
for tool in hyperfine bwrap mmdebstrap python3; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (scripts/setup.sh hyperfine bubblewrap mmdebstrap uidmap)" >&2; exit 1; }
done

DIR=$(mktemp -d /tmp/nsbox-bench-rootfs.XXXXXX)
chmod 755 "$DIR"  # a rootless build's subordinate ids must pass through it
export NSBOX_ROOTFS_DIR=$DIR/store
cleanup() {
    for name in $RECIPES; do "$NSBOX" rootfs rm "$name" >/dev/null 2>&1 || true; done
    rm -rf "$DIR"
}
trap cleanup EXIT
cd "$DIR"
echo 'print("hello")' > hello.py

now() { date +%s.%N; }
seconds() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$2"; }
manifest() { python3 -c "import json, sys; m = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$NSBOX_ROOTFS_DIR/$1/manifest.json" "$2"; }

BUILD_ROWS=()
for name in $RECIPES; do
    echo "== building $name ==" >&2
    start=$(now)
    "$NSBOX" rootfs build -q "$name"
    took=$(seconds "$start" "$(now)")
    size=$(manifest "$name" 'round(m["size_bytes"] / 2**20)')
    packages=$(manifest "$name" 'len(m["packages"])')
    BUILD_ROWS+=("| $name | $took | $size | $packages |")
done

echo "== requirements layer ==" >&2
python3 "$EXAMPLES/seed/make_wheelhouse.py" "$DIR/wheels" >/dev/null
cp "$EXAMPLES/seed/requirements.txt" "$DIR/requirements.txt"
LAYER=(--rootfs python --requirements "$DIR/requirements.txt" --find-links "$DIR/wheels" --no-index)
start=$(now)
"$NSBOX" run -q "${LAYER[@]}" -- python3 -c 'import textstats'
first=$(seconds "$start" "$(now)")
start=$(now)
"$NSBOX" run -q "${LAYER[@]}" -- python3 -c 'import textstats'
second=$(seconds "$start" "$(now)")

echo "== start-up: hello.py ==" >&2
BWRAP="bwrap --unshare-all --die-with-parent --new-session --clearenv --setenv PATH /usr/bin:/bin \
--ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib --symlink usr/lib64 /lib64 \
--symlink usr/sbin /sbin --ro-bind /etc/ld.so.cache /etc/ld.so.cache --proc /proc --dev /dev \
--tmpfs /tmp --ro-bind $DIR /workspace --chdir /workspace"
hyperfine --style none --warmup 5 --runs "$RUNS" -N --export-json "$DIR/hello.json" \
    -n bare "python3 $DIR/hello.py" \
    -n "bubblewrap (host /usr)" "$BWRAP python3 /workspace/hello.py" \
    -n "nsbox, host rootfs" "$NSBOX run -q $DIR/hello.py" \
    -n "nsbox, prepared python" "$NSBOX run -q --rootfs python $DIR/hello.py" \
    -n "nsbox, python + requirements layer" "$NSBOX run -q ${LAYER[*]} $DIR/hello.py" >/dev/null

{
    echo "Machine: $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB, Linux $(uname -r), run rootless as uid $(id -u), $(date -u +%Y-%m-%d)"
    echo
    echo "| recipe | build (s) | size (MiB) | packages |"
    echo "|---|---:|---:|---:|"
    printf '%s\n' "${BUILD_ROWS[@]}"
    echo
    echo "| requirements layer (examples/seed, one wheel, --no-index) | seconds |"
    echo "|---|---:|"
    echo "| first run: pip in its sandbox, layer kept, then the run | $first |"
    echo "| second run: the layer reused | $second |"
    echo
    python3 - "$DIR/hello.json" <<'PY'
import json, statistics, sys
results = json.load(open(sys.argv[1]))["results"]
bare = statistics.median(results[0]["times"]) * 1000
print("| hello.py | median (ms) | ratio to bare |")
print("|---|---:|---:|")
for r in results:
    median = statistics.median(r["times"]) * 1000
    print(f"| {r['command']} | {median:.2f} | {median / bare:.2f}x |")
PY
} | tee "${MARKDOWN:-/dev/null}"
