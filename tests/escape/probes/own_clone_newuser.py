#!/usr/bin/env python3
# nsbox-probe id=own_clone_newuser category=process
# summary: New user namespace via raw clone()/clone3() flags instead of unshare(): filters often only watch unshare.
"""User namespace creation through clone() and clone3().

Blocking unshare(CLONE_NEWUSER) is not enough: the same namespace can be made
by clone(CLONE_NEWUSER|SIGCHLD) (argument 0 is a plain register a filter must
inspect) or by clone3(), whose flags live in a struct that seccomp cannot read
(a sane filter answers ENOSYS so libc falls back to clone).  A nested user
namespace hands the code a full capability set over fresh namespaces, the
usual first step of kernel LPE exploits.  Each attempt runs in a throwaway
child; with a NULL stack the clone behaves like fork and the new process
calls exit_group at once.  ESCAPED = any variant returned a child pid.
"""
PROBE_ID, CATEGORY = "own_clone_newuser", "process"
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

NR = {"x86_64": {"clone": 56, "clone3": 435, "exit_group": 231},
      "aarch64": {"clone": 220, "clone3": 435, "exit_group": 94}}
CLONE_NEWNS, CLONE_NEWUSER, SIGCHLD = 0x20000, 0x10000000, 17


def attempt(kind, flags):
    nr = NR[ARCH]

    def child():
        if kind == "clone":
            # (flags, newsp=NULL, ptid, ctid/tls, tls/ctid): NULL stack = fork semantics
            args = [ctypes.c_long(flags | SIGCHLD)] + [ctypes.c_long(0)] * 4
        else:
            # struct clone_args, first version (64 bytes): flags, pidfd, child_tid,
            # parent_tid, exit_signal, stack, stack_size, tls
            cargs = (ctypes.c_uint64 * 8)(flags, 0, 0, 0, SIGCHLD, 0, 0, 0)
            args = [ctypes.byref(cargs), ctypes.c_long(64)]
        ctypes.set_errno(0)
        r = LIBC.syscall(ctypes.c_long(nr[kind]), *args)
        if r == 0:                                   # the new process: leave at once
            LIBC.syscall(ctypes.c_long(nr["exit_group"]), ctypes.c_long(0))
        if r > 0:
            os.waitpid(r, 0)
            return {"pid": r}
        return {"err": errname(ctypes.get_errno())}
    res, how = in_fork(child)
    if res is None:
        return False, "child %s" % how
    if "error" in res:
        return False, res["error"]
    if "pid" in res:
        return True, "created pid %d" % res["pid"]
    return False, res["err"]


def main():
    if ARCH not in NR:
        verdict(None, "no syscall numbers for %s" % ARCH)
    results = []
    for label, kind, flags in (("clone(NEWUSER)", "clone", CLONE_NEWUSER),
                               ("clone(NEWUSER|NEWNS)", "clone", CLONE_NEWUSER | CLONE_NEWNS),
                               ("clone3(NEWUSER)", "clone3", CLONE_NEWUSER)):
        ok, what = attempt(kind, flags)
        results.append((label, ok, what))
    verdict(any(ok for _, ok, _ in results),
            "; ".join("%s: %s" % (label, what) for label, _, what in results))


start(main)
