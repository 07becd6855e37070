#!/usr/bin/env python3
# nsbox-probe id=own_tiocsti_high_bits category=terminal
# summary: TIOCSTI with junk in the upper 32 bits of the ioctl request: the kernel truncates it, a 64-bit seccomp compare does not.
"""TIOCSTI through a 64-bit request number.

The ioctl request is an `unsigned int` inside the kernel, but seccomp sees the
full 64-bit register.  A filter rule "arg1 == TIOCSTI" that compares 64 bits
is skipped by TIOCSTI | (1 << 32), yet the tty layer still executes TIOCSTI
(input injection: type commands into the terminal of whoever reads it).  To
exercise only the filter, we make a private pty our controlling terminal in a
new session (TIOCSTI needs that) and inject one byte into it, with the
high-bit request and with the plain one.  Nothing reaches any other terminal.
ESCAPED = either ioctl returned 0.
"""
PROBE_ID, CATEGORY = "own_tiocsti_high_bits", "terminal"
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

NR_IOCTL = {"x86_64": 16, "aarch64": 29}
TIOCSTI, TIOCSCTTY = 0x5412, 0x540E


def legacy_tiocsti():
    try:
        with open("/proc/sys/dev/tty/legacy_tiocsti") as f:
            return f.read().strip()
    except OSError:
        return "?"


def main():
    if ARCH not in NR_IOCTL:
        verdict(None, "no ioctl number for %s" % ARCH)
    try:
        master, slave = os.openpty()
        name = os.ttyname(slave)
    except OSError as exc:
        verdict(None, "no pty support: %s" % errname(exc.errno))

    def child():
        os.setsid()
        try:
            fd = os.open(name, os.O_RDWR)             # first tty opened: our ctty
        except OSError:
            fd = slave
        syscall(NR_IOCTL[ARCH], fd, TIOCSCTTY, 0)     # in case open did not attach it
        out, byte = {}, ctypes.c_char(b"#")
        for label, req in (("TIOCSTI|1<<32", TIOCSTI | (1 << 32)), ("TIOCSTI", TIOCSTI)):
            r, e = syscall(NR_IOCTL[ARCH], fd, req, ctypes.byref(byte))
            out[label] = "ok" if r == 0 else e
        return out
    res, how = in_fork(child)
    os.close(master)
    os.close(slave)
    if res is None or "error" in res:
        verdict(False if res is None else None,
                "child %s" % how if res is None else res["error"])
    escaped = any(v == "ok" for v in res.values())
    hint = ""
    if res.get("TIOCSTI|1<<32") != res.get("TIOCSTI"):
        hint = " (high-bit and plain request answered differently: a filter keyed on all 64 bits)"
    verdict(escaped, "pty %s: %s; dev.tty.legacy_tiocsti=%s%s" % (
        name, ", ".join("%s -> %s" % kv for kv in res.items()), legacy_tiocsti(), hint))


start(main)
