#include "device_use.h"

#include <fstream>
#include <sstream>

#include "famfs/mounts.h"

namespace famfs::cli {

bool device_in_use(const std::string& device) {
    if (served_here(device)) return true;
    const std::string want = resolved_or_given(device);
    std::ifstream mounts("/proc/self/mounts");
    for (std::string line; std::getline(mounts, line);) {
        std::istringstream fields(line);
        std::string source;
        fields >> source;
        if (source.starts_with('/') && resolved_or_given(source) == want) return true;
    }
    return false;
}

}  // namespace famfs::cli
