// nsbox shell and --tty, driven through a real pseudo-terminal as a person would use them.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness.hpp"
#include "terminal_session.hpp"

namespace nsbox::test {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

constexpr const char* kPrompt = "(nsbox)";
constexpr const char* kSecretKey = "-----BEGIN OPENSSH PRIVATE KEY----- not-for-the-sandbox";
// Root's sandbox user is an unprivileged host id: a project it may write must belong to
// someone other than root (as it does for a developer), so root's tests hand it to this id.
constexpr uid_t kProjectOwner = 4242;

// Waits until a process with command line `command` (words separated by spaces) is the
// foreground job of its terminal: only then does a typed ^C or ^Z reach it.
bool wait_until_foreground(std::string command) {
    std::replace(command.begin(), command.end(), ' ', '\0');
    command.push_back('\0');
    const auto deadline = std::chrono::steady_clock::now() + seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
        for (const int pid : processes_with(command)) {
            const std::string text = read_text("/proc/" + std::to_string(pid) + "/stat");
            const auto paren = text.rfind(')');
            if (paren == std::string::npos) continue;
            // Fields after the command name: state ppid pgrp session tty_nr tpgid.
            std::istringstream stat(text.substr(paren + 1));
            std::string state;
            long ppid = 0, pgrp = 0, session = 0, tty = 0, tpgid = 0;
            stat >> state >> ppid >> pgrp >> session >> tty >> tpgid;
            if (pgrp > 0 && pgrp == tpgid) return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

// A caller's home with a secret in ~/.ssh and a git project below it.
class ShellTest : public ::testing::Test {
 protected:
    void SetUp() override {
        home_ = dir_.path() / "home";
        project_ = home_ / "project";
        fs::create_directories(home_ / ".ssh");
        fs::create_directories(project_ / "src");
        std::ofstream(home_ / ".ssh/id_ed25519") << kSecretKey << "\n";
        const std::string git_init = "git init -q " + project_.string();
        ASSERT_EQ(std::system(git_init.c_str()), 0);
        std::ofstream(project_ / "src/inject.py")
            << "import fcntl, termios\n"
               "try:\n"
               "    for c in b'echo INJECTED-$((40+2))\\n':\n"
               "        fcntl.ioctl(0, termios.TIOCSTI, bytes([c]))\n"
               "    print('tiocsti=ok')\n"
               "except OSError as e:\n"
               "    print('tiocsti=%d' % e.errno)\n";
        if (::geteuid() == 0) {
            const std::string chown = "chown -R " + std::to_string(kProjectOwner) + ":" +
                                      std::to_string(kProjectOwner) + " " + project_.string();
            ASSERT_EQ(std::system(chown.c_str()), 0);
        }
    }

    TerminalOptions options(const fs::path& cwd) const {
        TerminalOptions o;
        o.cwd = cwd;
        o.env = {{"HOME", home_.string()},
                 {"XDG_DATA_HOME", (dir_.path() / "data").string()},
                 {"SECRET_TOKEN", "hunter2-do-not-leak"}};
        return o;
    }

    enum class Target { kNsbox, kSandboxInit };
    struct Ending {
        int exit_code = -1;
        bool modes_restored = false;
        std::string screen;
    };

    // An interactive session ended by `signal` to nsbox or to the sandbox's init.
    Ending signal_the_session(Target target, int signal) const {
        TerminalSession term({"shell", "-q"}, options(project_));
        Ending end;
        if (!term.wait_for(kPrompt)) {
            end.screen = term.screen();
            return end;
        }
        const auto pid = target == Target::kNsbox ? term.nsbox_pid() : term.sandbox_init_pid();
        if (pid) ::kill(*pid, signal);
        end.exit_code = term.finish();
        end.modes_restored = term.modes_restored();
        end.screen = term.screen();
        return end;
    }

    TempDir dir_;
    fs::path home_;
    fs::path project_;
};

TEST_F(ShellTest, InteractiveShellWorksInTheProjectAndSeesNoHostSecrets) {
    TerminalSession term({"shell"}, options(project_ / "src"));
    ASSERT_TRUE(term.wait_for("nsbox: shell in " + project_.string())) << term.screen();
    ASSERT_TRUE(term.wait_for(kPrompt)) << term.screen();
    // Each check prints a line the typed command itself cannot contain.
    term.type("echo \"cwd=$(pwd)\"; echo \"token=[${SECRET_TOKEN:-absent}]\"; tty\n");
    EXPECT_TRUE(term.wait_for("cwd=" + (project_ / "src").string())) << term.screen();
    EXPECT_TRUE(term.wait_for("token=[absent]")) << term.screen();
    EXPECT_TRUE(term.wait_for("/dev/pts/0")) << term.screen();
    term.type("cat " + (home_ / ".ssh/id_ed25519").string() + " ~/.ssh/id_ed25519; echo c=$?\n");
    EXPECT_TRUE(term.wait_for("c=1")) << term.screen();
    term.type("echo made-inside > made.txt && git status --porcelain -uall; echo g=$?\n");
    EXPECT_TRUE(term.wait_for("?? src/made.txt")) << term.screen();
    EXPECT_TRUE(term.wait_for("g=0")) << term.screen();
    term.type("exit\n");
    EXPECT_EQ(term.finish(), 0) << term.screen();
    EXPECT_EQ(term.screen().find("hunter2"), std::string::npos);
    EXPECT_EQ(term.screen().find("not-for-the-sandbox"), std::string::npos);
    std::ifstream made(project_ / "src/made.txt");
    std::string content;
    std::getline(made, content);
    EXPECT_EQ(content, "made-inside");
    EXPECT_TRUE(term.modes_restored());
}

// What a developer does in a project shell: edit a file in a full-screen editor, run Python
// and the project's tests (Debian's pytest), all through the sandbox's terminal.
TEST_F(ShellTest, EditorPythonAndPytestWork) {
    std::ofstream(project_ / "test_math.py") << "def test_sum():\n    assert sum([1, 2]) == 3\n";
    if (::geteuid() == 0) {
        ASSERT_EQ(::chown((project_ / "test_math.py").c_str(), kProjectOwner, kProjectOwner), 0);
    }
    TerminalSession term({"shell", "-q"}, options(project_));
    ASSERT_TRUE(term.wait_for(kPrompt)) << term.screen();
    term.type("vi -u NONE notes.txt\n");
    std::this_thread::sleep_for(std::chrono::seconds(1));
    term.type("iwritten in vi\x1b:wq\n");
    ASSERT_TRUE(term.wait_for(" written")) << term.screen();  // vi's message, not the keys' echo
    ASSERT_TRUE(term.wait_for(kPrompt)) << term.screen();
    term.type("cat notes.txt | tr a-z A-Z\n");
    EXPECT_TRUE(term.wait_for("WRITTEN IN VI")) << term.screen();
    term.type("python3 -c 'import sys; print(\"py\", sys.version_info[0] * 2)'\n");
    EXPECT_TRUE(term.wait_for("py 6")) << term.screen();
    term.type("python3 -m pytest -q -p no:cacheprovider test_math.py\n");
    EXPECT_TRUE(term.wait_for("1 passed")) << term.screen();
    term.type("exit\n");
    EXPECT_EQ(term.finish(), 0) << term.screen();
    EXPECT_TRUE(term.modes_restored());
}

TEST_F(ShellTest, WindowSizeReachesTheShellAndFollowsResizes) {
    TerminalOptions o = options(project_);
    o.rows = 30;
    o.cols = 100;
    TerminalSession term({"shell", "-q"}, o);
    ASSERT_TRUE(term.wait_for(kPrompt)) << term.screen();
    term.type("stty size\n");
    EXPECT_TRUE(term.wait_for("30 100")) << term.screen();
    term.resize(40, 120);
    // The size changes asynchronously (SIGWINCH to nsbox, then to the pty): ask until it shows.
    bool resized = false;
    for (int i = 0; i < 20 && !resized; ++i) {
        term.type("echo \"size=$(stty size)\"\n");
        resized = term.wait_for("size=40 120", seconds(1));
    }
    EXPECT_TRUE(resized) << term.screen();
    term.type("exit\n");
    EXPECT_EQ(term.finish(), 0) << term.screen();
    EXPECT_TRUE(term.modes_restored());
}

TEST_F(ShellTest, JobControlCtrlCStopsTheJobNotTheShellAndCtrlZSuspendsIt) {
    TerminalSession term({"shell", "-q"}, options(project_));
    ASSERT_TRUE(term.wait_for(kPrompt)) << term.screen();
    term.type("sleep 61\n");
    ASSERT_TRUE(wait_until_foreground("sleep 61")) << term.screen();
    term.type("\x03");
    term.type("echo \"alive=$((6*7))\"\n");
    EXPECT_TRUE(term.wait_for("alive=42", seconds(10))) << term.screen();
    term.type("sleep 62\n");
    ASSERT_TRUE(wait_until_foreground("sleep 62")) << term.screen();
    term.type("\x1a");
    EXPECT_TRUE(term.wait_for("Stopped", seconds(10))) << term.screen();
    // fg brings it back to the foreground, where ^C ends it and the shell waits for it: no
    // stopped job is left to make `exit` refuse (bash reaps a killed background job late).
    term.type("fg\n");
    ASSERT_TRUE(wait_until_foreground("sleep 62")) << term.screen();
    term.type("\x03");
    term.type("echo \"jobs=[$(jobs)]\"\n");
    EXPECT_TRUE(term.wait_for("jobs=[]")) << term.screen();
    term.type("exit 3\n");
    EXPECT_EQ(term.finish(), 3) << term.screen();
    EXPECT_TRUE(term.modes_restored());
}

TEST_F(ShellTest, TerminalIsRestoredWhenTheSandboxIsKilled) {
    const Ending end = signal_the_session(Target::kSandboxInit, SIGKILL);
    EXPECT_EQ(end.exit_code, 128 + SIGKILL) << end.screen;
    EXPECT_TRUE(end.modes_restored);
}

TEST_F(ShellTest, TerminalIsRestoredWhenNsboxIsTerminated) {
    // An interactive shell ignores SIGTERM; nsbox hangs up its terminal, and the shell exits.
    const Ending end = signal_the_session(Target::kNsbox, SIGTERM);
    EXPECT_EQ(end.exit_code, 128 + SIGHUP) << end.screen;
    EXPECT_TRUE(end.modes_restored);
}

TEST_F(ShellTest, TerminalIsRestoredWhenNsboxItselfCrashes) {
    const Ending end = signal_the_session(Target::kNsbox, SIGSEGV);
    // 139 from a plain build; a sanitizer build reports the signal and exits on its own.
    EXPECT_NE(end.exit_code, 0) << end.screen;
    EXPECT_TRUE(end.modes_restored);
}

// TIOCSTI types into a terminal. Here it is allowed (the shell profile's seccomp policy refuses
// it) to show that even then it only reaches the sandbox's own terminal: the outer one, read
// right after nsbox exits, receives nothing.
TEST_F(ShellTest, TiocstiReachesOnlyTheSandboxsOwnTerminal) {
    dir_.write("allow-tiocsti.toml", "extends = \"shell\"\n[seccomp]\nallow = [\"@terminal\"]\n");
    TerminalSession term(
        {"shell", "-q", "--profile", (dir_.path() / "allow-tiocsti.toml").string()},
        options(project_));
    ASSERT_TRUE(term.wait_for(kPrompt)) << term.screen();
    term.type("python3 src/inject.py\n");
    ASSERT_TRUE(term.wait_for("tiocsti=")) << term.screen();
    const bool injected = term.wait_for("ok", seconds(2));
    if (injected) {
        EXPECT_TRUE(term.wait_for("INJECTED-42")) << term.screen();  // ran inside
    }
    term.type("exit\n");
    EXPECT_EQ(term.finish(), 0) << term.screen();
    EXPECT_NE(term.screen().find("outer-read=[]"), std::string::npos) << term.screen();
    EXPECT_TRUE(term.modes_restored());
    if (!injected) GTEST_SKIP() << "this kernel refuses TIOCSTI (dev.tty.legacy_tiocsti = 0)";
}

TEST_F(ShellTest, DefaultPolicyRefusesTiocsti) {
    TerminalSession term({"shell", "-q"}, options(project_));
    ASSERT_TRUE(term.wait_for(kPrompt)) << term.screen();
    term.type("python3 src/inject.py\n");
    EXPECT_TRUE(term.wait_for("tiocsti=1\r\n")) << term.screen();  // EPERM
    term.type("exit\n");
    EXPECT_EQ(term.finish(), 0) << term.screen();
    EXPECT_NE(term.screen().find("outer-read=[]"), std::string::npos) << term.screen();
}

RunSettings in_project(const fs::path& cwd, const fs::path& home, const std::string& input) {
    RunSettings s;
    s.cwd = cwd;
    s.stdin_data = input;
    s.extra_env = {{"HOME", home.string()},
                   {"XDG_DATA_HOME", (home / ".local/share").string()},
                   {"SECRET_TOKEN", "hunter2-do-not-leak"}};
    return s;
}

TEST_F(ShellTest, WithoutATerminalTheShellReadsCommandsFromStdin) {
    const RunOutput out =
        run_nsbox({"shell", "-q"},
                  in_project(project_ / "src", home_,
                             "echo \"cwd=$(pwd) token=[${SECRET_TOKEN:-absent}]\"; tty; exit 4\n"));
    EXPECT_EQ(out.exit_code, 4) << out.stderr_text;
    EXPECT_NE(out.stdout_text.find("cwd=" + (project_ / "src").string() + " token=[absent]"),
              std::string::npos)
        << out.stdout_text;
    EXPECT_NE(out.stdout_text.find("not a tty"), std::string::npos) << out.stdout_text;
}

// The host's git runs hooks and commands from .git/config by itself (a prompt's `git status`):
// the shell profile keeps them read-only, while commits still work inside.
TEST_F(ShellTest, GitConfigAndHooksAreReadOnlyButCommitsWork) {
    const std::string script =
        "echo '[core] fsmonitor = touch /tmp/pwned' >> .git/config; echo \"config=$?\"\n"
        "touch .git/hooks/post-checkout; echo \"hook=$?\"\n"
        "git add src/inject.py && git -c user.name=dev -c user.email=dev@example.org "
        "commit -qm first && git log --format=%s; echo \"commit=$?\"\n";
    const RunOutput out = run_nsbox({"shell", "-q"}, in_project(project_, home_, script));
    EXPECT_EQ(out.exit_code, 0) << out.stderr_text;
    EXPECT_NE(out.stdout_text.find("config=1"), std::string::npos) << out.stdout_text;
    EXPECT_NE(out.stdout_text.find("hook=1"), std::string::npos) << out.stdout_text;
    EXPECT_NE(out.stdout_text.find("first\ncommit=0"), std::string::npos)
        << out.stdout_text << out.stderr_text;
    EXPECT_EQ(read_text(project_ / ".git/config").find("fsmonitor"), std::string::npos);
    EXPECT_FALSE(fs::exists(project_ / ".git/hooks/post-checkout"));
}

TEST_F(ShellTest, PersistentHomeIsKeptPerProjectAndEphemeralHomeIsNot) {
    const RunSettings write = in_project(project_, home_, "echo remembered > ~/note; exit 0\n");
    ASSERT_EQ(run_nsbox({"shell", "-q", "--home", "persist"}, write).exit_code, 0);
    const RunOutput again = run_nsbox({"shell", "-q", "--home", "persist"},
                                      in_project(project_, home_, "cat ~/note\n"));
    EXPECT_EQ(again.exit_code, 0) << again.stderr_text;
    EXPECT_EQ(again.stdout_text, "remembered\n");
    const RunOutput fresh = run_nsbox(
        {"shell", "-q"}, in_project(project_, home_, "test -e ~/note; echo \"exists=$?\"\n"));
    EXPECT_EQ(fresh.stdout_text, "exists=1\n") << fresh.stderr_text;
    EXPECT_TRUE(fs::is_directory(home_ / ".local/share/nsbox/homes"));
}

TEST_F(ShellTest, RefusesTheHomeDirectoryAsTheProject) {
    const RunOutput out = run_nsbox({"shell", "-q"}, in_project(home_, home_, "exit 0\n"));
    EXPECT_EQ(out.exit_code, 125);
    EXPECT_EQ(out.stderr_text,
              "nsbox: refusing to use " + home_.string() +
                  " as the workspace implicitly (it would expose your home directory); pass "
                  "--workspace DIR\n");
}

TEST_F(ShellTest, RejectsArgumentsBeforeTheSeparator) {
    const RunOutput out = run_nsbox({"shell", "ls"}, in_project(project_, home_, ""));
    EXPECT_EQ(out.exit_code, 125);
    EXPECT_EQ(out.stderr_text,
              "nsbox: shell: unexpected argument ls (a command goes after --; see nsbox shell "
              "--help)\n");
}

TEST_F(ShellTest, RunsAnotherShellAfterTheSeparator) {
    const RunOutput out =
        run_nsbox({"shell", "-q", "--", "sh", "-c", "echo \"sh in $(pwd)\"; exit 7"},
                  in_project(project_ / "src", home_, ""));
    EXPECT_EQ(out.exit_code, 7) << out.stderr_text;
    EXPECT_EQ(out.stdout_text, "sh in " + (project_ / "src").string() + "\n");
}

TEST(RunTty, GivesThePayloadATerminalOfItsOwnWithoutOne) {
    RunSettings s;
    s.stdin_data = "typed-line\n";
    const RunOutput out = run_nsbox(
        {"run", "-q", "--tty", "--", "sh", "-c", "tty; stty size; read -r l; echo \"got=$l\""}, s);
    EXPECT_EQ(out.exit_code, 0) << out.stderr_text;
    // The pty's own echo of the typed line comes first, then the payload's lines (CRLF: the
    // pty translates line ends, as any terminal does).
    EXPECT_NE(out.stdout_text.find("/dev/pts/0\r\n"), std::string::npos) << out.stdout_text;
    EXPECT_NE(out.stdout_text.find("24 80\r\n"), std::string::npos) << out.stdout_text;
    EXPECT_NE(out.stdout_text.find("got=typed-line\r\n"), std::string::npos) << out.stdout_text;
}

// The end of piped input reaches the payload as a person's ^D would: after an unfinished line,
// and in a reader that has its terminal in raw mode (bash's line editor).
TEST(RunTty, EndOfPipedInputEndsTheReader) {
    RunSettings unfinished;
    unfinished.stdin_data = "echo \"sum=$((2+3))\"";
    const RunOutput sh = run_nsbox({"run", "-q", "--tty", "--", "sh"}, unfinished);
    EXPECT_EQ(sh.exit_code, 0) << sh.stderr_text;
    EXPECT_NE(sh.stdout_text.find("sum=5"), std::string::npos) << sh.stdout_text;
    EXPECT_FALSE(sh.timed_out);

    RunSettings lines;
    lines.stdin_data = "echo \"product=$((2*3))\"\n";
    const RunOutput bash = run_nsbox({"run", "-q", "--tty", "--", "bash", "--norc", "-i"}, lines);
    EXPECT_EQ(bash.exit_code, 0) << bash.stderr_text;
    EXPECT_NE(bash.stdout_text.find("product=6"), std::string::npos) << bash.stdout_text;
    EXPECT_FALSE(bash.timed_out);
}

TEST(RunTty, CountsTerminalOutputAgainstTheOutputLimit) {
    const RunOutput out =
        run_nsbox({"run", "-q", "--tty", "--output-limit", "8K", "--", "sh", "-c", "yes"});
    EXPECT_EQ(out.exit_code, 153) << out.stderr_text;
    EXPECT_NE(out.stdout_text.find("[nsbox: output limit of 8K reached; the sandbox was stopped]"),
              std::string::npos);
    EXPECT_LT(out.stdout_text.size(), 8192U + 200U);
}

}  // namespace
}  // namespace nsbox::test
