#include "famfs/host_table.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "famfs/memsafe.h"

namespace famfs {
namespace {

std::string host_label(const HostSlot& s) {
    if (s.host.status != omf::HalfStatus::kValid) return "";
    return s.host.half.name + " (" + omf::uuid_to_string(s.host.half.system_uuid) + ")";
}

SlotBound blocks(std::string why) {
    return {0, std::move(why)};
}

// The bound of a slot whose host half is valid and matches its grant.
SlotBound granted_bound(const omf::HostHalf& h) {
    if (h.state == omf::HostState::kLeft) return {};
    if (h.watermark == 0) return blocks("watermark 0 (the host has applied nothing yet)");
    return {h.watermark, "watermark " + std::to_string(h.watermark)};
}

// Copies device bytes out, their lines invalidated first. Nothing with a
// destructor is alive in the guarded region, so a SIGBUS abandons nothing.
Status copy_out(Device& dev, const uint8_t* from, uint8_t* to, size_t n) {
    return memsafe::guarded(from, n, [&] {
        dev.invalidate(from, n);
        std::memcpy(to, from, n);
    });
}

// Decodes a half copied into `local`; a torn one is copied and decoded once
// more, as its writer may be mid-write on another host.
template <class Decode>
auto read_half(Device& dev, const uint8_t* from, uint8_t* local, Decode decode, Status& io) {
    auto d = decode(std::span<const uint8_t>(local, omf::kHostHalfBytes));
    if (d.status != omf::HalfStatus::kTorn) return d;
    if (Status s = copy_out(dev, from, local, omf::kHostHalfBytes); !s) io = s;
    return decode(std::span<const uint8_t>(local, omf::kHostHalfBytes));
}

}  // namespace

HostSlot slot_of_this_fs(HostSlot s, const omf::Uuid& fs_uuid) {
    if (s.host.status == omf::HalfStatus::kValid && s.host.half.fs_uuid != fs_uuid) s.host = {};
    if (s.master.status == omf::HalfStatus::kValid && s.master.half.fs_uuid != fs_uuid)
        s.master = {};
    return s;
}

SlotBound slot_bound(const HostSlot& raw, const omf::Uuid& fs_uuid) {
    using omf::HalfStatus;
    const HostSlot s = slot_of_this_fs(raw, fs_uuid);
    if (s.master.status == HalfStatus::kTorn) return blocks("the master's grant is torn");
    const bool granted = s.master.status == HalfStatus::kValid;
    if (granted && s.master.half.evicted) {
        // An eviction ends the request it names, not a later one in the
        // slot: that host may replay and open once granted, so it blocks
        // like any request.
        const omf::HostHalf& h = s.host.half;
        if (s.host.status == HalfStatus::kValid && h.state != omf::HostState::kLeft &&
            (h.system_uuid != s.master.half.granted_uuid || h.nonce != s.master.half.nonce))
            return blocks("a request the master has not granted yet (in an evicted slot)");
        return {};
    }
    switch (s.host.status) {
        case HalfStatus::kEmpty:
            if (granted) return blocks("granted, but the host has not written its slot");
            return {};
        case HalfStatus::kTorn:
            return blocks("the host's slot is torn or corrupt");
        case HalfStatus::kValid:
            break;
    }
    const omf::HostHalf& h = s.host.half;
    if (!granted) {
        if (h.state == omf::HostState::kLeft) return {};
        return blocks("a request the master has not granted yet");
    }
    if (h.system_uuid != s.master.half.granted_uuid || h.nonce != s.master.half.nonce)
        return blocks("the host half does not match its grant (a stale write)");
    return granted_bound(h);
}

ReclaimVerdict reclaim_verdict(std::span<const HostSlot> table, const omf::Uuid& fs_uuid,
                               uint64_t delete_index) {
    ReclaimVerdict v;
    for (const HostSlot& s : table) {
        SlotBound b = slot_bound(s, fs_uuid);
        if (b.bound <= delete_index) v.blockers.push_back({s.index, host_label(s), b.why});
    }
    return v;
}

bool table_is_empty(std::span<const HostSlot> table, const omf::Uuid& fs_uuid) {
    return std::all_of(table.begin(), table.end(), [&](const HostSlot& raw) {
        const HostSlot s = slot_of_this_fs(raw, fs_uuid);
        return s.host.status == omf::HalfStatus::kEmpty &&
               s.master.status == omf::HalfStatus::kEmpty;
    });
}

uint64_t reclaim_horizon(std::span<const HostSlot> table, const omf::Uuid& fs_uuid) {
    uint64_t horizon = SlotBound::kUnbounded;
    for (const HostSlot& s : table) horizon = std::min(horizon, slot_bound(s, fs_uuid).bound);
    return horizon;
}

bool reclaim_gate_is_off() {
    const char* gate = std::getenv("FAMFS_TEST_RECLAIM_GATE");
    return gate != nullptr && std::strcmp(gate, "off") == 0;
}

Result<std::vector<HostSlot>> read_host_table(Device& dev) {
    constexpr uint64_t kTableBytes = omf::kHostSlots * omf::kHostSlotBytes;
    if (dev.size() < omf::kHostTableOffset + kTableBytes)
        return make_error(EINVAL, dev.path() + ": device too small for the host table");
    auto mem = dev.range(omf::kHostTableOffset, kTableBytes);
    std::vector<uint8_t> raw(kTableBytes);
    Status io = copy_out(dev, mem.data(), raw.data(), kTableBytes);
    std::vector<HostSlot> table(omf::kHostSlots);
    for (size_t i = 0; i < omf::kHostSlots && io; ++i) {
        const size_t at = i * omf::kHostSlotBytes, master_at = at + omf::kHostHalfBytes;
        table[i].index = i;
        table[i].host = read_half(dev, mem.data() + at, raw.data() + at, omf::decode_host_half, io);
        table[i].master = read_half(dev, mem.data() + master_at, raw.data() + master_at,
                                    omf::decode_master_half, io);
    }
    if (!io) return make_error(EIO, dev.path() + ": host table: " + io.error().message);
    return table;
}

}  // namespace famfs
