#!/usr/bin/env bash
# Code-execution service benchmark (not a test): requests per second and p50/p99 latency of
# nsbox serve (a fresh sandbox per request, from its pool of pre-started sandboxes) side by side
# with a minimal Flask server (Debian's python3-flask) that runs each request's code in a plain
# subprocess with no isolation at all: the usual Docker-hosted design without its container,
# so the comparison is generous to Flask. Both listen on loopback TCP; the same client drives
# both with keep-alive connections.
#   scripts/bench-serve.sh [--requests N] [--markdown FILE]
# Workloads: print(1), and code that imports json and writes a file (returned base64).
# Concurrency 1, 4 and 16 in a closed loop (each client sends its next request at once), then
# paced: one client that waits 250 ms between requests, as an agent does between tool calls
# (its model runs in between), where latency, not throughput, is what the agent sees. nsbox serve runs with --limits best-effort where the host cannot
# enforce the serve profile's limits (cgroup v1 hosts like this one).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${NSBOX_BUILD_DIR:-$ROOT/build}
REQUESTS=300
MARKDOWN=""
while (($#)); do
    case $1 in
        --requests) REQUESTS=$2; shift 2 ;;
        --markdown) MARKDOWN=$2; shift 2 ;;
        *) echo "usage: $0 [--requests N] [--markdown FILE]" >&2; exit 2 ;;
    esac
