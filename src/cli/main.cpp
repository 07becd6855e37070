// nsbox: entry point. Everything lives in the engine (nsbox_core) and src/cli.
#include <cstdio>
#include <exception>

#include "cli/options.hpp"

int main(int argc, char** argv) {
    try {
        return nsbox::cli::run_cli(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "nsbox: internal error: %s\n", e.what());
    } catch (...) {
        std::fprintf(stderr, "nsbox: internal error\n");
    }
    return 125;
}
