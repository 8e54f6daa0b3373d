#include "famfs/system_uuid.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

namespace famfs {

const char* to_string(Role role) {
    return role == Role::kMaster ? "master" : "client";
}

std::string system_uuid_path() {
    const char* env = std::getenv("FAMFS_SYSTEM_UUID_FILE");
    return env && *env ? env : "/opt/famfs/system_uuid";
}

namespace {

Result<omf::Uuid> read_uuid(const std::string& path) {
    std::ifstream in(path);
    std::string text;
    in >> text;
    auto u = omf::uuid_from_string(text);
    if (!u) return make_error(EINVAL, path + ": does not hold a system UUID ('" + text + "')");
    return u;
}

// Creates the file atomically (link of a temp file), so two processes that
// start at once agree on one UUID.
Status create_uuid_file(const std::string& path) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    std::string tmp = path + ".tmp." + std::to_string(getpid());
    {
        std::ofstream out(tmp);
        out << omf::uuid_to_string(omf::random_uuid()) << "\n";
        if (!out) return make_error(EIO, tmp + ": cannot write the system UUID");
    }
    int rc = link(tmp.c_str(), path.c_str());
    int err = errno;
    unlink(tmp.c_str());
    if (rc < 0 && err != EEXIST)
        return make_error(err,
                          path + ": cannot create the system UUID file: " + std::strerror(err));
    return {};
}

}  // namespace

Result<omf::Uuid> local_system_uuid() {
    std::string path = system_uuid_path();
    if (access(path.c_str(), F_OK) != 0) FAMFS_TRY(create_uuid_file(path));
    return read_uuid(path);
}

}  // namespace famfs
