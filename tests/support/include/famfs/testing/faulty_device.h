// The fault injector of the tests: a DeviceWrapper that can lose power at
// a chosen persist(), tear that persist (only some of its cache lines reach
// memory), and poison memory ranges so that touching them raises SIGBUS, as
// poisoned memory does. It wraps any device: in-memory memory
// (memory_device.h), one host's view of non-coherent memory
// (noncoherent_device.h: a torn persist then really leaves the other lines
// out of the shared memory), or what open_device() returns (the
// FAMFS_TEST_POISON seam of the test binaries, env_faults.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "famfs/device_wrapper.h"

namespace famfs::testing {

class FaultyDevice : public DeviceWrapper {
  public:
    // Over fresh zeroed memory of `size` bytes (memory_device.h).
    static Result<std::unique_ptr<FaultyDevice>> create(uint64_t size, std::string path = "faulty");
    explicit FaultyDevice(std::shared_ptr<Device> target) : DeviceWrapper(std::move(target)) {}

    Status persist(const void* p, size_t n) override;

    // The k-th persist() from now (1-based) fails and writes nothing back:
    // the writer died just before that flush. 0 disables.
    void fail_persist_at(uint64_t k);
    // The k-th persist() from now writes back only some of the cache lines
    // it covers (a choice made by `seed`; each line whole, as the memory
    // takes them), then fails: the power went out during the write-back.
    void tear_persist_at(uint64_t k, uint64_t seed);
    uint64_t persist_count() const { return persists_; }

    // Starts tracking durability: from now on persisted_image() is this
    // content plus every range persist() covered (with its bytes at that time).
    void snapshot();
    // What memory holds after a power loss on non-coherent memory: only
    // what was persisted since snapshot().
    std::vector<uint8_t> persisted_image() const;
    // Replaces the live content (e.g. with persisted_image()).
    void load_image(const std::vector<uint8_t>& image);

    // Makes [offset, offset + len) (page-rounded) raise SIGBUS when touched.
    Status poison(uint64_t offset, uint64_t len);
    // Brings poisoned memory back with its contents; only memory that can
    // be mapped again (a MemoryDevice target) can, else ENOTSUP.
    Status unpoison_all();

  private:
    Status write_back(const uint8_t* p, size_t n);
    Status tear(const uint8_t* p, size_t n);

    uint64_t persists_ = 0;
    uint64_t fail_at_ = 0;
    uint64_t tear_at_ = 0;
    uint64_t tear_seed_ = 0;
    std::vector<uint8_t> snapshot_;
    std::map<uint64_t, std::vector<uint8_t>> persisted_;  // offset -> bytes
    std::vector<std::pair<uint64_t, uint64_t>> poisoned_;
};

}  // namespace famfs::testing
