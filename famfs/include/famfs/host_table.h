// The host table of docs/delete.md: 64 slots in the superblock region where
// every host publishes its watermark, and the reclaim rule over it. The
// rule is a pure function of the table's contents and a delete's log
// index, so every host that reads the same table decides the same.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "famfs/device.h"
#include "famfs/omf.h"
#include "famfs/result.h"

namespace famfs {

// The test-only switch that shows the race the host table prevents:
// FAMFS_TEST_RECLAIM_GATE=off in a master command's environment makes it
// reuse deleted space at once, whatever the hosts hold (the lab's delete
// scenario uses it to let a paused host read another file's bytes).
bool reclaim_gate_is_off();

struct HostSlot {
    size_t index = 0;
    omf::DecodedHalf<omf::HostHalf> host;
    omf::DecodedHalf<omf::MasterHalf> master;
};

// A slot's contents with halves of another formatting (another file
// system UUID) taken as empty.
HostSlot slot_of_this_fs(HostSlot slot, const omf::Uuid& fs_uuid);

// What one slot allows: space deleted at an index below `bound` may be
// reclaimed as far as this slot is concerned. kUnbounded: the slot does not
// count (empty, evicted, or a host that left cleanly).
struct SlotBound {
    static constexpr uint64_t kUnbounded = ~uint64_t{0};
    uint64_t bound = kUnbounded;
    std::string why;  // why it blocks (empty when it does not count)
};
SlotBound slot_bound(const HostSlot& slot, const omf::Uuid& fs_uuid);

struct ReclaimBlocker {
    size_t slot = 0;
    std::string host;  // its name and UUID when the host half is readable
    std::string why;
};

// The space of a file deleted at `delete_index` may be allocated again only
// when no slot blocks it (docs/delete.md, "The reclaim rule").
struct ReclaimVerdict {
    std::vector<ReclaimBlocker> blockers;
    bool allowed() const { return blockers.empty(); }
};
ReclaimVerdict reclaim_verdict(std::span<const HostSlot> table, const omf::Uuid& fs_uuid,
                               uint64_t delete_index);
// The least bound over the table: every delete below it may be reclaimed.
uint64_t reclaim_horizon(std::span<const HostSlot> table, const omf::Uuid& fs_uuid);

// True when no slot holds anything of this file system: no host ever
// registered (or all were wiped by mkfs).
bool table_is_empty(std::span<const HostSlot> table, const omf::Uuid& fs_uuid);

// Reads every slot from device memory under the coherence rules: each
// half's lines invalidated before the copy, a torn half read once more.
// EIO when the table's memory fails.
Result<std::vector<HostSlot>> read_host_table(Device& device);

}  // namespace famfs
