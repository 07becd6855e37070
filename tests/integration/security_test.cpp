// The security layers seen from inside: capability sets, no_new_privs, the seccomp policy's
// errnos and its reporting, the kill action, profile edits, Landlock (TCP, abstract sockets,
// reopening inherited fds) and the init's command line.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "harness.hpp"

namespace nsbox::test {
namespace {

RunOutput run_python(const std::string& code, std::vector<std::string> flags = {},
                     const RunSettings& settings = {}) {
    TempDir ws;
    ws.write("job.py", code);
    std::vector<std::string> args = {"run"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back((ws.path() / "job.py").string());
    return run_nsbox(args, settings);
}

// A Python prelude: sc(name_or_nr, *args) -> errno name ("ok" on success).
const std::string kSyscallPrelude =
    "import ctypes, errno, os, platform\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "libc.syscall.restype = ctypes.c_long\n"
    "def sc(nr, *a):\n"
    "    ctypes.set_errno(0)\n"
    "    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(x) for x in a])\n"
    "    return 'ok' if r != -1 else errno.errorcode[ctypes.get_errno()]\n";

int landlock_abi() {
    const long abi = ::syscall(444, nullptr, 0, 1U);
    return abi > 0 ? static_cast<int>(abi) : 0;
}

std::string write_profile(const TempDir& dir, const std::string& text) {
    dir.write("p.toml", text);
    return (dir.path() / "p.toml").string();
}

TEST(Security, PayloadHoldsNoCapabilitiesAndCannotGainAny) {
    RunOutput out = run_probe({"status"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    const auto& status = out.probe["status"];
    for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"})
        EXPECT_EQ(status[set], "0000000000000000") << set;
    EXPECT_EQ(status["NoNewPrivs"], "1");
    EXPECT_EQ(status["Seccomp"], "2");
}

TEST(Security, SecurebitsAreLocked) {
    const RunOutput out = run_python(
        "import ctypes\n"
        "libc = ctypes.CDLL(None)\n"
        "print(hex(libc.prctl(27, 0, 0, 0, 0)))\n");  // PR_GET_SECUREBITS
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    // NOROOT, NOROOT_LOCKED, NO_SETUID_FIXUP_LOCKED, KEEP_CAPS_LOCKED,
    // NO_CAP_AMBIENT_RAISE(+LOCKED)
    EXPECT_EQ(out.stdout_text, "0xeb\n");
}

#if defined(__x86_64__)
TEST(Security, DeniedCallsFailWithTheDocumentedErrno) {
    const RunOutput out = run_python(
        kSyscallPrelude +
        "import socket\n"
        "print('ptrace', sc(101, 0, 0, 0, 0))\n"
        "print('bpf', sc(321, 0, 0, 0))\n"
        "print('io_uring_setup', sc(425, 1, 0))\n"
        "print('userfaultfd', sc(323, 0))\n"
        "print('keyctl', sc(250, 0, 0))\n"
        "print('mount', sc(165, 0, 0, 0, 0, 0))\n"
        "print('open_tree', sc(428, -100, 0, 0))\n"
        "print('unshare-user', sc(272, 0x10000000))\n"
        "print('unshare-files', sc(272, 0x400))\n"
        "print('setns', sc(308, 0, 0))\n"
        "print('personality-noaslr', sc(135, 0x40000))\n"
        "print('personality-query', 'ok' if libc.personality(0xffffffff) >= 0 else 'fail')\n"
        "print('clone3', sc(435, 0, 0))\n"
        "print('x32-getpid', sc(0x40000000 | 39))\n"
        "try:\n"
        "    socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0); print('netlink ok')\n"
        "except OSError as e: print('netlink', errno.errorcode[e.errno])\n"
        "try:\n"
        "    socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0); print('packet ok')\n"
        "except OSError as e: print('packet', errno.errorcode[e.errno])\n");
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.stdout_text,
              "ptrace EPERM\nbpf EPERM\nio_uring_setup EPERM\nuserfaultfd EPERM\nkeyctl EPERM\n"
              "mount EPERM\nopen_tree EPERM\nunshare-user EPERM\nunshare-files ok\n"
              "setns EPERM\npersonality-noaslr EPERM\npersonality-query ok\nclone3 ENOSYS\n"
              "x32-getpid ENOSYS\nnetlink EAFNOSUPPORT\npacket EAFNOSUPPORT\n");
}
#endif

TEST(Security, PythonStandardWorkloadsRunUnderThePolicy) {
    const RunOutput out = run_python(
        "import ctypes, os, signal, socket, asyncio, tempfile, mmap, select, fcntl, termios\n"
        "libc = ctypes.CDLL(None); assert libc.getpid() == os.getpid()\n"
        "a, b = socket.socketpair(); a.send(b'x'); assert b.recv(1) == b'x'\n"
        "s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.close()\n"
        "pid = os.fork()\n"
        "if pid == 0: os._exit(7)\n"
        "assert os.waitpid(pid, 0)[1] >> 8 == 7\n"
        "m = mmap.mmap(-1, 4096); m[:2] = b'ok'; assert m[:2] == b'ok'\n"
        "fd = os.memfd_create('x'); os.write(fd, b'1'); os.close(fd)\n"
        "async def main(): await asyncio.sleep(0); return 'async'\n"
        "assert asyncio.run(main()) == 'async'\n"
        "with tempfile.NamedTemporaryFile(dir='/tmp') as f: f.write(b'y'); f.flush()\n"
        "print('ok')\n");
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.stdout_text, "ok\n");
}

TEST(Security, DenialsAreReportedByNameAndCount) {
    TempDir dir;
    const std::string report = (dir.path() / "r.json").string();
    const RunOutput out = run_python(kSyscallPrelude +
                                         "for _ in range(3): sc(101, 0, 0, 0, 0)\n"
                                         "sc(321, 0, 0, 0)\n"
                                         "print('done')\n",
                                     {"-v", "--report", report});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_NE(out.stderr_text.find("nsbox: seccomp denied: ptrace x3, bpf x1\n"), std::string::npos)
        << out.stderr_text;
    std::ifstream in(report);
    const nlohmann::json r = nlohmann::json::parse(in);
    const nlohmann::json expected = {{{"syscall", "ptrace"}, {"count", 3}},
                                     {{"syscall", "bpf"}, {"count", 1}}};
    EXPECT_EQ(r["seccomp"]["denied"], expected) << r["seccomp"];
    EXPECT_TRUE(r["seccomp"]["killed_by"].is_null());
}

TEST(Security, QuietRunsPrintNoDenialLine) {
    const RunOutput out = run_python(kSyscallPrelude + "sc(321, 0, 0, 0)\n", kWithoutCgroupLimits);
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.stderr_text, "");
}

TEST(Security, KillActionEndsTheSandboxAndNamesTheCall) {
    TempDir dir;
    const std::string profile = write_profile(dir, "[seccomp]\naction = \"kill\"\n");
    const std::string report = (dir.path() / "r.json").string();
    const RunOutput out = run_python(kSyscallPrelude +
                                         "print('before', flush=True)\n"
                                         "sc(321, 0, 0, 0)\n"
                                         "print('after')\n",
                                     {"--profile", profile, "--report", report, "--memory", "none",
                                      "--cpus", "none", "--cpu-time", "none"});
    EXPECT_EQ(out.exit_code, 128 + SIGSYS) << out.stderr_text;
    EXPECT_EQ(out.stdout_text, "before\n");
    EXPECT_EQ(out.stderr_text,
              "nsbox: the sandbox was killed: the payload called bpf, which the seccomp policy "
              "denies (seccomp.action = \"kill\")\n");
    std::ifstream in(report);
    const nlohmann::json r = nlohmann::json::parse(in);
    EXPECT_EQ(r["seccomp"]["killed_by"], "bpf");
    EXPECT_EQ(r["signal"], SIGSYS);
}

TEST(Security, ProfileCanAllowADeniedCall) {
    TempDir dir;
    const std::string profile = write_profile(dir, "[seccomp]\nallow = [\"@personality\"]\n");
    const RunOutput out =
        run_python(kSyscallPrelude + "print(sc(135, 0x40000))\n", {"--profile", profile});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.stdout_text, "ok\n");
}

TEST(Security, ProfileCanDenyAnAllowedCall) {
    TempDir dir;
    const std::string profile = write_profile(dir, "[seccomp]\ndeny = [\"memfd_create\"]\n");
    const RunOutput out = run_python(
        "import os, errno\n"
        "try: os.memfd_create('x')\n"
        "except OSError as e: print(errno.errorcode[e.errno])\n",
        {"--profile", profile});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.stdout_text, "EPERM\n");
}

