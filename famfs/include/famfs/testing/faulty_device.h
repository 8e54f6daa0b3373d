// A fault-injecting device for tests: an in-memory device (or a wrapper
// around a real one) that can "lose power" at a chosen persist() and poison
// memory ranges so that touching them raises SIGBUS, as poisoned memory does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "famfs/device.h"

namespace famfs::testing {

class FaultyDevice : public Device {
  public:
    // An anonymous shared-memory device of `size` bytes (zeroed).
    static Result<std::unique_ptr<FaultyDevice>> create(uint64_t size, std::string path = "faulty");

    ~FaultyDevice() override;
    uint8_t* base() override { return base_; }
    uint64_t size() const override { return size_; }
    const std::string& path() const override { return path_; }
    DeviceKind kind() const override { return DeviceKind::kMemory; }
    Access access() const override { return Access::kReadWrite; }

    Status persist(const void* p, size_t n) override;
    void invalidate(const void* p, size_t n) override;

    // The k-th persist() from now (1-based) fails and is not applied:
    // the writer died just before that flush. 0 disables.
    void fail_persist_at(uint64_t k);
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
    void unpoison_all();

  private:
    FaultyDevice(int fd, uint8_t* base, uint64_t size, std::string path);

    int fd_;
    uint8_t* base_;
    uint64_t size_;
    std::string path_;
    uint64_t persists_ = 0;
    uint64_t fail_at_ = 0;
    std::vector<uint8_t> snapshot_;
    std::map<uint64_t, std::vector<uint8_t>> persisted_;  // offset -> bytes
    std::vector<std::pair<uint64_t, uint64_t>> poisoned_;
};

}  // namespace famfs::testing
