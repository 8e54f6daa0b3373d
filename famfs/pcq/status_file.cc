#include "status_file.h"

#include <cerrno>
#include <cstring>
#include <utility>

namespace famfs::pcq {

Result<StatusFile> StatusFile::open(const std::string& path) {
    if (path.empty()) return StatusFile(nullptr, "");
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (!f) return make_error(errno, path + ": " + std::strerror(errno));
    return StatusFile(f, path);
}

StatusFile::StatusFile(StatusFile&& other) noexcept
    : f_(std::exchange(other.f_, nullptr)), path_(std::move(other.path_)) {}

StatusFile::~StatusFile() {
    if (f_) std::fclose(f_);
}

Status StatusFile::write(int64_t value) {
    if (!f_) return {};
    std::fprintf(f_, "%lld", static_cast<long long>(value));
    const bool failed = std::fflush(f_) != 0 || std::ferror(f_);
    const int err = errno;
    std::fclose(std::exchange(f_, nullptr));
    if (failed) return make_error(err, path_ + ": " + std::strerror(err));
    return {};
}

}  // namespace famfs::pcq
