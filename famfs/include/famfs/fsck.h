// fsck: checks the superblock, the log header and every entry, rebuilds the
// allocation bitmap and reports collisions (cross-linked files).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "famfs/allocator.h"
#include "famfs/namespace.h"
#include "famfs/omf.h"
#include "famfs/system_uuid.h"

namespace famfs {

class Volume;

// A run of adjacent allocation units claimed by two files, both named. Each
// file that claims units already taken gets a few such runs and, past them,
// one more (first_index == kNotItemised) that counts the rest: what fsck
// reports stays O(entries) whatever the log's extents cover.
struct CrossLink {
    uint64_t offset = 0;  // device offset of the first shared unit
    uint64_t units = 0;
    // Log indexes of the claimants. The first may be an entry whose path replay
    // refused (its in-bounds space is still claimed): first_index is then
    // kUnknownClaimant.
    static constexpr uint64_t kUnknownClaimant = ~0ULL;
    static constexpr uint64_t kNotItemised = ~0ULL - 1;
    uint64_t first_index = 0, second_index = 0;
    std::string first_relpath, second_relpath;
};

// A log entry past the first invalid one. Replay (the servers, logplay)
// stops at the invalid entry and never applies it, but the master wrote it,
// so it may name a file whose data is on the device: fsck reports it and
// counts the space it claims as allocated, as the reference famfs does.
struct UnreplayedEntry {
    enum class Kind { kFile, kDirectory, kOther, kInvalid };
    uint64_t index = 0;
    Kind kind = Kind::kInvalid;
    std::string relpath;   // a file's or directory's
    uint64_t size = 0;     // a file's size
    uint64_t claimed = 0;  // bytes its extents (or strips) cover, when in bounds
    std::string problem;   // why it is invalid, or why its space is not counted
};

struct Unreplayed {
    std::vector<UnreplayedEntry> entries;  // in log order
    uint64_t files = 0, dirs = 0, invalid = 0;
    uint64_t claimed_bytes = 0;  // allocation units only they claim, in bytes
    bool empty() const { return entries.empty(); }
};

struct FsckOptions {
    bool human = false;
    bool verbose = false;
    uint64_t nbuckets = 4;  // stripe buckets to report
};

struct FsckReport {
    omf::Superblock sb;
    Role role = Role::kClient;
    omf::LogHeader header;
    uint64_t entries_used = 0;
    uint64_t capacity = 0;
    uint64_t files = 0, dirs = 0;
    uint64_t sum_file_sizes = 0;
    uint64_t allocated = 0, free = 0;
    // Of `allocated`: space of deleted files not yet reclaimed
    // (docs/delete.md). Reported only on a file system marked for deletes.
    uint64_t pending = 0;
    std::optional<uint64_t> invalid_index;  // replay stopped here
    std::string invalid_reason;
    Unreplayed unreplayed;          // the entries after invalid_index
    std::vector<Problem> problems;  // entries refused by the namespace
    std::vector<Collision> collisions;
    uint64_t units_claimed_twice = 0;
    // The collisions, with both files named (unreplayed entries included).
    std::vector<CrossLink> cross_links;
    std::vector<BucketStats> buckets;
    // What the exit status counts: bad entries (the first invalid one and
    // the invalid ones after it) + refused entries + units claimed twice,
    // also by unreplayed entries (saturating).
    uint64_t errors() const;
    // Invalid entries (the first one and those after it) + refused entries.
    uint64_t bad_entries() const;
};

Result<FsckReport> fsck(Volume& vol, const FsckOptions& opt);
std::string format_fsck(const FsckReport& r, const FsckOptions& opt);

}  // namespace famfs
