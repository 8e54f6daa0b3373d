#include "readahead.h"

#include <cstddef>
#include <fstream>
#include <sstream>

namespace famfs::fused {

namespace {

// mountinfo escapes blanks and backslashes in paths as \ooo.
std::string unescape(const std::string& field) {
    std::string out;
    for (size_t i = 0; i < field.size(); i++) {
        if (field[i] == '\\' && i + 3 < field.size()) {
            out += static_cast<char>(std::stoi(field.substr(i + 1, 3), nullptr, 8));
            i += 3;
        } else {
            out += field[i];
        }
    }
    return out;
}

// "major:minor" of the file system mounted on `mountpoint` (the last such
// mount), read from the mount table without touching the mount itself:
// the server may not be answering requests yet.
std::string device_number(const std::string& mountpoint) {
    std::ifstream info("/proc/self/mountinfo");
    std::string found;
    for (std::string line; std::getline(info, line);) {
        std::istringstream fields(line);
        std::string id, parent, devno, root, point;
        fields >> id >> parent >> devno >> root >> point;
        if (unescape(point) == mountpoint) found = devno;
    }
    return found;
}

}  // namespace

void widen_readahead(const std::string& mountpoint, unsigned kib) {
    const std::string devno = device_number(mountpoint);
    if (devno.empty()) return;
    std::ofstream("/sys/class/bdi/" + devno + "/read_ahead_kb") << kib << "\n";
}

}  // namespace famfs::fused
