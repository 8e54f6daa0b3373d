#include "sigbus_hole.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

namespace famfs::testing {

Status map_sigbus_hole(uint8_t* addr, uint64_t len) {
    // A shared mapping of an empty file faults with SIGBUS on every access.
    int hole = memfd_create("famfs-poison", MFD_CLOEXEC);
    if (hole < 0) return make_error(errno, std::string("memfd_create: ") + std::strerror(errno));
    void* p = mmap(addr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, hole, 0);
    int err = errno;
    close(hole);
    if (p == MAP_FAILED) return make_error(err, std::string("mmap: ") + std::strerror(err));
    return {};
}

}  // namespace famfs::testing
