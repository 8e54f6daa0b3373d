// Space allocation: a bitmap of allocation units over the device, rebuilt
// from the log (superblock and log first, then every extent of every valid
// FILE entry). Contiguous allocation is first fit; interleaved allocation
// spreads equal strips over distinct buckets (format.md, "Allocation").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "famfs/omf.h"
#include "famfs/result.h"

namespace famfs {

struct InterleaveParams {
    uint64_t nbuckets = 0;
    uint64_t nstrips = 0;
    uint64_t chunk_size = 0;
    bool enabled() const { return nbuckets != 0 || nstrips != 0 || chunk_size != 0; }
};

// A unit claimed by more than one file: a cross-link.
struct Collision {
    uint64_t unit = 0;
    uint64_t index = 0;  // log index of the entry that claimed it second
    std::string relpath;
};

struct BucketStats {
    uint64_t size = 0, used = 0, free = 0;
    uint64_t fragments = 0, largest = 0, smallest = 0;
};

class Allocator {
  public:
    // Reserves the superblock and log units of this layout.
    explicit Allocator(const omf::Superblock& sb);

    // Marks one file's extents; collisions are recorded, not refused.
    void claim(const omf::FileEntry& f, uint64_t index);

    // First fit; one simple extent of size rounded up to whole units.
    Result<omf::Extent> allocate(uint64_t size);
    // Falls back to allocate() for files smaller than one chunk.
    Result<omf::FileEntry> allocate_file(uint64_t size, const InterleaveParams& ip);
    Status check_interleave(const InterleaveParams& ip) const;

    uint64_t unit() const { return unit_; }
    uint64_t capacity() const { return units_ * unit_; }
    uint64_t used_bytes() const { return used_ * unit_; }
    uint64_t free_bytes() const { return capacity() - used_bytes(); }
    const std::vector<Collision>& collisions() const { return collisions_; }
    std::vector<BucketStats> bucket_stats(uint64_t nbuckets) const;
    bool in_use(uint64_t unit) const { return words_[unit / 64] >> (unit % 64) & 1; }

  private:
    Result<omf::Interleave> allocate_interleaved(uint64_t size, const InterleaveParams& ip);
    // First run of `n` free units within [lo, hi), or hi when none.
    uint64_t find_free(uint64_t n, uint64_t lo, uint64_t hi) const;
    void mark(uint64_t first, uint64_t n);
    void set_in_use(uint64_t unit) { words_[unit / 64] |= uint64_t{1} << (unit % 64); }

    uint64_t unit_;
    uint64_t units_;
    uint64_t used_ = 0;
    std::vector<uint64_t> words_;  // bit u % 64 of word u / 64: unit u in use
    std::vector<Collision> collisions_;
};

}  // namespace famfs
