// A person at a terminal, for the nsbox shell / --tty tests: a bash on a new pseudo-terminal
// (its controlling terminal, in the terminal's default modes) saves `stty -g`, runs nsbox in the
// foreground, prints "nsbox-exit=N", saves `stty -g` again, and then reads one line for a second
// to catch anything injected into the terminal ("outer-read=[...]"). The test types keys and
// reads the screen through the terminal's master side.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace nsbox::test {

struct TerminalOptions {
    std::map<std::string, std::string> env;  // added to PATH, HOME, TERM and the runtime dir
    std::filesystem::path cwd;
    unsigned short rows = 24;
    unsigned short cols = 80;
};

class TerminalSession {
 public:
    TerminalSession(const std::vector<std::string>& nsbox_args, const TerminalOptions& options);
    ~TerminalSession();  // kills what is left and reaps it
    TerminalSession(const TerminalSession&) = delete;
    TerminalSession& operator=(const TerminalSession&) = delete;

    // Reads the screen until `text` appears after the previous match; false after `limit`.
    bool wait_for(const std::string& text, std::chrono::seconds limit = std::chrono::seconds(30));
    void type(const std::string& keys) const;
    // A new window size; the kernel signals the terminal's foreground job (nsbox).
    void resize(unsigned short rows, unsigned short cols) const;
    // The running nsbox (the wrapper's child), or nullopt.
    [[nodiscard]] std::optional<pid_t> nsbox_pid() const;
    // nsbox's child: the sandbox's init (its command line is "nsbox-init").
    [[nodiscard]] std::optional<pid_t> sandbox_init_pid() const;
    // Waits for the wrapper to finish; nsbox's exit status, or -1 if it never reported one.
    int finish(std::chrono::seconds limit = std::chrono::seconds(30));
    // The wrapper's `stty -g` before and after nsbox are the same (after finish()).
    [[nodiscard]] bool modes_restored() const;
    [[nodiscard]] const std::string& screen() const { return screen_; }

 private:
    bool pump(std::chrono::steady_clock::time_point deadline);

    pid_t pid_ = -1;
    int master_ = -1;
    std::filesystem::path before_;
    std::filesystem::path after_;
    std::string screen_;
    std::size_t matched_ = 0;
    bool reaped_ = false;
};

}  // namespace nsbox::test
