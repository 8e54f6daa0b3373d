#include "famfs/testing/faulty_device.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "sigbus_hole.h"

namespace famfs::testing {
namespace {

uint64_t page_size() {
    return static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace

Result<std::unique_ptr<FaultyDevice>> FaultyDevice::create(uint64_t size, std::string path) {
    int fd = memfd_create("famfs-faulty", MFD_CLOEXEC);
    if (fd < 0) return make_error(errno, "memfd_create: " + std::string(std::strerror(errno)));
    if (ftruncate(fd, static_cast<off_t>(size)) < 0) {
        close(fd);
        return make_error(errno, "ftruncate: " + std::string(std::strerror(errno)));
    }
    void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        close(fd);
        return make_error(errno, "mmap: " + std::string(std::strerror(errno)));
    }
    return std::unique_ptr<FaultyDevice>(
        new FaultyDevice(fd, static_cast<uint8_t*>(base), size, std::move(path)));
}

FaultyDevice::FaultyDevice(int fd, uint8_t* base, uint64_t size, std::string path)
    : fd_(fd), base_(base), size_(size), path_(std::move(path)) {}

FaultyDevice::~FaultyDevice() {
    munmap(base_, size_);
    close(fd_);
}

Status FaultyDevice::persist(const void* p, size_t n) {
    ++persists_;
    if (fail_at_ != 0 && persists_ == fail_at_)
        return make_error(EIO,
                          path_ + ": injected power loss at persist #" + std::to_string(persists_));
    if (!snapshot_.empty()) {
        uint64_t off = static_cast<const uint8_t*>(p) - base_;
        persisted_[off].assign(base_ + off, base_ + off + n);
    }
    return {};
}

void FaultyDevice::invalidate(const void*, size_t) {}

void FaultyDevice::fail_persist_at(uint64_t k) {
    fail_at_ = k == 0 ? 0 : persists_ + k;
}

void FaultyDevice::snapshot() {
    snapshot_.assign(base_, base_ + size_);
    persisted_.clear();
}

std::vector<uint8_t> FaultyDevice::persisted_image() const {
    std::vector<uint8_t> image = snapshot_;
    for (const auto& [off, data] : persisted_)
        std::copy(data.begin(), data.end(), image.begin() + off);
    return image;
}

void FaultyDevice::load_image(const std::vector<uint8_t>& image) {
    std::memcpy(base_, image.data(), std::min<uint64_t>(image.size(), size_));
}

Status FaultyDevice::poison(uint64_t offset, uint64_t len) {
    uint64_t pg = page_size();
    uint64_t first = offset / pg * pg;
    uint64_t end = std::min(size_, (offset + len + pg - 1) / pg * pg);
    FAMFS_TRY(map_sigbus_hole(base_ + first, end - first));
    poisoned_.emplace_back(first, end - first);
    return {};
}

void FaultyDevice::unpoison_all() {
    for (auto [off, len] : poisoned_)
        mmap(base_ + off, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd_,
             static_cast<off_t>(off));
    poisoned_.clear();
}

}  // namespace famfs::testing
