// Memory that stands in for a shared device in tests: an anonymous memfd,
// mapped MAP_SHARED, zeroed. It is what every host of a simulated
// multi-host machine shares (noncoherent_device.h), and what the fault
// injector wraps when a test needs no file in /dev/shm.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "famfs/device.h"
#include "famfs/result.h"

namespace famfs::testing {

class MemoryDevice final : public Device {
  public:
    static Result<std::unique_ptr<MemoryDevice>> create(uint64_t size, std::string path = "memory");
    ~MemoryDevice() override;
    MemoryDevice(const MemoryDevice&) = delete;
    MemoryDevice& operator=(const MemoryDevice&) = delete;

    uint8_t* base() override { return base_; }
    uint64_t size() const override { return size_; }
    const std::string& path() const override { return path_; }
    // kMemory: there is no device file, so nobody takes its locks.
    DeviceKind kind() const override { return DeviceKind::kMemory; }
    Access access() const override { return Access::kReadWrite; }
    // Every user of this memory is in this process, behind this CPU's
    // coherent caches: there is nothing to write back or drop. (The hosts of
    // noncoherent_device.h model the caches that real shared memory has.)
    Status persist(const void*, size_t) override { return {}; }
    void invalidate(const void*, size_t) override {}

    // Maps the memory at [offset, offset + len) (page-aligned) again, e.g.
    // over a poisoned range: the memfd still holds the bytes.
    Status remap(uint64_t offset, uint64_t len);

    // Serialises whole-line transfers between host caches and this memory
    // (noncoherent_device.h), as a memory controller moves a line at once.
    std::mutex& line_mutex() { return line_mutex_; }

  private:
    MemoryDevice(int fd, uint8_t* base, uint64_t size, std::string path);

    int fd_;
    uint8_t* base_;
    uint64_t size_;
    std::string path_;
    std::mutex line_mutex_;
};

}  // namespace famfs::testing
