#include "mount_snapshot.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "famfs/meta_protocol.h"
#include "famfs/omf.h"

namespace famfs::cli {
namespace {

Error failed(const std::string& what, const std::string& why) {
    return make_error(errno ? errno : EIO, what + ": " + why);
}

// Copies the file at `path` to where `at` says in `fd`.
Status copy_into(const std::string& path, const omf::Extent& at, int fd) {
    const uint64_t len = at.len, offset = at.offset;
    const int in = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) return failed(path, std::strerror(errno));
    std::vector<uint8_t> buf(1 << 20);
    Status s;
    for (uint64_t done = 0; done < len && s;) {
        const ssize_t n = ::pread(in, buf.data(), std::min<uint64_t>(buf.size(), len - done),
                                  static_cast<off_t>(done));
        if (n <= 0) {
            s = failed(path, n < 0 ? std::strerror(errno) : "shorter than the superblock says");
        } else if (::pwrite(fd, buf.data(), static_cast<size_t>(n),
                            static_cast<off_t>(offset + done)) != n) {
            s = failed("metadata copy", std::strerror(errno));
        } else {
            done += static_cast<uint64_t>(n);
        }
    }
    ::close(in);
    return s;
}

}  // namespace

Result<std::string> metadata_snapshot(const std::string& mountpoint) {
    const std::string dir = mountpoint + "/" + meta::kDir + "/";
    const int fd = ::memfd_create("famfs-metadata", 0);  // kept open: the copy lives until exit
    if (fd < 0) return failed("metadata copy", std::strerror(errno));
    FAMFS_TRY(copy_into(dir + meta::kSuperblock, omf::superblock_extent(), fd));
    std::vector<uint8_t> sb_bytes(omf::kSuperblockBytes);
    if (::pread(fd, sb_bytes.data(), sb_bytes.size(), 0) != static_cast<ssize_t>(sb_bytes.size()))
        return failed(dir + meta::kSuperblock, "cannot read it back");
    // A superblock that places the log off the device is left for
    // Volume::open to report, as it would on the device itself.
    const omf::Superblock sb = omf::decode_superblock(sb_bytes);
    const omf::Extent log = omf::log_extent(sb);
    const bool log_on_device = log.offset >= omf::superblock_extent().len &&
                               log.len <= sb.dev_size && log.offset <= sb.dev_size - log.len;
    if (log_on_device) {
        if (::ftruncate(fd, static_cast<off_t>(sb.dev_size)) != 0)
            return failed("metadata copy", std::strerror(errno));
        FAMFS_TRY(copy_into(dir + meta::kLog, log, fd));
    }
    return "/proc/self/fd/" + std::to_string(fd);
}

}  // namespace famfs::cli
