// Which paths exist, and the rules for adding one: the part of the
// namespace every replay needs, without the per-file payload. A writer
// (`famfs creat` replays the whole log on every call) keeps only this; the
// full Namespace builds on it, so both refuse exactly the same entries.
//
// Memory is what a replay pays for (a first touch of a page costs
// microseconds), so a path is ~44 bytes here: a 20-byte record, its name
// in one shared buffer, and 8-byte slots of an open-addressing table (at
// most three quarters full) keyed by (parent, name) that finds a child in
// any directory in a probe or two.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "famfs/omf.h"
#include "famfs/result.h"

namespace famfs {

// The rules for a path famfs logs: not empty, relative to the mount,
// printable ASCII, no empty, "." or ".." component, at most
// omf::kMaxRelpathLen bytes.
// EINVAL or ENAMETOOLONG, naming the path and the rule.
Status validate_relpath(std::string_view relpath);
// Splits "a/b/c" into its parent "a/b" and name "c" ("" parent at the root).
std::pair<std::string_view, std::string_view> split_relpath(std::string_view relpath);

class PathIndex {
  public:
    using Id = uint32_t;
    static constexpr Id kRoot = 0;
    static constexpr Id kNone = ~Id{0};

    PathIndex();

    // Where a new path goes: its parent directory and name.
    struct Place {
        Id parent = kRoot;
        std::string_view name;  // a view of the relpath given to place()
        uint64_t hash = 0;
    };
    // Where `relpath` (valid by validate_relpath) would go, or why it
    // cannot: ENOENT (no parent), ENOTDIR (parent is a file), EEXIST.
    Result<Place> place(std::string_view relpath) const;
    Id add(const Place& p, bool is_dir, uint64_t log_index);
    // Takes a path out (a DELETE): its name is free again; its Id stays
    // valid for the accessors below but is never found again.
    void remove(Id id);
    void reserve(size_t more);

    Id find(std::string_view relpath) const;  // kNone when absent
    Id child(Id dir, std::string_view name) const;
    bool is_dir(Id id) const { return records_[id].is_dir; }
    Id parent(Id id) const { return records_[id].parent; }
    uint32_t children(Id id) const { return records_[id].nchildren; }  // live ones
    uint64_t log_index(Id id) const { return records_[id].log_index; }
    std::string_view name(Id id) const {
        return std::string_view(names_).substr(records_[id].name_offset, records_[id].name_len);
    }
    size_t size() const { return records_.size(); }

  private:
    struct Record {
        uint32_t log_index = 0;  // 2^32 entries would be a 2 TiB log
        Id parent = kRoot;
        uint32_t name_offset = 0;
        uint16_t name_len = 0;  // a relpath is under 80 bytes
        bool is_dir = false;
        bool removed = false;    // by a DELETE
        uint32_t nchildren = 0;  // live children: a DELETE of a directory needs none
    };
    struct Slot {
        uint32_t tag = 0;  // high half of the hash: most mismatches end here
        Id id = kNone;     // kNone: empty
    };
    Id find_child(Id parent, std::string_view name, uint64_t hash) const;
    void insert(Id id, uint64_t hash);
    void erase_slot(size_t i);
    void grow(size_t min_slots);

    std::vector<Record> records_;
    std::string names_;        // every name, back to back
    std::vector<Slot> slots_;  // power-of-two size, at most three quarters full
};

// The replay rules for a namespace entry (docs/format.md): a valid relpath, a
// valid map for a file, and a free place under an existing directory.
// `map` is the file's validate_file_map verdict (ok for a directory): the
// caller needs it anyway, to decide whether the allocator claims the
// extents, so it is computed once.
Result<PathIndex::Place> admit_entry(const PathIndex& paths, std::string_view relpath,
                                     const Status& map);

// The replay rules for a DELETE at `index` (docs/delete.md): a valid
// relpath naming the live object its target entry created, of the kind it
// says, and a directory without children. Returns the path to remove.
Result<PathIndex::Id> admit_delete(const PathIndex& paths, const omf::DeleteEntry& d,
                                   uint64_t index);

}  // namespace famfs
