#!/usr/bin/env python3
# nsbox-probe id=own_init_process category=process
# summary: Reach into the sandbox's pid 1 (the launcher's init): /proc/1/exe for writing, mem, fd, environ, and its cmdline.
"""Attacks on the sandbox's own pid 1.

In nsbox the first process of the pid namespace is the launcher's init, a
copy of the nsbox binary running with the launcher's state.  If sandboxed code
could open /proc/1/exe for writing it could plant code in a binary the host
side may run again; /proc/1/mem, /proc/1/fd and /proc/1/environ expose its
memory, its open files (host fds it may still hold) and its environment; its
cmdline must not carry the untrusted program's arguments (the harness's
--nonce).  Nothing is ever written: the exe fd is closed at once.
ESCAPED = exe opened for writing, mem/fd/environ readable, or nonce in cmdline.
"""
PROBE_ID, CATEGORY = "own_init_process", "process"
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


def try_open(path, flags):
    try:
        os.close(os.open(path, flags | os.O_NOCTTY | os.O_CLOEXEC))
        return "OPENED"
    except OSError as exc:
        return errname(exc.errno)


def try_read(path):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            return os.read(fd, 1 << 16), None
        finally:
            os.close(fd)
    except OSError as exc:
        return None, errname(exc.errno)


def main():
    res, bad = {}, []
    comm, _ = try_read("/proc/1/comm")
    res["comm"] = comm.decode(errors="replace").strip() if comm else "?"
    if os.getpid() == 1:
        verdict(None, "this probe is pid 1 itself; nothing separate to attack")
    res["exe O_WRONLY"] = try_open("/proc/1/exe", os.O_WRONLY)   # never written
    res["mem O_RDONLY"] = try_open("/proc/1/mem", os.O_RDONLY)
    try:
        res["fd"] = "listed %d entries" % len(os.listdir("/proc/1/fd"))
    except OSError as exc:
        res["fd"] = errname(exc.errno)
    for link in ("cwd", "root"):
        try:
            res[link] = "-> " + os.readlink("/proc/1/" + link)
        except OSError as exc:
            res[link] = errname(exc.errno)
    env, err = try_read("/proc/1/environ")
    res["environ"] = err or "read %d bytes" % len(env)
    cmd, err = try_read("/proc/1/cmdline")
    nonce = ARGS.get("nonce", "")
    if cmd is None:
        res["cmdline"] = err
    elif nonce and nonce.encode() in cmd:
        res["cmdline"] = "contains the nonce"
    else:
        res["cmdline"] = "%d bytes, no nonce%s" % (len(cmd), "" if nonce else " given")
    if res["exe O_WRONLY"] == "OPENED":
        bad.append("exe writable")
    if res["mem O_RDONLY"] == "OPENED":
        bad.append("mem readable")
    if res["fd"].startswith("listed"):
        bad.append("fd listable")
    if env is not None:
        bad.append("environ readable")
    if res["cmdline"] == "contains the nonce":
        bad.append("nonce in cmdline")
    verdict(bool(bad), "%s%s" % ("ESCAPED via %s; " % ", ".join(bad) if bad else "",
                                 "; ".join("%s: %s" % kv for kv in res.items())))


start(main)
