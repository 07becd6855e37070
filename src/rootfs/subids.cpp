// Subordinate-id ranges and the user namespace that maps them (see subids.hpp).
#include "rootfs/subids.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "nsbox/unique_fd.hpp"
#include "util/exec.hpp"

namespace nsbox::rootfs {
namespace {

// mmdebstrap maps 65536 ids (0..65535 of its namespace): a Debian system needs them all.
constexpr unsigned long kIdsNeeded = 65536;

// The login name /etc/subuid lists ranges under. Read from /etc/passwd directly: the static
// binary has no NSS (a user known only to a directory service is matched by number).
std::string user_name(uid_t uid) {
    std::ifstream in("/etc/passwd");
    std::string line;
    std::string id = std::to_string(uid);
    while (std::getline(in, line)) {
        const auto first = line.find(':');
        const auto second = line.find(':', first == std::string::npos ? first : first + 1);
        const auto third = line.find(':', second == std::string::npos ? second : second + 1);
        if (third == std::string::npos) continue;
        if (line.compare(second + 1, third - second - 1, id) == 0) return line.substr(0, first);
    }
    return id;
}

unsigned long total(const std::vector<SubidRange>& ranges) {
    unsigned long sum = 0;
    for (const SubidRange& r : ranges) sum += r.count;
    return sum;
}

std::vector<std::string> map_args(pid_t pid, unsigned long own_id,
                                  const std::vector<SubidRange>& ranges) {
    std::vector<std::string> args{std::to_string(pid), "0", std::to_string(own_id), "1"};
    unsigned long next = 1;
    for (const SubidRange& r : ranges) {
        args.push_back(std::to_string(next));
        args.push_back(std::to_string(r.start));
        args.push_back(std::to_string(r.count));
        next += r.count;
    }
    return args;
}

Result<void> write_map(const char* helper, pid_t pid, unsigned long own_id,
                       const std::vector<SubidRange>& ranges) {
    std::vector<std::string> argv{helper};
    for (std::string& arg : map_args(pid, own_id, ranges)) argv.push_back(std::move(arg));
    auto status = util::run_program(argv);
    if (!status) return fail(status.error());
    if (*status != 0)
        return fail(Error::system(Step::kRootfs, EPERM,
                                  fmt::format("{} failed (exit {})", helper, *status)));
    return {};
}

}  // namespace

std::vector<SubidRange> subordinate_ranges(const std::string& file, const std::string& user,
                                           unsigned long id) {
    std::vector<SubidRange> ranges;
    std::ifstream in(file);
    std::string line;
    const std::string id_text = std::to_string(id);
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string owner;
        std::string start;
        std::string count;
        if (!std::getline(fields, owner, ':') || !std::getline(fields, start, ':') ||
            !std::getline(fields, count))
            continue;
        if (owner != user && owner != id_text) continue;
        try {
            const unsigned long s = std::stoul(start);
            const unsigned long c = std::stoul(count);
            if (c > 0) ranges.push_back({s, c});
        } catch (const std::exception&) {  // a malformed line grants nothing
            continue;
        }
    }
    return ranges;
}

std::string rootless_build_problem() {
    const uid_t uid = ::getuid();
    const std::string user = user_name(uid);
    for (const char* helper : {"newuidmap", "newgidmap"}) {
        if (util::find_program(helper).empty())
            return fmt::format(
                "rootless builds need {} (setuid helper from the uidmap package): install it "
                "with apt-get install uidmap",
                helper);
    }
    const auto uids = subordinate_ranges("/etc/subuid", user, uid);
    const auto gids = subordinate_ranges("/etc/subgid", user, ::getgid());
    if (total(uids) < kIdsNeeded || total(gids) < kIdsNeeded) {
        return fmt::format(
            "rootless builds need {} subordinate user and group ids for \"{}\" in /etc/subuid "
            "and /etc/subgid (found {} and {}): ask an administrator to run "
            "usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {}",
            kIdsNeeded, user, total(uids), total(gids), user);
    }
    return {};
}

Result<int> run_as_subordinate_root(const std::function<int()>& body) {
    const uid_t uid = ::getuid();
    const gid_t gid = ::getgid();
    const std::string user = user_name(uid);
    const auto uids = subordinate_ranges("/etc/subuid", user, uid);
    const auto gids = subordinate_ranges("/etc/subgid", user, gid);
    int to_child[2];
    int to_parent[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(to_parent, O_CLOEXEC) != 0)
        return fail(Error::from_errno(Step::kRootfs, "pipe"));
    UniqueFd child_in(to_child[0]), parent_out(to_child[1]);
    UniqueFd parent_in(to_parent[0]), child_out(to_parent[1]);
    const pid_t pid = ::fork();
    if (pid < 0) return fail(Error::from_errno(Step::kRootfs, "fork"));
    if (pid == 0) {
        parent_out.reset();
        parent_in.reset();
        char byte = 0;
        if (::unshare(CLONE_NEWUSER) != 0) _exit(125);
        if (::write(child_out.get(), "u", 1) != 1) _exit(125);
        if (::read(child_in.get(), &byte, 1) != 1 || byte != 'm') _exit(125);
        _exit(body());
    }
    child_in.reset();
    child_out.reset();
    char byte = 0;
    Result<void> mapped = {};
    if (::read(parent_in.get(), &byte, 1) != 1) {
        mapped = fail(Error::system(Step::kRootfs, EPERM, "create a user namespace"));
    } else {
        mapped = write_map("newuidmap", pid, uid, uids);
        if (mapped) mapped = write_map("newgidmap", pid, gid, gids);
    }
    if (mapped) (void)!::write(parent_out.get(), "m", 1);
    parent_out.reset();
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return fail(Error::from_errno(Step::kRootfs, "waitpid"));
    }
    if (!mapped) return fail(mapped.error());
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace nsbox::rootfs