TEST(Security, UnknownSystemCallInAProfileIsOneErrorLine) {
    TempDir dir;
    const std::string profile = write_profile(dir, "[seccomp]\n\ndeny = [\"frobnicate\"]\n");
    const RunOutput out = run_nsbox({"run", "--profile", profile, "--", "/bin/true"});
    EXPECT_EQ(out.exit_code, 125);
    EXPECT_EQ(out.stderr_text, "nsbox: " + profile +
                                   ":3: seccomp.deny: \"frobnicate\" is not a system call on "
                                   "this machine\n");
}

TEST(Security, PrintSpecListsTheLayers) {
    const RunOutput out = run_nsbox({"run", "--print-spec", "--", "/bin/true"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_NE(out.stdout_text.find("# security layers on this machine\n"), std::string::npos);
    EXPECT_NE(out.stdout_text.find("#   seccomp        policy \"default\""), std::string::npos);
    EXPECT_NE(out.stdout_text.find("#   capabilities   none"), std::string::npos);
    EXPECT_NE(out.stdout_text.find("#   landlock       "), std::string::npos);
    EXPECT_NE(out.stdout_text.find("seccomp.action               = \"errno\""), std::string::npos);
}

TEST(Security, ReportListsTheLayers) {
    const RunOutput out = run_nsbox({"run", "--report", "-", "--", "/bin/true"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    const nlohmann::json r = nlohmann::json::parse(out.stdout_text);
    const auto& sec = r["sandbox"]["security"];
    EXPECT_EQ(sec["seccomp"]["policy"], "default");
    EXPECT_GT(sec["seccomp"]["bpf_instructions"].get<int>(), 100);
    EXPECT_EQ(sec["no_new_privs"], true);
    if (landlock_abi() > 0) {
        EXPECT_EQ(sec["landlock"]["abi"], landlock_abi());
    } else {
        EXPECT_TRUE(sec["landlock"]["abi"].is_null());
    }
}

TEST(Security, InitCommandLineShowsNothingOfTheLauncher) {
    const std::string marker = unique_marker("cmdline-secret");
    const RunOutput out = run_nsbox({"run", "--setenv", "TOKEN=" + marker, "--", "/bin/sh", "-c",
                                     "tr '\\0' ' ' < /proc/1/cmdline"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.stdout_text.find(marker), std::string::npos) << out.stdout_text;
    EXPECT_EQ(out.stdout_text.rfind("nsbox-init", 0), 0U) << out.stdout_text;
}

TEST(Landlock, TcpIsRefusedWithTheNetworkOffUnlessAllowed) {
    if (landlock_abi() < 4) GTEST_SKIP() << "Landlock network rules need ABI 4 (Linux 6.7)";
    const std::string code =
        "import socket, errno\n"
        "s = socket.socket()\n"
        "try: s.bind(('127.0.0.1', 0)); print('bound')\n"
        "except OSError as e: print(errno.errorcode[e.errno])\n";
    const RunOutput refused = run_python(code);
    ASSERT_EQ(refused.exit_code, 0) << refused.stderr_text;
    EXPECT_EQ(refused.stdout_text, "EACCES\n");
    TempDir dir;
    const std::string profile = write_profile(dir, "[landlock]\nallow_tcp = true\n");
    const RunOutput allowed = run_python(code, {"--profile", profile});
    ASSERT_EQ(allowed.exit_code, 0) << allowed.stderr_text;
    EXPECT_EQ(allowed.stdout_text, "bound\n");
}

TEST(Landlock, HostAbstractSocketsAreOutOfReachEvenWithTheHostNetwork) {
    if (landlock_abi() < 6) GTEST_SKIP() << "Landlock scoping needs ABI 6 (Linux 6.12)";
    const std::string name = unique_marker("abstract");
    const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(listener, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path + 1, name.data(), name.size());
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), len), 0);
    ASSERT_EQ(::listen(listener, 1), 0);
    const RunOutput out = run_python(
        "import socket, errno\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "try: s.connect('\\0" +
            name +
            "'); print('connected')\n"
            "except OSError as e: print(errno.errorcode[e.errno])\n",
        {"--net", "host"});
    ::close(listener);
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.stdout_text, "EPERM\n");
}

TEST(Landlock, InheritedFdsReopenWithNoMoreAccessThanTheyHave) {
    if (landlock_abi() < 1) GTEST_SKIP() << "this kernel has no Landlock";
    TempDir dir;
    dir.write("input.txt", "host data\n");
    const int fd = ::open((dir.path() / "input.txt").c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    const int high = ::fcntl(fd, F_DUPFD, 70);
    ::close(fd);
    const std::string n = std::to_string(high);
    const RunOutput out = run_python(
        "import errno\n"
        "print(open('/proc/self/fd/" +
            n +
            "').read(), end='')\n"
            "try: open('/proc/self/fd/" +
            n +
            "', 'a'); print('reopened for writing')\n"
            "except OSError as e: print(errno.errorcode[e.errno])\n",
        {"--pass-fd", n});
    ::close(high);
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.stdout_text, "host data\nEACCES\n");
    EXPECT_EQ(dir.read("input.txt"), "host data\n");
}

TEST(Landlock, OffInTheProfileIsReported) {
    TempDir dir;
    const std::string profile = write_profile(dir, "[landlock]\nmode = \"off\"\n");
    const RunOutput out =
        run_nsbox({"run", "--profile", profile, "--print-spec", "--", "/bin/true"});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_NE(out.stdout_text.find("#   landlock       off (landlock.mode)\n"), std::string::npos);
}

}  // namespace
}  // namespace nsbox::test
