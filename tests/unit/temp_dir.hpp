// A private directory for one unit test, canonical (so paths compare equal to what the code
// under test resolves), removed with everything in it on scope exit.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

namespace nsbox::testing_support {

class TempDir {
 public:
    TempDir() {
        std::string templ =
            (std::filesystem::path(::testing::TempDir()) / "nsbox_unit_XXXXXX").string();
        if (::mkdtemp(templ.data()) == nullptr)
            ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
        path_ = std::filesystem::canonical(templ);
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    [[nodiscard]] std::string str(const std::string& rel = {}) const {
        return rel.empty() ? path_.string() : (path_ / rel).string();
    }
    // Creates the directory `rel` (and its parents); returns its path.
    std::string dir(const std::string& rel) const {
        std::filesystem::create_directories(path_ / rel);
        return str(rel);
    }
    // Writes `text` to `rel` (creating parents); returns its path.
    std::string file(const std::string& rel, const std::string& text = "print('hi')\n") const {
        std::filesystem::create_directories((path_ / rel).parent_path());
        std::ofstream(path_ / rel, std::ios::binary) << text;
        return str(rel);
    }
    std::filesystem::path write(const std::string& rel, const std::string& text) const {
        return file(rel, text);
    }

 private:
    std::filesystem::path path_;
};

}  // namespace nsbox::testing_support
