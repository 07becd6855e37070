#!/usr/bin/env python3
# nsbox-probe id=own_sysv_ipc category=process
# summary: Host System V IPC objects (shared memory, message queues, semaphores) visible from inside the sandbox.
"""Host SysV IPC visibility.

SysV shared memory segments, message queues and semaphore sets are named by
small integer keys/ids and guarded only by mode bits; a process in the host's
IPC namespace can list them and attach to any segment its uid may read
(databases, X11/MIT-SHM, other agents' buffers).  A sandbox needs its own IPC
namespace, whose tables start empty.  We list /proc/sysvipc/{shm,msg,sem} and
ask the kernel for its own counts (shmctl SHM_INFO, msgctl MSG_INFO, semctl
SEM_INFO, which create nothing); this probe creates no object, so any entry is
someone else's.  ESCAPED = any object is listed, or our IPC namespace is the
host's one (--host-ns).
"""
PROBE_ID, CATEGORY = "own_sysv_ipc", "process"
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

SHM_INFO, MSG_INFO, SEM_INFO = 14, 12, 19


def proc_entries(kind):
    try:
        with open("/proc/sysvipc/" + kind) as f:
            lines = [l for l in f.read().splitlines()[1:] if l.strip()]
        return len(lines), None
    except OSError as exc:
        return None, errname(exc.errno)


def kernel_counts():
    """Objects in use according to the *_INFO commands: {kind: count or errno}."""
    out, buf = {}, (ctypes.c_int * 64)()
    calls = {"shm": (lambda: LIBC.shmctl(0, SHM_INFO, ctypes.byref(buf)), 0),   # shm_info.used_ids
             "msg": (lambda: LIBC.msgctl(0, MSG_INFO, ctypes.byref(buf)), 0),   # msginfo.msgpool
             "sem": (lambda: LIBC.semctl(0, 0, SEM_INFO, ctypes.byref(buf)), 7)}  # seminfo.semusz
    for kind, (call, idx) in calls.items():
        ctypes.memset(buf, 0, ctypes.sizeof(buf))
        ctypes.set_errno(0)
        r = call()
        out[kind] = buf[idx] if r >= 0 else errname(ctypes.get_errno())
    return out


def main():
    seen, parts = [], []
    counts = kernel_counts()
    for kind in ("shm", "msg", "sem"):
        n, err = proc_entries(kind)
        parts.append("%s: /proc lists %s, kernel count %s" % (kind, err or n, counts[kind]))
        if (n or 0) > 0 or (isinstance(counts[kind], int) and counts[kind] > 0):
            seen.append(kind)
    mine = None
    try:
        mine = os.readlink("/proc/self/ns/ipc")
    except OSError:
        pass
    host = dict(kv.partition("=")[::2] for kv in ARGS.get("host-ns", "").split(",") if "=" in kv)
    shared = bool(mine and host.get("ipc") == mine)
    parts.append("ipc ns %s (host %s)%s" % (mine, host.get("ipc", "unknown"), ": SHARED" if shared else ""))
    verdict(bool(seen) or shared,
            ("host objects visible: %s; " % ", ".join(seen) if seen else "") + "; ".join(parts))


start(main)
