// Space allocation: a bitmap of allocation units over the device, rebuilt
// from the log (superblock and log first, then every extent of every valid
// FILE entry). Contiguous allocation is first fit; interleaved allocation
// spreads equal strips over distinct buckets (docs/format.md, "Allocation").
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
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

// A run of allocation units that an entry claimed although an earlier
// claim holds them: a cross-link. An entry gets at most a few itemised runs
// (kItemisedRunsPerEntry) and one more record summing the rest
// (first_index == kNotItemised), so a hostile log costs O(entries) records
// however many units its extents cover.
struct Collision {
    static constexpr uint64_t kReserved = ~uint64_t{0};      // superblock and log
    static constexpr uint64_t kUnlogged = ~uint64_t{0} - 1;  // allocated here, not logged yet
    static constexpr uint64_t kNotItemised = ~uint64_t{0} - 2;
    uint64_t unit = 0;         // the run's first unit
    uint64_t units = 0;        // its length
    uint64_t first_index = 0;  // log index of the earlier claimant (or a k* value)
    uint64_t index = 0;        // log index of the entry that claimed them again
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
    // Costs O(extents x log(runs)) amortised, whatever the extents cover:
    // claimed units are kept as coalesced runs, and naming the earlier
    // claimants of a collision takes a bounded number of steps per entry.
    void claim(const omf::FileEntry& f, uint64_t index);
    static constexpr uint64_t kItemisedRunsPerEntry = 3;
    // First claimants are recorded for this many runs of units (8 MiB of
    // map); past that, collisions on units claimed later are summed, not
    // itemised. A file system of 15 420 files needs a few thousand runs.
    static constexpr size_t kMaxOwnerRuns = size_t{1} << 17;

    // Records that the file this allocator allocated (owner kUnlogged) was
    // logged at `index`, as claim() would have: a later DELETE can find it.
    void adopt(const omf::FileEntry& f, uint64_t index);

    // A DELETE at `delete_index` of the file claimed at `file_index`: its
    // units become pending reclaim. They stay in use, never handed out,
    // until reclaim() is given a horizon above delete_index; a later FILE
    // entry of the log that claims them (the master reused them) takes
    // them without a collision. Units shared with another claim are never
    // pending: while the log has any cross-link, deleted space stays in
    // use (docs/delete.md). Returns the units made pending.
    uint64_t pend(uint64_t file_index, uint64_t delete_index);
    // Frees every pending run deleted below `horizon` (reclaim_horizon() of
    // the host table); returns the units freed.
    uint64_t reclaim(uint64_t horizon);
    uint64_t pending_bytes() const { return pending_units_ * unit_; }
    // Pending runs: first unit -> {end, delete index}.
    struct PendingRun {
        uint64_t end = 0;
        uint64_t delete_index = 0;
    };
    const std::map<uint64_t, PendingRun>& pending() const { return pending_; }

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
    // Every unit claimed again, counted once per extra claim (saturating).
    uint64_t units_claimed_twice() const { return units_claimed_twice_; }
    std::vector<BucketStats> bucket_stats(uint64_t nbuckets) const;
    bool in_use(uint64_t unit) const { return words_[unit / 64] >> (unit % 64) & 1; }

  private:
    struct Owned {  // units [start, end) were first claimed by `index`
        uint64_t end = 0;
        uint64_t index = 0;
    };
    class ClaimOfEntry;

    Result<omf::Interleave> allocate_interleaved(uint64_t size, const InterleaveParams& ip);
    // First run of `n` free units within [lo, hi), or hi when none.
    uint64_t find_free(uint64_t n, uint64_t lo, uint64_t hi) const;
    // Claims units [first, end) for `owner`; the collisions go to `claim`.
    void claim_run(uint64_t first, uint64_t end, uint64_t owner, ClaimOfEntry& claim);
    // Takes free units [first, end) for `owner`.
    void take(uint64_t first, uint64_t end, uint64_t owner);
    // Records units [first, end), already claimed, as claimed again.
    void collide(uint64_t first, uint64_t end, ClaimOfEntry& claim);
    void mark(uint64_t first, uint64_t n, uint64_t owner);
    void set_in_use(uint64_t first, uint64_t end);
    template <class F>
    void for_each_run(const omf::FileEntry& f, F&& fn) const;
    // Frees units [first, end): bitmap, claimed runs and owners.
    void release(uint64_t first, uint64_t end);
    // Frees the pending units in [first, end): a logged file reuses them.
    void take_pending(uint64_t first, uint64_t end);
    // True when owners_ names `index` as the first claimant of all of [first, end).
    bool owned_by(uint64_t first, uint64_t end, uint64_t index) const;
    void record_run(uint64_t index, uint64_t first, uint64_t end);

    uint64_t unit_;
    uint64_t units_;
    uint64_t used_ = 0;
    std::vector<uint64_t> words_;  // bit u % 64 of word u / 64: unit u in use
    // The units in use as disjoint, non-adjacent runs start -> end: a claim
    // merges the runs it touches, so each run is walked once before it
    // disappears into a larger one.
    std::map<uint64_t, uint64_t> claimed_;
    // Who claimed each unit in use first: disjoint runs start -> Owned
    // (at most kMaxOwnerRuns: past that, new first claims go unrecorded).
    std::map<uint64_t, Owned> owners_;
    std::vector<Collision> collisions_;
    uint64_t units_claimed_twice_ = 0;
    // Each claimed file's runs (clipped to the device), for pend():
    // file_runs_[log index] is a range of runs_.
    struct FileRuns {
        uint32_t begin = 0, count = 0;
    };
    std::vector<FileRuns> file_runs_;
    std::vector<std::pair<uint64_t, uint64_t>> runs_;
    std::map<uint64_t, PendingRun> pending_;
    uint64_t pending_units_ = 0;
};

}  // namespace famfs
