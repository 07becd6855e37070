// nsbox: entry point. Everything lives in the engine (nsbox_core) and src/cli.
#include <fcntl.h>

#include <cstdio>
#include <exception>

#include "cli/options.hpp"

int main(int argc, char** argv) {
    // Started with stdin, stdout or stderr closed, nsbox's own descriptors (the sync socket,
    // a pty) would take those numbers and be mistaken for them: fill them with /dev/null.
    for (int fd = 0; fd <= 2; ++fd) {
        if (::fcntl(fd, F_GETFD) < 0 && ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
            return 125;
    }
    try {
        return nsbox::cli::run_cli(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "nsbox: internal error: %s\n", e.what());
    } catch (...) {
        std::fprintf(stderr, "nsbox: internal error\n");
    }
    return 125;
}
