// The workloads the default sandbox is for: CPython with its common native packages, threads,
// multiprocessing (POSIX semaphores in /dev/shm), sqlite3, ssl, caches in HOME.
#include <gtest/gtest.h>

#include <filesystem>

#include "harness.hpp"

namespace nsbox::test {
namespace {

RunOutput run_python(const std::string& code) {
    TempDir ws;
    ws.write("job.py", code);
    return run_nsbox({"run", (ws.path() / "job.py").string()});
}

}  // namespace

TEST(Python, ThreadsAndSubprocessWork) {
    const RunOutput out = run_python(
        "import threading, subprocess\n"
        "t = [threading.Thread(target=lambda: None) for _ in range(8)]\n"
        "[x.start() for x in t]; [x.join() for x in t]\n"
        "print(subprocess.run(['echo', 'child'], capture_output=True, "
        "text=True).stdout.strip())\n");
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.stdout_text, "child\n");
}

TEST(Python, MultiprocessingPoolUsesDevShm) {
    const RunOutput out = run_python(
        "import multiprocessing as mp\n"
        "def sq(x): return x * x\n"
        "if __name__ == '__main__':\n"
        "    with mp.Pool(2) as p: print(sum(p.map(sq, range(10))))\n"
        "    lock = mp.Lock(); lock.acquire(); lock.release()\n");
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.stdout_text, "285\n");
}

TEST(Python, Sqlite3SslAndCachesInHomeWork) {
    const RunOutput out = run_python(
        "import sqlite3, ssl, os, pathlib\n"
        "db = sqlite3.connect('/tmp/t.db'); db.execute('create table t(x)'); db.commit()\n"
        "ctx = ssl.create_default_context(); assert ctx.cert_store_stats()['x509_ca'] > 0\n"
        "p = pathlib.Path(os.environ['XDG_CACHE_HOME']) / 'pip'; p.mkdir(parents=True)\n"
        "(p / 'x').write_text('ok'); print('ok')\n");
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.stdout_text, "ok\n");
}

TEST(Python, NumpyWorksWhenInstalled) {
    if (!std::filesystem::exists("/usr/lib/python3/dist-packages/numpy")) {
        GTEST_SKIP() << "python3-numpy is not installed on this host (scripts/test.sh installs it)";
    }
    const RunOutput out = run_python(
        "import numpy as np\n"
        "a = np.arange(9.0).reshape(3, 3)\n"
        "print(int((a @ a).trace()))\n");
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.stdout_text, "180\n");
}

TEST(Python, ScriptWritesNoBytecodeIntoTheWorkspace) {
    TempDir ws;
    ws.write("helper.py", "VALUE = 42\n");
    ws.write("job.py", "import helper; print(helper.VALUE)\n");
    TempDir out_dir;
    const RunOutput out = run_nsbox(
        {"run", "--output", (out_dir.path() / "o").string(), (ws.path() / "job.py").string()});
    ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_EQ(out.stdout_text, "42\n");
    EXPECT_FALSE(std::filesystem::exists(out_dir.path() / "o" / "__pycache__"));
}

}  // namespace nsbox::test
