#!/usr/bin/env python3
# nsbox-probe id=own_compat_int80 category=kernel
# summary: i386 compat syscalls via `int 0x80` from a 64-bit process: unshare(CLONE_NEWUSER) around a seccomp filter written for x86_64 only.
"""Compat-ABI seccomp bypass (x86_64 only).

A 64-bit process can still enter the kernel through the legacy i386 gate
`int 0x80`; the kernel then runs the *32-bit* syscall table with different
numbers (unshare is 310 there, process_vm_readv is 272 in x86_64...).  A seccomp
filter that does not check `seccomp_data.arch` (or only denies by x86_64
numbers) is bypassed entirely.  We map a page of machine code that issues
`int 0x80` and returns eax, first with the harmless i386 getpid (20) to see
whether the compat gate is open at all, then with i386 unshare(CLONE_NEWUSER)
(310) in a throwaway child.  ESCAPED = the compat unshare returned 0; a child
killed by SIGSYS/ENOSYS is contained; a SIGSEGV on getpid means the kernel has
no int 0x80 gate (ia32 emulation off), so the probe is not applicable.
"""
PROBE_ID, CATEGORY = "own_compat_int80", "kernel"
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

I386_GETPID, I386_UNSHARE, CLONE_NEWUSER = 20, 310, 0x10000000
PROT_R, PROT_W, PROT_X = 1, 2, 4
MAP_PRIVATE, MAP_ANON = 0x02, 0x20


def int80_stub(nr, arg):
    """push rbx; mov eax,nr; mov ebx,arg; xor ecx,ecx; xor edx,edx; int 0x80; pop rbx; ret"""
    return (b"\x53\xb8" + struct.pack("<I", nr) + b"\xbb" + struct.pack("<I", arg)
            + b"\x31\xc9\x31\xd2\xcd\x80\x5b\xc3")


def executable(code):
    """(callable, how) for an executable copy of code, or (None, why)."""
    LIBC.mmap.restype = ctypes.c_void_p
    LIBC.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]
    LIBC.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    bad = ctypes.c_void_p(-1).value
    why = []
    for prot, label in ((PROT_R | PROT_W | PROT_X, "rwx"), (PROT_R | PROT_W, "rw->rx")):
        ctypes.set_errno(0)
        addr = LIBC.mmap(None, 4096, prot, MAP_PRIVATE | MAP_ANON, -1, 0)
        if addr in (None, bad):
            why.append("mmap %s: %s" % (label, errname(ctypes.get_errno())))
            continue
        ctypes.memmove(addr, code, len(code))
        if not prot & PROT_X and LIBC.mprotect(addr, 4096, PROT_R | PROT_X) != 0:
            why.append("mprotect rx: %s" % errname(ctypes.get_errno()))
            continue
        return ctypes.CFUNCTYPE(ctypes.c_int32)(addr), label
    return None, "; ".join(why)


def compat_call(nr, arg=0):
    """In a child: run int 0x80 with (nr, arg); report eax and our real pid."""
    def child():
        fn, how = executable(int80_stub(nr, arg))
        if fn is None:
            return {"noexec": how}
        return {"eax": fn(), "pid": os.getpid(), "mem": how}
    return in_fork(child)


def describe(res, how):
    if res is None:
        return "child %s" % how
    if "noexec" in res:
        return "no executable memory (%s)" % res["noexec"]
    if "error" in res:
        return res["error"]
    eax = res["eax"]
    return "eax=%d%s" % (eax, " (-%s)" % errname(-eax) if -4096 < eax < 0 else "")


def main():
    if ARCH != "x86_64":
        verdict(None, "x86_64 only (this is %s)" % ARCH)
    gp, gp_how = compat_call(I386_GETPID)
    if gp and "noexec" in gp:
        verdict(None, "cannot run machine code here: %s" % gp["noexec"])
    if gp is None and gp_how == "killed by SIGSEGV":
        # a general protection fault, not seccomp (SIGSYS/errno): this kernel has no
        # int 0x80 gate at all (ia32 emulation compiled out or disabled at boot)
        verdict(None, "int 0x80 faults (SIGSEGV): no compat gate in this kernel, nothing to filter")
    gate = ("closed" if gp is None or gp.get("eax") == -errno.ENOSYS
            else "open (returned our pid)" if gp.get("eax") == gp.get("pid") else "unclear")
    us, us_how = compat_call(I386_UNSHARE, CLONE_NEWUSER)
    detail = "int 0x80 getpid: %s -> compat gate %s; int 0x80 unshare(CLONE_NEWUSER): %s" % (
        describe(gp, gp_how), gate, describe(us, us_how))
    verdict(bool(us and us.get("eax") == 0), detail)


start(main)
