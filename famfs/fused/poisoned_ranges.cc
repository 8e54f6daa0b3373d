#include "poisoned_ranges.h"

#include <algorithm>
#include <ios>
#include <sstream>

namespace famfs::fused {

namespace {

std::string hex(uint64_t v) {
    std::ostringstream out;
    out << "0x" << std::hex << v;
    return out.str();
}

// The first range that ends after `offset`.
template <class It>
It first_ending_after(It begin, It end, uint64_t offset) {
    return std::lower_bound(begin, end, offset,
                            [](const DeviceRange& r, uint64_t off) { return r.end() <= off; });
}

}  // namespace

PoisonedRanges::Added PoisonedRanges::add(const DeviceRange& r) {
    if (r.len == 0) return Added::kKnown;
    std::lock_guard lk(mutex_);
    auto first = first_ending_after(ranges_.begin(), ranges_.end(), r.offset);
    if (first != ranges_.end() && first->offset <= r.offset && first->end() >= r.end()) {
        return Added::kKnown;
    }
    DeviceRange merged = r;
    auto last = first;
    for (; last != ranges_.end() && last->offset < r.end(); ++last) {
        const uint64_t end = std::max(merged.end(), last->end());
        merged.offset = std::min(merged.offset, last->offset);
        merged.len = end - merged.offset;
    }
    if (first == last && ranges_.size() >= kMaxRanges) return Added::kFull;
    first = ranges_.erase(first, last);
    ranges_.insert(first, merged);
    generation_.fetch_add(1, std::memory_order_release);
    return Added::kNew;
}

bool PoisonedRanges::overlaps(std::span<const DeviceRange> pieces, uint64_t* generation) const {
    std::lock_guard lk(mutex_);
    *generation = generation_.load(std::memory_order_relaxed);
    for (const DeviceRange& p : pieces) {
        if (p.len == 0) continue;
        auto it = first_ending_after(ranges_.begin(), ranges_.end(), p.offset);
        if (it != ranges_.end() && it->offset < p.end()) return true;
    }
    return false;
}

std::vector<DeviceRange> PoisonedRanges::list() const {
    std::lock_guard lk(mutex_);
    return ranges_;
}

std::string describe_range(const DeviceRange& r) {
    return "device offset " + hex(r.offset) + " (+" + hex(r.len) + ")";
}

}  // namespace famfs::fused
