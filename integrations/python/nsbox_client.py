"""A client for `nsbox serve` (docs/api.md), standard library only.

    from nsbox_client import NsboxClient
    client = NsboxClient("unix:/run/user/1000/nsbox/serve.sock")   # or "http://127.0.0.1:8080"
    result = client.execute("print(6 * 7)")
    result["stdout"]  # '42\\n'

Files go in and come back as bytes: execute(code, files={"data.csv": b"..."}) puts them under
/workspace, and result["files"] holds what the code created or changed there, decoded.

Run as a program it executes a file and mirrors its output and exit status:
    python3 nsbox_client.py --server unix:PATH [--token-file F] run FILE.py [ARGS...]
"""
import argparse
import base64
import http.client
import json
import os
import socket
import sys
import urllib.parse

__all__ = ["NsboxClient", "NsboxError", "default_server"]


class NsboxError(Exception):
    """The server refused the request (status is the HTTP status) or could not be reached."""

    def __init__(self, message, status=None, field=None):
        super().__init__(message)
        self.status = status
        self.field = field


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


def default_server():
    """Where `nsbox serve` listens by default, for this user."""
    if os.geteuid() == 0:
        return "unix:/run/nsbox/serve.sock"
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return f"unix:{runtime}/nsbox/serve.sock"
    return f"unix:/tmp/nsbox-{os.geteuid()}/serve.sock"


class NsboxClient:
    """server: "unix:PATH" or "http://HOST:PORT"; token: the bearer token (TCP needs one)."""

    def __init__(self, server=None, token=None, timeout=None):
        self.server = server or os.environ.get("NSBOX_SERVER") or default_server()
        self.token = token if token is not None else os.environ.get("NSBOX_TOKEN")
        self.timeout = timeout  # seconds for the HTTP exchange; None: the run's own + 30 s

    def _connection(self, timeout):
        if self.server.startswith("unix:"):
            return _UnixConnection(self.server[len("unix:"):], timeout)
        url = urllib.parse.urlsplit(self.server)
        if url.scheme != "http" or not url.hostname:
            raise NsboxError(f"server {self.server!r}: expected unix:PATH or http://HOST:PORT")
        return http.client.HTTPConnection(url.hostname, url.port or 80, timeout=timeout)

    def _request(self, method, path, body=None, timeout=30):
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        conn = self._connection(self.timeout or timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except OSError as error:
            raise NsboxError(f"{self.server}: {error}") from error
        finally:
            conn.close()
        try:
            doc = json.loads(data)
        except ValueError:
            raise NsboxError(f"{self.server}: HTTP {response.status}: not JSON", response.status)
        if response.status != 200:
            raise NsboxError(doc.get("error", f"HTTP {response.status}"), response.status,
                             doc.get("field"))
        return doc

    def execute(self, code, files=None, stdin=None, timeout_ms=None, env=None):
        """Runs `code` in a fresh sandbox. files: {path: bytes or str}. Returns the response
        object of docs/api.md with "files" decoded to bytes."""
        request = {"code": code}
        if files:
            request["files"] = {
                path: base64.b64encode(data.encode() if isinstance(data, str) else data).decode()
                for path, data in files.items()}
        if stdin is not None:
            request["stdin"] = stdin
        if timeout_ms is not None:
            request["timeout_ms"] = timeout_ms
        if env:
            request["env"] = env
        wait = (timeout_ms or 600_000) / 1000 + 30
        result = self._request("POST", "/v1/execute", json.dumps(request).encode(), wait)
        result["files"] = {p: base64.b64decode(d) for p, d in result.get("files", {}).items()}
        return result

    def info(self):
        return self._request("GET", "/v1/info")

    def health(self):
        return self._request("GET", "/healthz")


def _main(argv):
    ap = argparse.ArgumentParser(description="Run a Python file through nsbox serve")
    ap.add_argument("--server", help="unix:PATH or http://HOST:PORT (default: $NSBOX_SERVER, "
                    "then the default socket)")
    ap.add_argument("--token-file")
    ap.add_argument("--timeout-ms", type=int)
    sub = ap.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run FILE.py with ARGS; its files go along")
    run.add_argument("file")
    run.add_argument("args", nargs=argparse.REMAINDER)
    sub.add_parser("info")
    args = ap.parse_args(argv)
    token = None
    if args.token_file:
        with open(args.token_file) as f:
            token = f.read().strip()
    client = NsboxClient(args.server, token)
    try:
        if args.command == "info":
            print(json.dumps(client.info(), indent=2))
            return 0
        with open(args.file, "rb") as f:
            script = f.read()
        name = os.path.basename(args.file)
        code = ("import runpy, sys\n"
                f"sys.argv = {[name] + args.args!r}\n"
                f"runpy.run_path({name!r}, run_name='__main__')\n")
        stdin = None if sys.stdin.isatty() else sys.stdin.read()
        result = client.execute(code, files={name: script}, stdin=stdin,
                                timeout_ms=args.timeout_ms)
    except NsboxError as error:
        print(f"nsbox_client: {error}", file=sys.stderr)
        return 125
    sys.stdout.write(result["stdout"])
    sys.stderr.write(result["stderr"])
    if result["error"]:
        print(f"nsbox_client: {result['error']}", file=sys.stderr)
    return result["exit_code"]


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
