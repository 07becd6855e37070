#!/usr/bin/env python3
"""Runs the shared escape catalog and nsbox's own probes against nsbox's default profile and
fails unless every probe is contained.

    check_catalog.py --nsbox BUILD/bin/nsbox --catalog DIR [--json OUT] [--only IDS] [--via-serve]

--via-serve sends every probe through `nsbox serve` (its "serve" profile) with the Python
client of integrations/python, instead of `nsbox run`.

A resource probe may escape only where the host cannot enforce the limit it attacks (a memory
bomb on a host whose memory controller is bound to cgroup v1): nsbox's own report says which
limits it enforces here, and the check prints the reason. With NSBOX_EXPECT_CGROUP=1 (the VM
stage) every limit must be enforced. Any other escape, and any "n/a" verdict, fails the run:
n/a means the probe could not decide, which for a sandbox under test usually means breakage.
Exit status: 0 pass, 1 fail, 77 the catalog is missing (ctest reports the test as skipped).
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import threading

# The limit each resource probe attacks.
LIMIT_OF_PROBE = {
    "res_cpu_time": "cpu_time",
    "res_fd_bomb": "open_files",
    "res_fork_bomb": "pids",
    "res_memory": "memory",
    "res_output_flood": "output",
    "res_thread_bomb": "pids",
}


def unenforced_limits(nsbox, profile_args=()):
    """{limit: why} for the profile's limits this host does not fully enforce."""
    with tempfile.TemporaryDirectory(prefix="nsbox-limits-") as workspace:
        run = subprocess.run([nsbox, "run", "-q", *profile_args, "--workspace", workspace,
                              "--report", "-", "--", "/bin/true"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if run.returncode != 0:
        raise SystemExit(f"nsbox could not run /bin/true: {run.stderr.strip()}")
    report = json.loads(run.stdout)
    return {s["limit"]: s["note"] or "not enforced"
            for s in report["resource_limits"]["limits"] if not s["enforced"]}

# Probes that may answer n/a because this kernel lacks what they attack; anything else that
# cannot decide fails the run.
NOT_APPLICABLE_OK = {
    "own_compat_int80": "int 0x80 faults where the kernel's IA32 gate is off (ia32_emulation=0)",
    "kern_init_module": "kernels without module support",
    "kern_kexec_load": "kernels without kexec support",
}


# Through nsbox serve: the API gives code no terminal at all, so there is none to attack.
NOT_APPLICABLE_VIA_SERVE = {
    "tty_tiocsti": "the API gives the code no terminal",
}
# The serve profile's own limits where they differ from the harness's defaults (the default
# profile's): a probe escapes when it gets more than the profile promises.
SERVE_PROFILE_LIMITS = ["--limit", "cpu-s=10"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nsbox", required=True)
    ap.add_argument("--catalog", required=True, help="directory holding run.py and probes/")
    ap.add_argument("--own-probes", default=os.path.join(os.path.dirname(__file__), "probes"))
    ap.add_argument("--json")
    ap.add_argument("--only")
    ap.add_argument("--via-serve", action="store_true",
                    help="run the probes through nsbox serve and its Python client")
    ap.add_argument("--summary", action="store_true",
                    help="print only the verdicts, not the harness's own report")
    args = ap.parse_args()

    strict = os.environ.get("NSBOX_EXPECT_CGROUP") == "1"
    serve_limits = [] if strict else ["--limits", "best-effort"]
    unenforced = unenforced_limits(
        args.nsbox, ["--profile", "serve", *serve_limits] if args.via_serve else [])
    if unenforced and os.environ.get("NSBOX_EXPECT_CGROUP") == "1":
        for limit, why in unenforced.items():
            print(f"FAIL  limit {limit} is not enforced although NSBOX_EXPECT_CGROUP=1: {why}")
        return 1

    harness = os.path.join(args.catalog, "run.py")
    if not os.path.isfile(harness):
        print(f"escape catalog not found at {args.catalog}: skipping", file=sys.stderr)
        return 77
    launcher = shlex.quote(os.path.abspath(args.nsbox)) + " run {probe} {args}"
    # The server's socket and the report (unless --json) live here, and go with it.
    with tempfile.TemporaryDirectory(prefix="nsbox-test-escape-") as work:
        server = None
        if args.via_serve:
            server, launcher = start_server(args.nsbox, serve_limits, work)
        try:
            return check(args, harness, launcher, unenforced,
                         args.json or os.path.join(work, "report.json"))
        finally:
            if server:
                server.terminate()
                server.wait(30)


def start_server(nsbox, limits_args, work):
    """A server on a private socket; returns it and the launcher template of its client."""
    socket_path = os.path.join(work, "s.sock")
    server = subprocess.Popen([nsbox, "serve", *limits_args, "--listen", "unix:" + socket_path],
                              stderr=subprocess.PIPE, text=True)
    for line in server.stderr:
        print(line, end="")
        if "listening on" in line:
            break
    else:
        raise SystemExit(f"nsbox serve did not start (status {server.wait()})")
    # The request log is not needed; keep the pipe drained.
    threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()
    client = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "integrations",
                          "python", "nsbox_client.py")
    return server, (f"{shlex.quote(sys.executable)} {shlex.quote(os.path.abspath(client))} "
                    f"--server unix:{shlex.quote(socket_path)} run {{probe}} {{args}}")


def check(args, harness, launcher, unenforced, report):
    cmd = [sys.executable, harness, "--name", "nsbox-serve" if args.via_serve else "nsbox",
           "--launcher", launcher,
           "--probes", os.path.join(args.catalog, "probes"), "--json", report]
    if os.path.isdir(args.own_probes):
        cmd += ["--probes", args.own_probes]
    if args.only:
        cmd += ["--only", args.only]
    not_applicable_ok = dict(NOT_APPLICABLE_OK)
    if args.via_serve:
        cmd += SERVE_PROFILE_LIMITS
        not_applicable_ok.update(NOT_APPLICABLE_VIA_SERVE)
    print("$", " ".join(shlex.quote(c) for c in cmd), flush=True)
    run = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if not args.summary:
        print(run.stdout[-20000:])
    if run.returncode != 0 and not os.path.exists(report):
        if args.summary:
            print(run.stdout[-5000:])
        print(f"the harness failed with status {run.returncode}", file=sys.stderr)
        return 1
    with open(report) as f:
        results = json.load(f)["results"]

    failures, host_limited = [], []
    for r in results:
        verdict = "escaped" if r["escaped"] else ("contained" if r["escaped"] is False else "n/a")
        limit = LIMIT_OF_PROBE.get(r["id"])
        if verdict == "escaped" and limit in unenforced:
            host_limited.append((r, limit))
        elif verdict == "n/a" and r["id"] in not_applicable_ok:
            print(f"N/A  {r['id']}: {not_applicable_ok[r['id']]} ({r['detail'][:160]})")
        elif verdict != "contained":
            failures.append((r, verdict))
    for r, limit in host_limited:
        print(f"HOST CANNOT ENFORCE  {r['id']}: limit {limit}: {unenforced[limit]} "
              f"({r['detail'][:160]})")
    for r, why in failures:
        print(f"FAIL  {r['id']} ({r['category']}): {why}: {r['detail'][:300]}"
              f"{' evidence: ' + '; '.join(r['harness_evidence']) if r['harness_evidence'] else ''}")
    contained = sum(1 for r in results if r["escaped"] is False)
    print(f"{len(results)} probes: {contained} contained, {len(host_limited)} not containable "
          f"on this host (limits it cannot enforce), {len(failures)} failed; user {os.getuid()}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
