#!/usr/bin/env python3
"""nsbox serve against a real server: on a UNIX socket and on a loopback TCP port, through the
Python client in integrations/python and through raw HTTP where the client would hide the
detail (malformed bodies, disconnects, status codes).

    test_serve.py --bin BUILD/bin [unittest args]

On a host that cannot enforce the serve profile's limits (cgroup v1) the servers run with
--limits best-effort; with NSBOX_EXPECT_CGROUP=1 (the VM stage) they run strict and the
out-of-memory test runs too.
"""
import base64
import http.client
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integrations", "python"))
from nsbox_client import NsboxClient, NsboxError  # noqa: E402

BIN = None
EXPECT_CGROUP = os.environ.get("NSBOX_EXPECT_CGROUP") == "1"
LIMITS = [] if EXPECT_CGROUP else ["--limits", "best-effort"]
TOKEN = "t0ken-for-the-serve-tests-0123456789"


class Server:
    """One nsbox serve process; its stderr (start-up lines and request log) is collected."""

    def __init__(self, *args, tcp=False, token=False, expect_start=True):
        self.dir = tempfile.mkdtemp(prefix="nsbox-test-serve-")
        self.socket = os.path.join(self.dir, "s.sock")
        cmd = [os.path.join(BIN, "nsbox"), "serve"] + LIMITS + list(args)
        if token:
            self.token_file = os.path.join(self.dir, "token")
            fd = os.open(self.token_file, os.O_WRONLY | os.O_CREAT, 0o600)
            os.write(fd, (TOKEN + "\n").encode())
            os.close(fd)
            cmd += ["--token-file", self.token_file]
        cmd += ["--listen", "127.0.0.1:0" if tcp else "unix:" + self.socket]
        # The server's private directory goes under TMPDIR: here, so that stop() can check it
        # is gone, and out of the way of the other suites' checks of /tmp.
        env = dict(os.environ, TMPDIR=self.dir)
        env.pop("XDG_RUNTIME_DIR", None)
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env)
        self.lines = []
        self.address = None
        self._listening = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if expect_start:
            if not self._listening.wait(60):
                self.stop()
                raise AssertionError("server did not start: " + "".join(self.lines))

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line)
            m = re.search(r"listening on (\S+)", line)
            if m:
                self.address = m.group(1)
                self._listening.set()

    @property
    def url(self):
        return self.address if self.address.startswith("unix:") else "http://" + self.address

    def client(self, token=None):
        return NsboxClient(self.url, token=token)

    def log_records(self):
        return [json.loads(line) for line in self.lines if line.startswith("{")]

    def health_until(self, wanted, timeout=30):
        """(status, /healthz body) once wanted(body) holds, or the last one after timeout."""
        deadline = time.monotonic() + timeout
        while True:
            status, health, _ = raw_request(self, "GET", "/healthz")
            if wanted(health) or time.monotonic() > deadline:
                return status, health
            time.sleep(0.1)

    def wait(self, timeout=30):
        code = self.proc.wait(timeout)
        self._reader.join(5)
        self.proc.stderr.close()
        self.check_state_removed()
        return code

    def check_state_removed(self):
        left = [n for n in os.listdir(self.dir) if n.startswith("nsbox-serve.")]
        shutil.rmtree(self.dir, ignore_errors=True)
        if left and self.proc.returncode == 0:
            raise AssertionError(f"the server left its directory behind: {left}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(5)
        self.proc.stderr.close()
        self.check_state_removed()


def raw_request(server, method, path, body=None, headers=None, timeout=60):
    """(status, parsed JSON body) over the server's socket, without the client's checks."""
    if server.address.startswith("unix:"):
        conn = http.client.HTTPConnection("localhost", timeout=timeout)
        conn.sock = socket.socket(socket.AF_UNIX)
        conn.sock.settimeout(timeout)
        conn.sock.connect(server.address[5:])
    else:
        host, port = server.address.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, json.loads(data) if data else None, response


class UnixSocketServer(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.server = Server("--max-concurrency", "2", "--pool", "2")
        cls.client = cls.server.client()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_socket_is_private_to_its_owner(self):
        mode = os.stat(self.server.socket).st_mode
        self.assertTrue(stat.S_ISSOCK(mode))
        self.assertEqual(stat.S_IMODE(mode), 0o600)
        # And under the caller's umask, not a process-wide one of the server's (its threads
        # create directories meanwhile): the private directory keeps its search bit.
        state = [n for n in os.listdir(self.server.dir) if n.startswith("nsbox-serve.")]
        self.assertEqual(len(state), 1)
        for entry in os.scandir(os.path.join(self.server.dir, state[0])):
            if entry.name.startswith("sb-"):
                self.assertEqual(stat.S_IMODE(entry.stat().st_mode), 0o700, entry.name)

    def test_a_second_server_on_the_same_socket_is_refused(self):
        proc = subprocess.run([os.path.join(BIN, "nsbox"), "serve"] + LIMITS +
                              ["--listen", "unix:" + self.server.socket],
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 125)
        self.assertIn("another server is listening on " + self.server.socket, proc.stderr)
        self.assertEqual(self.client.execute("print(1)")["stdout"], "1\n")  # still ours

    def test_stdout_stderr_and_success(self):
        r = self.client.execute("import sys\nprint('out')\nprint('err', file=sys.stderr)")
        self.assertEqual((r["stdout"], r["stderr"]), ("out\n", "err\n"))
        self.assertTrue(r["success"])
        self.assertEqual((r["reason"], r["exit_code"], r["error"]), ("exited", 0, None))
        self.assertGreater(r["duration_ms"], 0)

    def test_exit_codes_and_tracebacks(self):
        r = self.client.execute("import sys; sys.exit(3)")
        self.assertEqual((r["success"], r["exit_code"], r["reason"]), (False, 3, "exited"))
        r = self.client.execute("x = 1\nraise ValueError('boom')")
        self.assertEqual(r["exit_code"], 1)
        self.assertIn('File "<code>", line 2', r["stderr"])
        self.assertIn("raise ValueError('boom')", r["stderr"])
        self.assertNotIn("bootstrap", r["stderr"])
        r = self.client.execute("import os, signal; os.kill(os.getpid(), signal.SIGTERM)")
        self.assertEqual((r["reason"], r["exit_code"]), ("signaled", 128 + 15))

    def test_files_in_and_out(self):
        r = self.client.execute(
            "import os\n"
            "print(open('data/in.txt').read())\n"
            "open('out.txt', 'w').write('written')\n"
            "os.makedirs('deep/er', exist_ok=True)\n"
            "open('deep/er/x.bin', 'wb').write(bytes(range(256)))\n"
            "open('changed.txt', 'a').write('+more')\n",
            files={"data/in.txt": b"input", "changed.txt": b"start", "same.txt": b"same"})
        self.assertEqual(r["stdout"], "input\n")
        # Compared together so that a failure shows why files were left out.
        self.assertEqual({"files": r["files"], "files_omitted": r["files_omitted"]},
                         {"files": {"out.txt": b"written", "deep/er/x.bin": bytes(range(256)),
                                    "changed.txt": b"start+more"},
                          "files_omitted": []},
                         {k: r[k] for k in ("reason", "exit_code", "error", "stderr")})

    def test_what_cannot_come_back_is_named_not_followed(self):
        # A symlink (here to a host path), a fifo, a name JSON cannot carry and a file past
        # the size cap: each is listed by its own name and reason; nothing blocks or follows.
        r = self.client.execute(
            "import os\n"
            "os.symlink('/etc/hostname', 'link')\n"
            "os.symlink('/etc', 'dirlink')\n"
            "os.mkfifo('pipe')\n"
            "open(b'bad\\xffname', 'w').write('x')\n"
            "open('big', 'wb').write(b'0' * (11 << 20))\n"
            "open('kept.txt', 'w').write('kept')\n")
        self.assertEqual(r["reason"], "exited", r["stderr"])
        self.assertEqual(r["files"], {"kept.txt": b"kept"})
        omitted = {f["path"]: f["reason"] for f in r["files_omitted"]}
        self.assertEqual(omitted.get("link"), "symlink", omitted)
        self.assertEqual(omitted.get("dirlink"), "symlink", omitted)
        self.assertEqual(omitted.get("pipe"), "fifo", omitted)
        self.assertEqual(omitted.get("bad\ufffdname"), "name is not valid UTF-8", omitted)
        self.assertIn("big", omitted)
        self.assertEqual(len(omitted), 5, omitted)

    def test_stdin_env_and_working_directory(self):
        r = self.client.execute("import os, sys\nprint(sys.stdin.read().upper(), os.getcwd(), "
                                "os.environ['GREETING'])", stdin="hello", env={"GREETING": "hi"})
        self.assertEqual(r["stdout"], "HELLO /workspace hi\n")

    def test_timeout(self):
        start = time.monotonic()
        r = self.client.execute("import time\nprint('before', flush=True)\ntime.sleep(30)",
                                timeout_ms=700)
        self.assertEqual((r["reason"], r["exit_code"], r["success"]), ("timeout", 124, False))
        self.assertEqual(r["stdout"], "before\n")
        self.assertLess(time.monotonic() - start, 10)

    def test_timeout_above_the_profile_is_refused(self):
        with self.assertRaises(NsboxError) as ctx:
            self.client.execute("pass", timeout_ms=10**9)
        self.assertEqual((ctx.exception.status, ctx.exception.field), (400, "timeout_ms"))

    def test_output_limit(self):
        r = self.client.execute("import sys\nwhile True: sys.stdout.write('x' * 65536)")
        self.assertEqual(r["reason"], "output_limit")
        self.assertTrue(r["truncated"])
        self.assertLessEqual(len(r["stdout"]), (1 << 20) + 256)

    def test_no_network(self):
        r = self.client.execute("import socket\nsocket.create_connection(('1.1.1.1', 53), 2)")
        self.assertFalse(r["success"])
        self.assertRegex(r["stderr"], r"(OSError|PermissionError|ConnectionRefusedError)")

    def test_requests_are_isolated(self):
        first = self.client.execute(
            "import subprocess\n"
            "open('/tmp/left', 'w').write('x'); open('/workspace/left', 'w').write('x')\n"
            "open('/home/sandbox/left', 'w').write('x')\n"
            "subprocess.Popen(['sleep', '300'], start_new_session=True)\n"
            "print('ok')")
        self.assertEqual(first["stdout"], "ok\n")
        second = self.client.execute(
            "import os\n"
            "print([p for p in ('/tmp/left', '/workspace/left', '/home/sandbox/left') "
            "if os.path.exists(p)])\n"
            "print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))")
        self.assertEqual(second["stdout"].splitlines()[0], "[]")
        # A fresh pid namespace: the init and the interpreter, nothing of the first request.
        self.assertNotIn("sleep", second["stdout"])
        self.assertLessEqual(len(json.loads(second["stdout"].splitlines()[1])), 3)

    def test_bad_requests_name_the_field(self):
        cases = [
            (b'{"code": 1}', "code"),
            (b'{"files": {}}', "code"),
            (b'{"code": "", "files": {"../x": ""}}', 'files["../x"]'),
            (b'{"code": "", "files": {"/etc/x": ""}}', 'files["/etc/x"]'),
            (b'{"code": "", "files": {"a": "not base64!"}}', 'files["a"]'),
            (b'{"code": "", "env": {"A=B": "x"}}', 'env["A=B"]'),
            (b'{"code": "", "timeout_ms": "5"}', "timeout_ms"),
            (b'{"code": "", "timeout": 5}', "timeout"),
        ]
        for body, field in cases:
            status, doc, _ = raw_request(self.server, "POST", "/v1/execute", body)
            self.assertEqual((status, doc.get("field")), (400, field), body)
        status, doc, _ = raw_request(self.server, "POST", "/v1/execute", b'{"code": "x"')
        self.assertEqual(status, 400)
        self.assertIn("malformed JSON", doc["error"])
        status, _, _ = raw_request(self.server, "GET", "/v1/execute")
        self.assertEqual(status, 405)
        status, _, _ = raw_request(self.server, "GET", "/nope")
        self.assertEqual(status, 404)

    def test_oversized_body(self):
        # Refused on its declared length, before the body is read.
        sock = socket.socket(socket.AF_UNIX)
        sock.settimeout(30)
        sock.connect(self.server.socket)
        sock.sendall(b"POST /v1/execute HTTP/1.1\r\nHost: x\r\nContent-Length: 17000000\r\n\r\n"
                     + b"{" * 1000)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
        sock.close()
        self.assertTrue(answer.startswith(b"HTTP/1.1 413"), answer)
        self.assertIn(b"larger than", answer)
        # And without a length (chunked), once it passes the limit.
        conn = http.client.HTTPConnection("localhost", timeout=60)
        conn.sock = socket.socket(socket.AF_UNIX)
        conn.sock.connect(self.server.socket)
        conn.putrequest("POST", "/v1/execute")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        try:
            for _ in range(20):
                conn.send(b"100000\r\n" + b"x" * 0x100000 + b"\r\n")
            conn.send(b"0\r\n\r\n")
        except OSError:
            pass  # the server may answer and close before the body ends
        self.assertEqual(conn.getresponse().status, 413)
        conn.close()

    def test_health_and_info(self):
        self.assertEqual(self.client.health()["status"], "ok")
        info = self.client.info()
        self.assertEqual(info["profile"], "serve")
        self.assertEqual(info["timeout_ms"]["max"], 30000)
        self.assertEqual(info["limits"]["memory_bytes"], 512 << 20)
        self.assertEqual(info["limits"]["mode"], "strict" if EXPECT_CGROUP else "best-effort")
        self.assertEqual(info["limits"]["enforced"], info["limits"]["warning"] is None)
        self.assertEqual(info["max_concurrency"], 2)

    def test_every_request_is_logged(self):
        self.client.execute("print(1)", timeout_ms=5000)
        time.sleep(0.2)
        records = [r for r in self.server.log_records() if r["path"] == "/v1/execute"]
        self.assertTrue(records)
        last = records[-1]
        for key in ("time", "request", "client", "status", "reason", "exit_code", "duration_ms"):
            self.assertIn(key, last)

    def test_agent_example(self):
        example = os.path.join(HERE, "..", "..", "integrations", "python", "examples",
                               "agent_tool.py")
        run = subprocess.run([sys.executable, example, "--server", self.server.url],
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        self.assertIn("3.875", run.stdout)

    def test_client_program_mirrors_output_and_status(self):
        with tempfile.TemporaryDirectory() as d:
            script = os.path.join(d, "prog.py")
            with open(script, "w") as f:
                f.write("import sys\nprint('args', sys.argv[1:])\nsys.exit(7)\n")
            run = subprocess.run([sys.executable, os.path.join(HERE, "..", "..", "integrations",
                                                               "python", "nsbox_client.py"),
                                  "--server", self.server.url, "run", script, "a", "b"],
                                 capture_output=True, text=True, stdin=subprocess.DEVNULL,
                                 timeout=60)
        self.assertEqual((run.returncode, run.stdout), (7, "args ['a', 'b']\n"))

    @unittest.skipUnless(EXPECT_CGROUP, "needs an enforced memory limit (the VM stage)")
    def test_out_of_memory(self):
        r = self.client.execute("b = []\nwhile True: b.append(bytearray(1 << 24))")
        self.assertEqual((r["reason"], r["exit_code"]), ("oom", 137))
        self.assertIsNotNone(r["peak_memory_bytes"])


class Limits(unittest.TestCase):
    def test_concurrency_beyond_the_limit_and_queue(self):
        server = Server("--max-concurrency", "1", "--queue", "1", "--pool", "1")
        try:
            results = []

            def call():
                try:
                    results.append(server.client().execute("import time; time.sleep(1.5)")["reason"])
                except NsboxError as error:
                    results.append(error.status)

            threads = [threading.Thread(target=call) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            self.assertEqual(sorted(map(str, results)), ["429", "429", "exited", "exited"])
        finally:
            server.stop()

    def test_ready_sandboxes_outlive_the_profile_timeout(self):
        # The profile's timeout limits each request, not how long a sandbox waits for one.
        with tempfile.TemporaryDirectory(prefix="nsbox-test-profile-") as d:
            profile = os.path.join(d, "short.toml")
            with open(profile, "w") as f:
                f.write('extends = "serve"\n[sandbox]\ntimeout = "1s"\n')
            server = Server("--profile", profile, "--pool", "1")
            try:
                time.sleep(2.5)
                r = server.client().execute("print('still here')")
                self.assertEqual((r["reason"], r["stdout"]), ("exited", "still here\n"))
                r = server.client().execute("import time; time.sleep(5)")
                self.assertEqual(r["reason"], "timeout")
                self.assertLess(r["duration_ms"], 4000)
            finally:
                server.stop()

    def test_a_ready_sandbox_killed_from_outside_is_not_used(self):
        server = Server("--pool", "1", "--max-concurrency", "1")
        try:
            time.sleep(1)
            workers = subprocess.run(["pgrep", "-f", "--", "--sandbox-worker .*" + server.dir],
                                     capture_output=True, text=True).stdout.split()
            self.assertEqual(len(workers), 1, workers)
            os.kill(int(workers[0]), signal.SIGKILL)
            # Noticed while waiting, not when a request would take it: counted, reaped (no
            # zombie left) and replaced.
            _, health = server.health_until(
                lambda h: (h["sandbox_failures"], h["ready_sandboxes"]) == (1, 1), timeout=20)
            self.assertEqual((health["sandbox_failures"], health["ready_sandboxes"]), (1, 1))
            self.assertEqual(health["status"], "ok")
            self.assertFalse(os.path.exists(f"/proc/{workers[0]}"), "the worker was not reaped")
            r = server.client().execute("print('fresh')")
            self.assertEqual(r["stdout"], "fresh\n")
        finally:
            server.stop()

    def test_health_is_degraded_while_sandboxes_cannot_start(self):
        # The rootfs is reached through a symlink the test removes once a sandbox is ready:
        # that one still serves, every later start fails until the link is back.
        with tempfile.TemporaryDirectory(prefix="nsbox-test-rootfs-") as d:
            rootfs = os.path.join(d, "root")
            os.symlink("/", rootfs)
            server = Server("--rootfs", rootfs, "--pool", "1", "--max-concurrency", "1")
            try:
                status, health = server.health_until(lambda h: h["ready_sandboxes"] == 1)
                self.assertEqual((status, health["status"]), (200, "ok"), health)
                os.unlink(rootfs)
                r = server.client().execute("print('ready before')")
                self.assertEqual(r["stdout"], "ready before\n")

                status, health = server.health_until(lambda h: h["status"] == "degraded")
                self.assertEqual((status, health["status"]), (503, "degraded"), health)
                self.assertEqual(health["ready_sandboxes"], 0)
                self.assertGreaterEqual(health["sandbox_failures"], 1)
                self.assertIn(rootfs, health["last_error"])
                # A request meanwhile gets a 503 with the reason, not a hang.
                with self.assertRaises(NsboxError) as refused:
                    server.client().execute("print('never')")
                self.assertEqual(refused.exception.status, 503)
                self.assertIn(rootfs, str(refused.exception))

                os.symlink("/", rootfs)
                status, health = server.health_until(lambda h: h["ready_sandboxes"] == 1)
                self.assertEqual((status, health["status"]), (200, "ok"), health)
                r = server.client().execute("print('back')")
                self.assertEqual(r["stdout"], "back\n")
            finally:
                server.stop()

    def test_disconnected_client_stops_its_sandbox(self):
        server = Server("--pool", "1")
        try:
            sock = socket.socket(socket.AF_UNIX)
            sock.connect(server.socket)
            body = json.dumps({"code": "import time; time.sleep(25)"}).encode()
            sock.sendall(b"POST /v1/execute HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                         b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            time.sleep(1.5)
            sock.close()
            deadline = time.monotonic() + 10
            gone = []
            while time.monotonic() < deadline and not gone:
                gone = [r for r in server.log_records() if r.get("client_gone")]
                time.sleep(0.1)
            self.assertTrue(gone, "".join(server.lines))
            self.assertLess(gone[0]["duration_ms"], 10000)
            self.assertEqual(gone[0]["reason"], "signaled")
        finally:
            server.stop()

    def test_sigterm_lets_running_requests_finish(self):
        server = Server("--pool", "1")
        out = {}
        t = threading.Thread(target=lambda: out.update(
            r=server.client().execute("import time; time.sleep(1); print('done')")))
        t.start()
        time.sleep(0.5)
        server.proc.send_signal(signal.SIGTERM)
        t.join(30)
        self.assertEqual(out["r"]["stdout"], "done\n")
        self.assertEqual(server.wait(), 0)
        self.assertFalse(os.path.exists(server.socket))

    def test_sigterm_stops_runs_past_the_deadline(self):
        server = Server("--pool", "1", "--shutdown-timeout", "1")
        out = {}

        def call():
            try:
                server.client().execute("import time; time.sleep(25)")
            except NsboxError as error:
                out["status"] = error.status

        t = threading.Thread(target=call)
        t.start()
        time.sleep(0.7)
        start = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        self.assertEqual(server.wait(), 0)
        t.join(10)
        self.assertLess(time.monotonic() - start, 10)
        self.assertEqual(out.get("status"), 503)
        stray = subprocess.run(["pgrep", "-f", "--sandbox-worker " + "serve"],
                               capture_output=True, text=True).stdout.split()
        self.assertEqual(stray, [])


class TcpServer(unittest.TestCase):
    def test_tcp_needs_a_token_file(self):
        server = Server(tcp=True, expect_start=False)
        self.assertEqual(server.wait(), 125)
        self.assertIn("needs --token-file", "".join(server.lines))

    def test_token_file_readable_by_others_is_refused(self):
        with tempfile.TemporaryDirectory(prefix="nsbox-test-token-") as d:
            token_file = os.path.join(d, "token")
            with open(token_file, "w") as f:
                f.write(TOKEN)
            os.chmod(token_file, 0o644)
            server = Server("--token-file", token_file, tcp=True, expect_start=False)
            self.assertEqual(server.wait(), 125)
            self.assertIn("readable by other users", "".join(server.lines))

    def test_bearer_token_on_loopback(self):
        server = Server("--pool", "1", tcp=True, token=True)
        try:
            self.assertTrue(server.address.startswith("127.0.0.1:"))
            with self.assertRaises(NsboxError) as ctx:
                server.client().execute("print(1)")
            self.assertEqual(ctx.exception.status, 401)
            with self.assertRaises(NsboxError) as ctx:
                server.client(token="wrong-" + TOKEN).execute("print(1)")
            self.assertEqual(ctx.exception.status, 401)
            r = server.client(token=TOKEN).execute("print(6 * 7)")
            self.assertEqual(r["stdout"], "42\n")
            self.assertEqual(server.client().health()["status"], "ok")  # no token needed
        finally:
            server.stop()


class Startup(unittest.TestCase):
    def test_strict_limits_refuse_to_start_where_they_cannot_be_enforced(self):
        if EXPECT_CGROUP:
            self.skipTest("this host enforces the limits")
        path = tempfile.mktemp(prefix="nsbox-test-strict-")
        proc = subprocess.run([os.path.join(BIN, "nsbox"), "serve", "--listen", "unix:" + path],
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 125)
        lines = proc.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, proc.stderr)
        self.assertIn("limits.mode is strict", lines[0])
        self.assertIn("--limits best-effort", lines[0])
        self.assertFalse(os.path.exists(path), "the refused server left its socket")

    def test_bad_flags_and_profiles(self):
        for args, text in [(["--listen", "nonsense:"], "--listen"),
                           (["--profile", "/nonexistent/p.toml"], "p.toml"),
                           (["--max-body", "lots"], "--max-body")]:
            proc = subprocess.run([os.path.join(BIN, "nsbox"), "serve"] + LIMITS + args,
                                  capture_output=True, text=True, timeout=60)
            self.assertEqual(proc.returncode, 125, args)
            self.assertIn(text, proc.stderr)


if __name__ == "__main__":
    if "--bin" in sys.argv:
        i = sys.argv.index("--bin")
        BIN = os.path.abspath(sys.argv[i + 1])
        del sys.argv[i:i + 2]
    if not BIN:
        sys.exit("usage: test_serve.py --bin BUILD/bin [unittest args]")
    unittest.main(verbosity=2)