done
PY=/usr/bin/python3  # Debian's, as inside the sandboxes, for the server, its subprocesses and the client
if ! $PY -c 'import flask' 2>/dev/null; then
    [[ $(id -u) -eq 0 ]] || { echo "bench-serve.sh: needs python3-flask (apt-get install python3-flask)" >&2; exit 1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-flask >/dev/null
fi
for tool in hyperfine bwrap; do
    command -v $tool >/dev/null && continue
    [[ $(id -u) -eq 0 ]] || { echo "bench-serve.sh: needs $tool (apt-get install ${tool/bwrap/bubblewrap})" >&2; exit 1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${tool/bwrap/bubblewrap}" >/dev/null
done
[[ -x $BUILD/bin/nsbox-serve ]] || "$ROOT/scripts/setup.sh" >/dev/null

WORK=$(mktemp -d /tmp/nsbox-bench-serve.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

cat >"$WORK/flask_baseline.py" <<'PY'
# The baseline: run the code in a subprocess in a temporary directory, return its output and
# the files it wrote, base64-encoded.
import base64, os, subprocess, sys, tempfile
from flask import Flask, jsonify, request

app = Flask(__name__)

@app.post("/v1/execute")
def execute():
    body = request.get_json()
    with tempfile.TemporaryDirectory() as workdir:
        try:
            run = subprocess.run([sys.executable, "-c", body["code"]], cwd=workdir,
                                 capture_output=True, text=True, timeout=30)
            code, out, err = run.returncode, run.stdout, run.stderr
        except subprocess.TimeoutExpired:
            code, out, err = 124, "", "timeout"
        files = {}
        for name in os.listdir(workdir):
            with open(os.path.join(workdir, name), "rb") as f:
                files[name] = base64.b64encode(f.read()).decode()
    return jsonify(success=code == 0, exit_code=code, stdout=out, stderr=err, files=files)

if __name__ == "__main__":
    import logging
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app.run(host="127.0.0.1", port=int(sys.argv[1]), threaded=True)
PY

cat >"$WORK/load.py" <<'PY'
# Load: C threads, each with its own keep-alive connection, N requests in all; each thread
# waits PAUSE seconds after each answer (0: a closed loop).
import http.client, json, statistics, sys, threading, time
host, port, token, concurrency, total, code = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
    int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
pause = float(sys.argv[7]) if len(sys.argv) > 7 else 0.0
body = json.dumps({"code": code}).encode()
headers = {"Content-Type": "application/json"}
if token:
    headers["Authorization"] = "Bearer " + token
latencies, errors, lock = [], [], threading.Lock()
left = [total]

def worker():
    conn = http.client.HTTPConnection(host, port, timeout=60)
    while True:
        with lock:
            if left[0] == 0:
                return
            left[0] -= 1
        start = time.perf_counter()
        conn.request("POST", "/v1/execute", body=body, headers=headers)
        response = conn.getresponse()
        doc = json.loads(response.read())
        elapsed = time.perf_counter() - start
        with lock:
            if response.status != 200 or not doc.get("success"):
                errors.append(response.status)
            latencies.append(elapsed * 1000)
        time.sleep(pause)

# Warm-up outside the measurement.
warm = http.client.HTTPConnection(host, port, timeout=60)
for _ in range(5):
    warm.request("POST", "/v1/execute", body=body, headers=headers)
    warm.getresponse().read()
threads = [threading.Thread(target=worker) for _ in range(concurrency)]
start = time.perf_counter()
for t in threads:
    t.start()
for t in threads:
    t.join()
wall = time.perf_counter() - start
latencies.sort()
p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
print(json.dumps({"rps": total / wall, "p50": statistics.median(latencies), "p99": p99,
                  "errors": len(errors)}))
PY

port_of() {  # FILE: waits for a "listening on HOST:PORT" line
    for _ in $(seq 100); do
        grep -o 'listening on [0-9.]*:[0-9]*' "$1" 2>/dev/null | head -n1 | sed 's/.*://' && return
        sleep 0.1
    done
    echo "server did not start: $(cat "$1")" >&2
    exit 1
}

token=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
(umask 077 && echo "$token" >"$WORK/token")
limits=()
"$BUILD/bin/nsbox" serve --listen unix:"$WORK/probe.sock" --pool 0 >/dev/null 2>"$WORK/probe.log" &
probe=$!
sleep 2
if ! kill -0 "$probe" 2>/dev/null; then limits=(--limits best-effort); else kill "$probe"; wait "$probe" || true; fi
"$BUILD/bin/nsbox" serve "${limits[@]}" --listen 127.0.0.1:0 --token-file "$WORK/token" \
    --queue 64 2>"$WORK/nsbox.log" &
pids+=($!)
nsbox_port=$(port_of "$WORK/nsbox.log")
flask_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
$PY "$WORK/flask_baseline.py" "$flask_port" 2>"$WORK/flask.log" &
pids+=($!)
for _ in $(seq 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $flask_port), 1)" 2>/dev/null && break
    sleep 0.1
done

declare -A workload=(
    [print]='print(1)'
    [json+file]=$'import json\nopen("out.json", "w").write(json.dumps({"a": list(range(100))}))\nprint("ok")'
)
printf 'machine: %s, %s CPUs, %s; %s requests per cell; %s\n' "$(uname -r)" "$(nproc)" \
    "$(id -un)" "$REQUESTS" "${limits[*]:-limits enforced}"
rows=()
header="| workload | concurrency | nsbox req/s | Flask req/s | ratio | nsbox p50 ms | Flask p50 ms | nsbox p99 ms | Flask p99 ms |"
for name in print json+file; do
    for c in 1 4 16; do
        n=$($PY "$WORK/load.py" 127.0.0.1 "$nsbox_port" "$token" "$c" "$REQUESTS" "${workload[$name]}")
        f=$($PY "$WORK/load.py" 127.0.0.1 "$flask_port" "" "$c" "$REQUESTS" "${workload[$name]}")
        rows+=("$($PY - "$name" "$c" "$n" "$f" <<'PY'
import json, sys
name, c, n, f = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
bad = f" (errors: nsbox {n['errors']}, Flask {f['errors']})" if n["errors"] or f["errors"] else ""
print(f"| {name} | {c} | {n['rps']:.1f} | {f['rps']:.1f} | {n['rps'] / f['rps']:.2f}x | "
      f"{n['p50']:.1f} | {f['p50']:.1f} | {n['p99']:.1f} | {f['p99']:.1f} |{bad}")
PY
)")
        echo "${rows[-1]}"
    done
done
paced_header="| paced workload (250 ms between requests) | nsbox p50 ms | Flask p50 ms | nsbox p99 ms | Flask p99 ms |"
paced_rows=()
paced_requests=$((REQUESTS / 3))
for name in print json+file; do
    n=$($PY "$WORK/load.py" 127.0.0.1 "$nsbox_port" "$token" 1 "$paced_requests" "${workload[$name]}" 0.25)
    f=$($PY "$WORK/load.py" 127.0.0.1 "$flask_port" "" 1 "$paced_requests" "${workload[$name]}" 0.25)
    paced_rows+=("$($PY - "$name" "$n" "$f" <<'PY'
import json, sys
name, n, f = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
bad = f" (errors: nsbox {n['errors']}, Flask {f['errors']})" if n["errors"] or f["errors"] else ""
print(f"| {name} | {n['p50']:.1f} | {f['p50']:.1f} | {n['p99']:.1f} | {f['p99']:.1f} |{bad}")
PY
)")
    echo "${paced_rows[-1]}"
done

# The floor under both: what one request's interpreter and sandbox cost, and how much two CPUs
# gain from running two interpreters at once (a closed loop is bound by the work per request
# divided by that gain).
floor_json="$WORK/floor.json"
hyperfine --style none --warmup 5 --runs 40 -N --export-json "$floor_json" \
    -n "python3 -c pass" "$PY -c pass" \
    -n "two at once" "sh -c '$PY -c pass & $PY -c pass; wait'" \
    -n "nsbox run, serve profile" \
    "$BUILD/bin/nsbox run -q --profile serve ${limits[*]} -- $PY -c pass" \
    -n "bubblewrap" "bwrap --unshare-all --ro-bind /usr /usr --symlink usr/lib /lib \
        --symlink usr/lib64 /lib64 --symlink usr/bin /bin --proc /proc --dev /dev $PY -c pass" \
    >/dev/null
floor=$($PY - "$floor_json" <<'PY'
import json, statistics, sys
r = {x["command"]: statistics.median(x["times"]) * 1000 for x in json.load(open(sys.argv[1]))["results"]}
one, two = r["python3 -c pass"], r["two at once"]
print(f"| python3 -c pass | {one:.1f} |")
print(f"| two python3 -c pass at once | {two:.1f} (parallel gain {2 * one / two:.2f}x of 2) |")
print(f"| nsbox run --profile serve -- python3 -c pass | {r['nsbox run, serve profile']:.1f} |")
print(f"| bwrap --unshare-all ... python3 -c pass | {r['bubblewrap']:.1f} |")
PY
)
echo "$floor"
if [[ -n $MARKDOWN ]]; then
    { echo "$header"; echo "|---|---|---|---|---|---|---|---|---|"; printf '%s\n' "${rows[@]}"
      echo; echo "$paced_header"; echo "|---|---|---|---|---|"; printf '%s\n' "${paced_rows[@]}"
      echo; echo "| floor (hyperfine, median of 40) | ms |"; echo "|---|---|"; echo "$floor"; } >"$MARKDOWN"
fi
