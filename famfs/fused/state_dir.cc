#include "state_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace famfs::fused {

Result<StateDir> StateDir::prepare(const std::string& given) {
    if (given.empty()) {
        std::string tmpl = "/tmp/famfs_shadow_XXXXXX";
        std::vector<char> buf(tmpl.begin(), tmpl.end());
        buf.push_back('\0');
        if (!mkdtemp(buf.data())) {  // mode 0700
            return make_error(
                errno, "cannot make a state directory " + tmpl + ": " + std::strerror(errno));
        }
        return StateDir(buf.data(), true);
    }
    std::string path = given;
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    if (mkdir(path.c_str(), 0700) == 0) return StateDir(path, true);
    const int err = errno;
    struct stat st {};
    if (err == EEXIST && stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        return StateDir(path, false);
    }
    return make_error(err == EEXIST ? ENOTDIR : err,
                      "state directory " + path + ": " +
                          (err == EEXIST ? "exists and is not a directory" : std::strerror(err)));
}

StateDir::StateDir(StateDir&& o) noexcept : path_(std::move(o.path_)), made_(o.made_) {
    o.made_ = false;
    o.path_.clear();
}

StateDir::~StateDir() {
    // Only what this server made; anything left inside keeps it.
    if (made_) rmdir(path_.c_str());
}

}  // namespace famfs::fused
