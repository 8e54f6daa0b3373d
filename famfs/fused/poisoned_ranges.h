// The device ranges the server knows to be poisoned (poison_watch.h finds
// them). A file with bytes in one of them fails with EIO on open, read and
// write before the server loads any of its memory; every other file is
// served as usual. Ranges only accumulate: memory is repaired by taking the
// device out of service, and a remount starts afresh.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace famfs::fused {

// Bytes [offset, offset + len) of the device.
struct DeviceRange {
    uint64_t offset = 0;
    uint64_t len = 0;
    uint64_t end() const { return offset + len; }
    bool overlaps(const DeviceRange& o) const { return offset < o.end() && o.offset < end(); }
    bool operator==(const DeviceRange&) const = default;
};

// "device offset 0x200000 (+0x40)": the form every poison line uses.
std::string describe_range(const DeviceRange& r);

// Its mutex is a leaf of the server's lock order (server.h).
class PoisonedRanges {
  public:
    // More ranges than this are not kept apart: the server then fails the
    // whole device (add() returns kFull).
    static constexpr size_t kMaxRanges = 4096;

    enum class Added { kNew, kKnown, kFull };
    // Adds a range; overlapping ranges merge into one. kKnown when it was
    // already covered (nothing changed).
    Added add(const DeviceRange& r);

    // Changes whenever the set changes; 0 while it is empty, so the data
    // path's check is one load while nothing is poisoned.
    uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
    // Whether any of `pieces` overlaps a poisoned range; `*generation`
    // receives the generation the answer holds for.
    bool overlaps(std::span<const DeviceRange> pieces, uint64_t* generation) const;
    // The ranges, sorted by offset, disjoint.
    std::vector<DeviceRange> list() const;

  private:
    mutable std::mutex mutex_;
    std::vector<DeviceRange> ranges_;  // sorted by offset, disjoint
    std::atomic<uint64_t> generation_{0};
};

// A memo of "does this open file overlap poison", kept in the open file and
// valid for one generation of PoisonedRanges: checks of later requests are
// one load while no new poison has been found. A copy (of the same file's
// segments) keeps the answer.
class PoisonMemo {
  public:
    PoisonMemo() = default;
    PoisonMemo(const PoisonMemo& o) : state_(o.state_.load(std::memory_order_acquire)) {}
    PoisonMemo& operator=(const PoisonMemo& o) {
        state_.store(o.state_.load(std::memory_order_acquire), std::memory_order_release);
        return *this;
    }
    // The answer for `generation`, if this memo holds it.
    bool known(uint64_t generation, bool* hit) const {
        const uint64_t s = state_.load(std::memory_order_acquire);
        if (s >> 1 != generation) return false;
        *hit = (s & 1) != 0;
        return true;
    }
    void remember(uint64_t generation, bool hit) const {
        state_.store(generation << 1 | (hit ? 1 : 0), std::memory_order_release);
    }

  private:
    // generation << 1 | hit; 0 (generation 0) means unchecked, which is
    // never asked for: nothing is poisoned in generation 0.
    mutable std::atomic<uint64_t> state_{0};
};

}  // namespace famfs::fused
