#include "device_use.h"

#include <limits.h>
#include <stdlib.h>

#include <fstream>
#include <sstream>

#include "famfs/mounts.h"

namespace famfs::cli {
namespace {

std::string canonical(const std::string& path) {
    char buf[PATH_MAX];
    return ::realpath(path.c_str(), buf) ? std::string(buf) : path;
}

}  // namespace

bool device_in_use(const std::string& device) {
    if (served_here(device)) return true;
    const std::string want = canonical(device);
    std::ifstream mounts("/proc/self/mounts");
    for (std::string line; std::getline(mounts, line);) {
        std::istringstream fields(line);
        std::string source;
        fields >> source;
        if (source.starts_with('/') && canonical(source) == want) return true;
    }
    return false;
}

}  // namespace famfs::cli
