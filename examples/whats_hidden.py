"""What can this script see? Run it directly, then with `nsbox run`, and compare.

It only looks: it reads nothing secret aloud (secret values are reported by length) and sends
no traffic (a UDP connect() does not send a packet).
"""
import os
import pwd
import socket


def show(label, value):
    print(f"  {label:<28} {value}")


def environment():
    names = sorted(os.environ)
    secretish = [n for n in names if any(w in n for w in ("TOKEN", "KEY", "SECRET", "PASSWORD"))]
    show("environment variables", len(names))
    show("secret-looking variables", ", ".join(secretish) or "none")


def home():
    try:
        real_home = pwd.getpwuid(os.getuid()).pw_dir
    except KeyError:
        real_home = "?"
    show("user", f"{pwd.getpwuid(os.getuid()).pw_name if real_home != '?' else os.getuid()}")
    for path in ("/root", "/home", os.path.expanduser("~/.ssh")):
        try:
            show(f"entries in {path}", len(os.listdir(path)))
        except OSError as e:
            show(f"entries in {path}", f"not readable ({e.strerror})")


def processes():
    pids = [p for p in os.listdir("/proc") if p.isdigit()]
    show("processes visible", len(pids))


def network():
    # /proc/net/dev lists the interfaces of this network namespace; if_nameindex() would need a
    # netlink socket, which the sandbox does not allow.
    with open("/proc/net/dev") as f:
        ifaces = [line.split(":")[0].strip() for line in f.readlines()[2:]]
    show("network interfaces", ", ".join(ifaces))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("192.0.2.1", 53))  # TEST-NET-1: routing decision only, no packet sent
        show("route to the internet", "yes")
    except OSError as e:
        show("route to the internet", f"no ({e.strerror})")
    finally:
        s.close()


def files():
    for path in ("/etc/shadow", "/etc/passwd"):
        try:
            with open(path) as f:
                show(f"{path} lines", len(f.read().splitlines()))
        except OSError as e:
            show(path, f"not readable ({e.strerror})")
    show("host name", socket.gethostname())
    show("working directory", os.getcwd())


if __name__ == "__main__":
    environment()
    home()
    processes()
    network()
    files()
