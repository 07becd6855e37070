#!/usr/bin/env python3
# nsbox-probe id=own_mknod_device category=filesystem
# summary: mknod a character device (1,1 = /dev/mem; control: 1,3 = /dev/null) in /tmp or the workspace and open it.
"""Device nodes made by the sandboxed code.

Whoever can create a device node and open it talks to the driver directly,
bypassing the sandbox's curated /dev: (1,1) is /dev/mem, and the same trick
with a block major reaches host disks.  A sandbox must deny mknod of devices
(no CAP_MKNOD over the host's devices), mount its writable places nodev, or
both.  We try /tmp, the workspace and the cwd; every node is named with the
harness nonce and removed at once.  /dev/mem itself may be compiled out
(ENXIO on open), so (1,3) /dev/null is tried as a control that always has a
driver.  ESCAPED = a node was created AND could be opened.
"""
PROBE_ID, CATEGORY = "own_mknod_device", "filesystem"
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

import stat

DEVICES = (("mem", 1, 1), ("null", 1, 3))


def main():
    nonce = ARGS.get("nonce") or "%d-%d" % (os.getpid(), int(time.time()))
    dirs = []
    for d in ("/tmp", ARGS.get("workspace"), os.getcwd()):
        if d and os.path.isdir(d) and os.path.realpath(d) not in [os.path.realpath(x) for x in dirs]:
            dirs.append(d)
    res, usable = [], []
    for d in dirs:
        for label, major, minor in DEVICES:
            path = os.path.join(d, ".nsbox-probe-%s-%s" % (nonce, label))
            try:
                os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(major, minor))
            except OSError as exc:
                res.append("%s: mknod %s" % (path, errname(exc.errno)))
                continue
            try:
                os.close(os.open(path, os.O_RDONLY | os.O_NOCTTY | os.O_CLOEXEC))
                res.append("%s: created+OPENED" % path)
                usable.append(path)
            except OSError as exc:
                res.append("%s: created, open %s" % (path, errname(exc.errno)))
            finally:
                try:
                    os.unlink(path)
                except OSError:
                    pass
    if not dirs:
        verdict(None, "no directory to try")
    verdict(bool(usable), "; ".join(res))


start(main)
