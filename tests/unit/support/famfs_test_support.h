// Shared helpers for the core test suites: the host identity, small formatted
// devices (in memory or as files in /dev/shm) and little-endian peeks.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "famfs/omf.h"
#include "famfs/testing/faulty_device.h"
#include "famfs/testing/memory_device.h"
#include "famfs/testing/noncoherent_device.h"
#include "famfs/volume.h"

namespace famfs::test {

inline constexpr uint64_t kMiB = omf::kMiB, kGiB = omf::kGiB;

// The UUID of the host the tests run as (see test_main.cc).
omf::Uuid host_uuid();
// Switches the host identity (FAMFS_SYSTEM_UUID_FILE content) for a scope, so
// a test can act as a client of a device this host formatted.
class ScopedHost {
  public:
    explicit ScopedHost(const omf::Uuid& uuid);
    ~ScopedHost();
    ScopedHost(const ScopedHost&) = delete;
    ScopedHost& operator=(const ScopedHost&) = delete;

  private:
    omf::Uuid saved_;
};

// The superblock mkfs writes for a device of `dev_size` bytes.
omf::Superblock make_superblock(uint64_t dev_size, uint64_t log_len, const omf::Uuid& system);
// Formats a device in place the way mkfs does (log first, superblock last,
// each persisted).
void format_device(Device& dev, uint64_t log_len, const omf::Uuid& system);

// Re-formats the device file at `path` the way another host's mkfs.famfs -f
// would (superblock zeroed, fresh log, new superblock with fresh UUIDs and
// `system` as master), without the mount lock this host's mkfs would
// refuse on. Returns the new fs_uuid.
omf::Uuid reformat_as_another_host(const std::string& path, const omf::Uuid& system,
                                   uint64_t log_len = omf::kMinLogLen);

// An in-memory device of `dev_size` bytes, formatted for this host.
std::unique_ptr<testing::FaultyDevice> formatted_memory(uint64_t dev_size,
                                                        uint64_t log_len = omf::kMinLogLen);

// A volume on a fresh formatted in-memory device; `dev` (if given) receives a
// pointer to the device for fault injection.
std::unique_ptr<Volume> memory_volume(uint64_t dev_size, uint64_t log_len = omf::kMinLogLen,
                                      testing::FaultyDevice** dev = nullptr);

// Several hosts sharing one memory without cache coherence
// (noncoherent_device.h). Their caches are made before the memory is
// formatted (through hosts[0], for this host as master), so every other
// host holds zeros until it invalidates.
struct NonCoherentHosts {
    std::shared_ptr<testing::MemoryDevice> memory;
    std::vector<std::shared_ptr<testing::NonCoherentDevice>> hosts;
};
NonCoherentHosts noncoherent_hosts(uint64_t dev_size, size_t count, uint32_t evictions_per_call = 0,
                                   uint64_t seed = 1);

// A sparse file in /dev/shm, removed when the object dies.
class ShmFile {
  public:
    explicit ShmFile(uint64_t size);
    ~ShmFile();
    ShmFile(const ShmFile&) = delete;
    ShmFile& operator=(const ShmFile&) = delete;
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

template <class T>
T peek(std::span<const uint8_t> b, size_t off) {
    T v;
    std::memcpy(&v, b.data() + off, sizeof v);
    return v;
}

template <class T>
void poke(std::span<uint8_t> b, size_t off, T v) {
    std::memcpy(b.data() + off, &v, sizeof v);
}

// Convenience constructors for log entries.
omf::LogEntry file_entry(const std::string& relpath, uint64_t size,
                         std::vector<omf::Extent> extents);
omf::LogEntry dir_entry(const std::string& relpath);

// The master's grant of exactly the request in `h` (generation 1).
omf::MasterHalf grant_of(const omf::HostHalf& h, bool evicted = false);

// A slot of the host table as a registered host leaves it: `h` in the host
// half and, in the master half, the master's grant of exactly that request
// (evicted when asked). `slot` is the slot's 256 bytes.
void encode_granted_slot(const omf::HostHalf& h, std::span<uint8_t> slot, bool evicted = false);

}  // namespace famfs::test
