#include "mount_server.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <vector>

#include "famfs/meta_protocol.h"

namespace famfs::cli {

std::string absolute_lexical(const std::string& path) {
    std::string full = path;
    if (full.empty() || full[0] != '/') {
        char cwd[PATH_MAX];
        full = std::string(getcwd(cwd, sizeof(cwd)) ? cwd : "") + "/" + path;
    }
    std::vector<std::string> parts;
    std::stringstream ss(full);
    for (std::string part; std::getline(ss, part, '/');) {
        if (part.empty() || part == ".") continue;
        if (part == "..") {
            if (!parts.empty()) parts.pop_back();
            continue;
        }
        parts.push_back(part);
    }
    std::string out;
    for (const auto& p : parts) out += "/" + p;
    return out.empty() ? "/" : out;
}

MountState mount_state(const std::string& dir) {
    struct stat self {
    }, parent{};
    if (stat(dir.c_str(), &self) != 0) {
        return errno == ENOTCONN ? MountState::kDead : MountState::kNotMounted;
    }
    const std::string up = dir == "/" ? "/" : dir + "/..";
    if (stat(up.c_str(), &parent) != 0) return MountState::kNotMounted;
    const bool root_of_fs = self.st_dev != parent.st_dev || self.st_ino == parent.st_ino;
    if (!root_of_fs) return MountState::kNotMounted;
    // stat() may be answered from cached attributes; statfs always asks
    // the server.
    struct statfs fs {};
    if (statfs(dir.c_str(), &fs) != 0 && errno == ENOTCONN) return MountState::kDead;
    return MountState::kLive;
}

std::optional<MountInfo> famfs_mount_at(const std::string& dir) {
    for (const MountInfo& m : famfs_mounts()) {
        if (m.mountpoint == dir) return m;
    }
    return std::nullopt;
}

uint64_t ServerStatus::number(const std::string& key) const {
    auto it = fields.find(key);
    return it == fields.end() ? 0 : std::strtoull(it->second.c_str(), nullptr, 10);
}

Result<ServerStatus> read_server_status(const std::string& mountpoint) {
    const std::string path = mountpoint + "/" + meta::kStatusPath;
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return make_error(errno, path + ": " + std::strerror(errno));
    ServerStatus st;
    char buf[65536];
    for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) st.text.append(buf, size_t(n));
    close(fd);
    std::istringstream lines(st.text);
    for (std::string line; std::getline(lines, line);) {
        const size_t colon = line.find(meta::kKeySeparator);
        if (colon == std::string::npos) continue;
        st.fields.emplace(line.substr(0, colon),
                          line.substr(colon + sizeof(meta::kKeySeparator) - 1));
    }
    if (!st.fields.count(meta::kKeyRole))
        return make_error(EIO, path + ": not a famfs status file");
    return st;
}

Status send_control(const std::string& mountpoint, const std::string& command) {
    const std::string path = mountpoint + "/" + meta::kControlPath;
    const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        const int err = errno;
        return make_error(err,
                          path + ": " + std::strerror(err) +
                              (err == EACCES ? " (the server takes commands from root only)" : ""));
    }
    const ssize_t n = write(fd, command.data(), command.size());
    const int err = errno;
    close(fd);
    if (n != static_cast<ssize_t>(command.size())) {
        return make_error(err, path + ": '" + command + "' refused: " + std::strerror(err));
    }
    return {};
}

std::string fused_path() {
    if (const char* env = std::getenv("FAMFS_FUSED"); env && *env) return env;
    char self[PATH_MAX];
    const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        std::string dir(self, size_t(n));
        dir.erase(dir.rfind('/') + 1);
        const std::string beside = dir + "famfs_fused";
        if (access(beside.c_str(), X_OK) == 0) return beside;
    }
    return "famfs_fused";
}

}  // namespace famfs::cli
