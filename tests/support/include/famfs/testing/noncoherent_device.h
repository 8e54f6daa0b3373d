// One host's view of memory that several hosts share without cache
// coherence between them (CXL memory shared by hosts, as famfs assumes).
// Loads are served by this host's simulated CPU cache, which holds every
// line of the device and takes a line (64 bytes) from memory again only
// when invalidate() covers it. Stores stay in that cache until persist()
// covers their line, which is then written back whole; invalidate() of a
// dirty line writes it back first, as CLFLUSH does. Several hosts are
// several NonCoherentDevices over one MemoryDevice, so a host sees another
// host's stores only when the writer flushed them and the reader
// invalidated: a missing flush or invalidate in famfs shows as stale data.
//
// Spontaneous evictions (off by default, seeded so a failure replays):
// each persist() or invalidate() call also evicts that many lines chosen
// at random, as a real cache may at any time (a dirty one reaches memory
// early, a clean one is read again), so famfs must not rely on data
// staying in the cache either.
//
// Dirty lines are found by comparing the cached line with its last copy
// from or to memory. Stores into a line while the same host's other thread
// invalidates that very line may be lost; real caches do not lose them,
// and famfs never invalidates a line it is storing into.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <string>

#include "famfs/device_wrapper.h"
#include "famfs/testing/memory_device.h"

namespace famfs::testing {

class NonCoherentDevice final : public DeviceWrapper {
  public:
    struct Options {
        std::string host = "host";        // names the device: "<host>:<memory path>"
        uint64_t seed = 1;                // the eviction choices
        uint32_t evictions_per_call = 0;  // lines evicted at random per persist/invalidate
    };
    // The cache starts warm: it holds every line as `memory` holds it now.
    static Result<std::unique_ptr<NonCoherentDevice>> create(std::shared_ptr<MemoryDevice> memory,
                                                             Options opt);
    ~NonCoherentDevice() override;
    NonCoherentDevice(const NonCoherentDevice&) = delete;
    NonCoherentDevice& operator=(const NonCoherentDevice&) = delete;

    uint8_t* base() override { return cache_; }
    const std::string& path() const override { return path_; }
    Status persist(const void* p, size_t n) override;
    void invalidate(const void* p, size_t n) override;
    // The cache is this process's private memory: dropping its pages would
    // zero it, and the memory itself is not this host's to drop.
    void drop_page_tables(const void*, size_t) override {}
    // Shared with other hosts through caches that must be maintained.
    bool host_local_memory() const override { return false; }

    // Lines of [offset, offset + len) whose stores have not reached memory.
    uint64_t dirty_lines(uint64_t offset, uint64_t len) const;

  private:
    NonCoherentDevice(std::shared_ptr<MemoryDevice> memory, Options opt, uint8_t* cache,
                      uint8_t* clean);
    // The caller holds the memory's line mutex for all three.
    void write_back(uint64_t line);
    void refresh(uint64_t line);
    void evict_at_random();
    template <class Op>
    void each_line(const void* p, size_t n, Op op);

    MemoryDevice& memory_;
    Options opt_;
    std::string path_;
    uint8_t* cache_;  // what this host's loads see
    uint8_t* clean_;  // each line as last read from or written to memory
    std::mt19937_64 rng_;
};

}  // namespace famfs::testing
