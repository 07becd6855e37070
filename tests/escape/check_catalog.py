#!/usr/bin/env python3
"""Runs the shared escape catalog and nsbox's own probes against nsbox's default profile and
fails unless every probe is contained.

    check_catalog.py --nsbox BUILD/bin/nsbox --catalog DIR [--json OUT] [--only IDS]

Probes that need resource limits nsbox does not enforce yet are listed in PENDING with the
reason; they may escape (and are reported), but a pending probe that is contained is reported
too, so the list is kept honest. Any other escape, and any "n/a" verdict, fails the run: n/a
means the probe could not decide, which for a sandbox under test usually means breakage.
Exit status: 0 pass, 1 fail, 77 the catalog is missing (ctest reports the test as skipped).
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile

# Resource probes need cgroup/rlimit limits: the cgroup v2 limits issue. Each entry says why.
PENDING = {
    "res_cpu_time": "no CPU-time limit is enforced yet (--cpu-time, cgroup cpu)",
    "res_fd_bomb": "no file-descriptor limit is set yet (RLIMIT_NOFILE default)",
    "res_fork_bomb": "no pids limit is enforced yet (cgroup pids.max)",
    "res_memory": "no memory limit is enforced yet (cgroup memory.max)",
    "res_output_flood": "stdout/stderr are not capped yet (--output-limit)",
    "res_thread_bomb": "no pids limit is enforced yet (cgroup pids.max)",
}

# Probes that may answer n/a because this kernel lacks what they attack; anything else that
# cannot decide fails the run.
NOT_APPLICABLE_OK = {
    "own_compat_int80": "int 0x80 faults where the kernel's IA32 gate is off (ia32_emulation=0)",
    "kern_init_module": "kernels without module support",
    "kern_kexec_load": "kernels without kexec support",
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nsbox", required=True)
    ap.add_argument("--catalog", required=True, help="directory holding run.py and probes/")
    ap.add_argument("--own-probes", default=os.path.join(os.path.dirname(__file__), "probes"))
    ap.add_argument("--json")
    ap.add_argument("--only")
    args = ap.parse_args()

    harness = os.path.join(args.catalog, "run.py")
    if not os.path.isfile(harness):
        print(f"escape catalog not found at {args.catalog}: skipping", file=sys.stderr)
        return 77
    report = args.json or os.path.join(tempfile.mkdtemp(prefix="nsbox-escape-"), "report.json")
    cmd = [sys.executable, harness, "--name", "nsbox",
           "--launcher", shlex.quote(os.path.abspath(args.nsbox)) + " run {probe} {args}",
           "--probes", os.path.join(args.catalog, "probes"), "--json", report]
    if os.path.isdir(args.own_probes):
        cmd += ["--probes", args.own_probes]
    if args.only:
        cmd += ["--only", args.only]
    print("$", " ".join(shlex.quote(c) for c in cmd), flush=True)
    run = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(run.stdout[-20000:])
    if run.returncode != 0 and not os.path.exists(report):
        print(f"the harness failed with status {run.returncode}", file=sys.stderr)
        return 1
    with open(report) as f:
        results = json.load(f)["results"]

    failures, pending, fixed = [], [], []
    for r in results:
        verdict = "escaped" if r["escaped"] else ("contained" if r["escaped"] is False else "n/a")
        if r["id"] in PENDING:
            (pending if verdict == "escaped" else fixed).append(r)
            if verdict == "n/a":
                failures.append((r, "n/a: the probe could not decide"))
        elif verdict == "n/a" and r["id"] in NOT_APPLICABLE_OK:
            print(f"N/A  {r['id']}: {NOT_APPLICABLE_OK[r['id']]} ({r['detail'][:160]})")
        elif verdict != "contained":
            failures.append((r, verdict))
    for r in pending:
        print(f"PENDING  {r['id']}: {PENDING[r['id']]} ({r['detail'][:160]})")
    for r in fixed:
        if r["escaped"] is False:
            print(f"NOW CONTAINED  {r['id']}: remove it from PENDING in {__file__}")
    for r, why in failures:
        print(f"FAIL  {r['id']} ({r['category']}): {why}: {r['detail'][:300]}"
              f"{' evidence: ' + '; '.join(r['harness_evidence']) if r['harness_evidence'] else ''}")
    contained = sum(1 for r in results if r["escaped"] is False)
    print(f"{len(results)} probes: {contained} contained, {len(pending)} pending (resource "
          f"limits), {len(failures)} failed; user {os.getuid()}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
