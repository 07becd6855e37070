#!/usr/bin/env bash
# Start-up benchmark (not a test): one hyperfine run comparing the bare command, unshare,
# bubblewrap and nsbox side by side on /bin/true and on a hello-world Python script, then a
# table of medians and ratios to bare. Run it as an unprivileged user for the rootless numbers
# (as root it re-runs itself as NSBOX_BENCH_USER, default nsboxtest, when that user exists).
#   scripts/bench.sh [--runs N] [--markdown FILE]
#   scripts/bench.sh --cgroup [--runs N]   (as root) the cost of a sandbox cgroup, measured in
#                                          the VM of scripts/vm-test.sh: this host has no
#                                          cgroup v2 controllers
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=200
MARKDOWN=""
CGROUP=""
while (($#)); do
    case $1 in
        --runs) RUNS=$2; shift 2 ;;
        --markdown) MARKDOWN=$2; shift 2 ;;
        --cgroup) CGROUP=yes; shift ;;
        *) echo "usage: $0 [--runs N] [--markdown FILE] [--cgroup]" >&2; exit 2 ;;
    esac
done

if [[ -n $CGROUP ]]; then
    "$ROOT/scripts/setup.sh" hyperfine >&2
    exec "$ROOT/scripts/vm-test.sh" --bench "$RUNS" "${NSBOX_BUILD_DIR:-$ROOT/build}"
fi

if [[ $(id -u) -eq 0 && -z ${NSBOX_BENCH_AS_ROOT:-} ]]; then
    "$ROOT/scripts/setup.sh" hyperfine bubblewrap util-linux >&2
    BENCH_USER=${NSBOX_BENCH_USER:-nsboxtest}
    id "$BENCH_USER" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$BENCH_USER"
    WORK=$(mktemp -d /tmp/nsbox-bench.XXXXXX)
    mkdir -p "$WORK/bin" "$WORK/share/nsbox"
    cp "${NSBOX_BUILD_DIR:-$ROOT/build}/bin/nsbox" "$WORK/bin/"
    # The systemd scope helper, where nsbox looks for it (unused without cgroup v2 controllers).
    [[ -d ${NSBOX_BUILD_DIR:-$ROOT/build}/libexec ]] && cp -r "${NSBOX_BUILD_DIR:-$ROOT/build}/libexec" "$WORK/"
    cp -r "$ROOT/profiles" "$WORK/share/nsbox/"
    cp "$0" "$WORK/bench.sh"
    chmod -R a+rX "$WORK"
    trap 'rm -rf "$WORK"' EXIT
    args=(--runs "$RUNS")
    mkdir -m 1777 "$WORK/out"
    [[ -n $MARKDOWN ]] && args+=(--markdown "$WORK/out/table.md")
    # A login session's runtime directory, as pam_systemd makes it: where nsbox keeps compiled
    # seccomp filters between launches.
    RUNTIME_DIR=/run/user/$(id -u "$BENCH_USER")
    [[ -d $RUNTIME_DIR ]] || install -d -m 0700 -o "$BENCH_USER" -g "$BENCH_USER" "$RUNTIME_DIR"
    runuser -u "$BENCH_USER" -- env NSBOX_BENCH_BIN="$WORK/bin/nsbox" NSBOX_BENCH_AS_ROOT=no \
        XDG_RUNTIME_DIR="$RUNTIME_DIR" bash "$WORK/bench.sh" "${args[@]}"
    [[ -n $MARKDOWN ]] && cp "$WORK/out/table.md" "$MARKDOWN"
    exit 0
fi

NSBOX=${NSBOX_BENCH_BIN:-${NSBOX_BUILD_DIR:-$ROOT/build}/bin/nsbox}
for tool in hyperfine bwrap unshare python3; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (scripts/setup.sh hyperfine bubblewrap)" >&2; exit 1; }
done

DIR=$(mktemp -d /tmp/nsbox-bench-run.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
echo 'print("hello")' > "$DIR/hello.py"
cd "$DIR"

# bubblewrap configured like nsbox's default sandbox: new user/mount/pid/ipc/uts/net
# namespaces, read-only /usr with the merged-usr links, /proc, /dev, tmpfs /tmp, cleared env.
BWRAP="bwrap --unshare-all --die-with-parent --new-session --clearenv --setenv PATH /usr/bin:/bin \
--ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib --symlink usr/lib64 /lib64 \
--symlink usr/sbin /sbin --ro-bind /etc/ld.so.cache /etc/ld.so.cache --proc /proc --dev /dev \
--tmpfs /tmp --ro-bind $DIR /workspace --chdir /workspace"
UNSHARE="unshare -Urminpuf --mount-proc"

hyperfine --style none --warmup 10 --runs "$RUNS" -N --export-json "$DIR/true.json" \
    -n bare "/bin/true" \
    -n unshare "$UNSHARE /bin/true" \
    -n bubblewrap "$BWRAP /bin/true" \
    -n nsbox "$NSBOX run -- /bin/true" >/dev/null
hyperfine --style none --warmup 5 --runs "$((RUNS / 2))" -N --export-json "$DIR/python.json" \
    -n bare "python3 $DIR/hello.py" \
    -n unshare "$UNSHARE python3 $DIR/hello.py" \
    -n bubblewrap "$BWRAP python3 /workspace/hello.py" \
    -n nsbox "$NSBOX run $DIR/hello.py" >/dev/null

python3 - "$DIR/true.json" "$DIR/python.json" "$MARKDOWN" <<'PY'
import json, os, platform, statistics, sys

def medians(path):
    return {r["command"]: statistics.median(r["times"]) * 1000 for r in json.load(open(path))["results"]}

true_ms, py_ms = medians(sys.argv[1]), medians(sys.argv[2])
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
machine = f"{os.cpu_count()} cores, {cpu}, Linux {platform.release()}, as uid {os.getuid()}"
rows = ["| launcher | /bin/true median (ms) | ratio to bare | overhead (ms) | hello.py median (ms) | ratio to bare |",
        "|---|---:|---:|---:|---:|---:|"]
for name in ("bare", "unshare", "bubblewrap", "nsbox"):
    t, p = true_ms[name], py_ms[name]
    rows.append(f"| {name} | {t:.2f} | {t / true_ms['bare']:.2f}x | {t - true_ms['bare']:.2f} | "
                f"{p:.2f} | {p / py_ms['bare']:.2f}x |")
over = lambda n: true_ms[n] - true_ms["bare"]
summary = (f"nsbox overhead over bare on /bin/true: {over('nsbox'):.2f} ms = "
           f"{over('nsbox') / over('bubblewrap'):.2f}x bubblewrap's ({over('bubblewrap'):.2f} ms); "
           f"hello.py: nsbox {py_ms['nsbox']:.1f} ms vs unshare {py_ms['unshare']:.1f} ms")
text = "\n".join([f"Machine: {machine}", "", *rows, "", summary])
print(text)
if sys.argv[3]:
    open(sys.argv[3], "w").write(text + "\n")
PY
