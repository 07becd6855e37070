#!/usr/bin/env python3
# nsbox-probe id=own_proc_sys_write category=filesystem
# summary: Open host-global kernel knobs for writing (core_pattern, modprobe, sysrq-trigger, uevent_helper, drop_caches, cgroup release_agent).
"""Writable host-global kernel knobs.

core_pattern, modprobe, uevent_helper and a cgroup-v1 release_agent each name
a program the kernel later runs as root in the host's namespaces: a write is a
full container escape.  sysrq-trigger can crash or reboot the host and
drop_caches is a cheap host-wide DoS.  None of these belong to any namespace,
so a sandbox must make them unopenable for writing (read-only /proc/sys, no
host /sys, no capability).  Each file is opened O_WRONLY and closed at once;
nothing is written.  ESCAPED = any of them opened.
"""
PROBE_ID, CATEGORY = "own_proc_sys_write", "filesystem"
import ctypes, errno, json, os, platform, select, signal, struct, sys, time

# ---- probe plumbing (same block in every own_* probe) ------------------------
# The harness passes "--key value" pairs; the verdict is the LAST stdout line.
ARGS = dict(zip((k[2:] for k in sys.argv[1::2]), sys.argv[2::2]))
ARCH = platform.machine()
LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.syscall.restype = ctypes.c_long
_TOP = os.getpid()


def verdict(escaped, detail):
    """Print {"id","category","escaped","detail"} as the final line and exit."""
    if os.getpid() != _TOP:                      # a forked helper never reports
        os._exit(0)
    rec = {"id": PROBE_ID, "category": CATEGORY, "escaped": escaped, "detail": str(detail)[:1500]}
    try:
        sys.stdout.flush()
        os.write(1, ("\n" + json.dumps(rec) + "\n").encode())
    except OSError:
        pass
    os._exit(0)


def errname(num):
    return errno.errorcode.get(num, str(num))


def syscall(nr, *args):
    """Raw syscall(2): (result, None) on success, (-1, 'ENAME') on failure."""
    conv = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
    ctypes.set_errno(0)
    r = LIBC.syscall(ctypes.c_long(nr), *conv)
    return r, (errname(ctypes.get_errno()) if r == -1 else None)


def in_fork(fn, timeout=10):
    """Run fn() in a forked child so a fatal signal cannot swallow the verdict.
    Returns (fn's JSON-able result or None, how the child ended)."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rfd)
        try:
            out = fn()
        except BaseException as exc:
            out = {"error": "%s: %s" % (type(exc).__name__, exc)}
        try:
            os.write(wfd, json.dumps(out).encode())
        except Exception:
            pass
        os._exit(0)
    os.close(wfd)
    buf, end = b"", time.monotonic() + timeout
    while time.monotonic() < end:
        if select.select([rfd], [], [], 0.2)[0]:
            chunk = os.read(rfd, 65536)
            if not chunk:
                break
            buf += chunk
    os.close(rfd)
    if time.monotonic() >= end:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        how = "killed by " + signal.Signals(os.WTERMSIG(status)).name
    else:
        how = "exit %d" % os.WEXITSTATUS(status)
    try:
        return (json.loads(buf) if buf else None), how
    except ValueError:
        return None, how


def start(main, budget=None):
    """Run main() under a watchdog; any crash becomes an inconclusive verdict."""
    try:
        budget = budget or int(ARGS.get("timeout", 60)) - 5
    except ValueError:
        budget = 55
    signal.signal(signal.SIGALRM, lambda *_: verdict(None, "probe watchdog fired"))
    signal.alarm(max(5, budget))
    try:
        main()
    except BaseException as exc:
        verdict(None, "probe error: %s: %s" % (type(exc).__name__, exc))
    verdict(None, "probe ended without a verdict")
# ---- end of plumbing ----------------------------------------------------------

KNOBS = ["/proc/sys/kernel/core_pattern", "/proc/sys/kernel/modprobe", "/proc/sysrq-trigger",
         "/sys/kernel/uevent_helper", "/proc/sys/vm/drop_caches"]


def release_agents(root="/sys/fs/cgroup", max_depth=3, max_dirs=3000):
    found, seen = [], 0
    for dirpath, dirnames, filenames in os.walk(root, onerror=lambda e: None):
        seen += 1
        depth = dirpath[len(root):].count(os.sep)
        if depth >= max_depth or seen > max_dirs:
            dirnames[:] = []
        if "release_agent" in filenames:
            found.append(os.path.join(dirpath, "release_agent"))
    return found


def main():
    res, opened = {}, []
    for path in KNOBS + release_agents():
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC))   # never written
            res[path] = "OPENED"
            opened.append(path)
        except OSError as exc:
            res[path] = errname(exc.errno)
    verdict(bool(opened), ("writable: %s; " % ", ".join(opened) if opened else "") +
            "; ".join("%s: %s" % kv for kv in res.items()))


start(main)
