#include "famfs/testing/memory_device.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace famfs::testing {
namespace {

Error sys_error(const std::string& what) {
    const int err = errno;
    return make_error(err, what + ": " + std::strerror(err));
}

}  // namespace

Result<std::unique_ptr<MemoryDevice>> MemoryDevice::create(uint64_t size, std::string path) {
    int fd = memfd_create("famfs-memory", MFD_CLOEXEC);
    if (fd < 0) return sys_error(path + ": memfd_create");
    if (ftruncate(fd, static_cast<off_t>(size)) < 0) {
        Error e = sys_error(path + ": ftruncate");
        close(fd);
        return e;
    }
    void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        Error e = sys_error(path + ": mmap");
        close(fd);
        return e;
    }
    return std::unique_ptr<MemoryDevice>(
        new MemoryDevice(fd, static_cast<uint8_t*>(base), size, std::move(path)));
}

MemoryDevice::MemoryDevice(int fd, uint8_t* base, uint64_t size, std::string path)
    : fd_(fd), base_(base), size_(size), path_(std::move(path)) {}

MemoryDevice::~MemoryDevice() {
    munmap(base_, size_);
    close(fd_);
}

Status MemoryDevice::remap(uint64_t offset, uint64_t len) {
    void* p = mmap(base_ + offset, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd_,
                   static_cast<off_t>(offset));
    if (p == MAP_FAILED) return sys_error(path_ + ": remap");
    return {};
}

}  // namespace famfs::testing
