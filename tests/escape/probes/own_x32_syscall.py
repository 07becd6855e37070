#!/usr/bin/env python3
# nsbox-probe id=own_x32_syscall category=kernel
# summary: unshare(CLONE_NEWUSER) through the x32 ABI (nr | 0x40000000), which a filter that masks or ignores the x32 bit lets through.
"""x32-ABI seccomp bypass (x86_64 only).

x32 syscalls share AUDIT_ARCH_X86_64 with ordinary 64-bit calls; only bit 30
(__X32_SYSCALL_BIT) of the number differs.  A filter that checks the arch but
compares numbers without rejecting nr >= 0x40000000 (or strips the bit) lets
`unshare` through as 272|0x40000000.  We issue x32 getpid (39|bit) for context
and x32 unshare(CLONE_NEWUSER) in a throwaway child.  Kernels built without
CONFIG_X86_X32_ABI answer ENOSYS to both.  ESCAPED = the x32 unshare returned 0.
"""
PROBE_ID, CATEGORY = "own_x32_syscall", "kernel"
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

X32_BIT, CLONE_NEWUSER = 0x40000000, 0x10000000


def x32(nr, *args):
    def child():
        r, e = syscall(nr | X32_BIT, *args)
        return {"ret": r, "err": e, "pid": os.getpid()}
    res, how = in_fork(child)
    if res is None:
        return None, "child %s" % how
    if "error" in res:
        return None, res["error"]
    return res, ("ok (%d)" % res["ret"]) if res["err"] is None else res["err"]


def main():
    if ARCH != "x86_64":
        verdict(None, "x86_64 only (this is %s)" % ARCH)
    _, gp = x32(39)
    us, un = x32(272, CLONE_NEWUSER)
    escaped = bool(us and us["err"] is None and us["ret"] == 0)
    verdict(escaped, "x32 getpid: %s; x32 unshare(CLONE_NEWUSER): %s%s" % (gp, un, kernel_note()))


def kernel_note():
    """ENOSYS is ambiguous (filter or kernel): say what the kernel config says, if readable."""
    try:
        import gzip
        with gzip.open("/proc/config.gz", "rt") as f:
            cfg = f.read()
    except (OSError, EOFError):
        return ""
    if "CONFIG_X86_X32_ABI=y" in cfg:
        return " (kernel has x32 support)"
    return " (kernel built without x32: ENOSYS comes from the kernel)"


start(main)
