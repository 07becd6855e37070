// Parent-side file helpers (see fs.hpp).
#include "util/fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace nsbox::util {

Result<std::string> read_small_file(const std::filesystem::path& file, std::size_t max_bytes) {
    UniqueFd fd{::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY)};
    if (!fd) return fail(Error::system(Step::kNone, errno, ""));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return fail(Error::system(Step::kNone, errno, ""));
    if (!S_ISREG(st.st_mode)) return fail(Error::system(Step::kNone, 0, "not a regular file"));
    if (static_cast<std::size_t>(st.st_size) > max_bytes) {
        return fail(
            Error::system(Step::kNone, 0, "larger than " + std::to_string(max_bytes) + " bytes"));
    }
    std::string data;
    char buffer[16384];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(Error::system(Step::kNone, errno, ""));
        if (n == 0) break;
        data.append(buffer, static_cast<std::size_t>(n));
        if (data.size() > max_bytes) {
            return fail(Error::system(Step::kNone, 0,
                                      "larger than " + std::to_string(max_bytes) + " bytes"));
        }
    }
    return data;
}

Result<void> write_all(int fd, std::string_view data, Step step, const std::string& what) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(Error::from_errno(step, what));
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

Result<UniqueFd> open_fd(const std::string& path, int flags, Step step, mode_t mode) {
    UniqueFd fd{::open(path.c_str(), flags | O_CLOEXEC, mode)};
    if (!fd) return fail(Error::from_errno(step, "open " + path));
    return fd;
}

}  // namespace nsbox::util
