// A host's membership in the host table of docs/delete.md ("Getting a
// slot"): the request, the master's grant, heartbeats that publish the
// host's watermark, eviction and a clean leave. Every write follows the
// table's coherence rules (the half built locally with its CRC, copied in,
// its lines flushed); every read invalidates first (read_host_table).
//
// The master is the only writer of master halves: grant_requests() and
// evict_host() refuse on a client (EPERM), so no slot ever has two owners.
// On the master they take the device's host table lock (DeviceLock), so
// its server, famfs host evict and other master commands never interleave
// the read and the write of a master half.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "famfs/device.h"
#include "famfs/host_table.h"
#include "famfs/omf.h"
#include "famfs/result.h"
#include "famfs/system_uuid.h"

namespace famfs {

struct HostIdentity {
    omf::Uuid system_uuid{};
    std::string name;  // the host name, cut to 39 bytes
    Role role = Role::kClient;
    // The process that holds the membership (0: not given). A new request
    // takes over this host's earlier slot only when that slot's process is
    // gone, so two servers of one host never share a slot.
    uint32_t pid = 0;
};

// The local host: its system UUID, gethostname(), its role on `sb` and
// this process.
Result<HostIdentity> local_host_identity(const omf::Superblock& sb);

// Where a member stands after its latest look at its slot.
enum class Standing {
    kWaiting,  // requested, the master has not granted it yet
    kActive,   // granted to this request: heartbeats publish the watermark
    kFenced,   // evicted, or the slot granted to another request: every
               // access on the old mount must fail with ESTALE (remount)
};
const char* to_string(Standing s);

class HostMembership {
  public:
    // Takes a slot: the one this host held before (a mount of it that died
    // or left: one slot per host), else the first free one (empty, of
    // another formatting, left cleanly, or its request evicted). It gets a
    // request (state requested, a random nonce, watermark 0), flushed
    // before this returns, so that the request blocks reclaim before the
    // caller replays the log or opens anything. The master grants itself at
    // once (it writes both halves). ENOSPC "host table full (64 slots)"
    // when no slot is free.
    static Result<HostMembership> request(Device& dev, const omf::Superblock& sb,
                                          const HostIdentity& me);

    // One heartbeat: reads the slot's master half; while the grant names
    // this request, writes the host half as active with `watermark` (never
    // lower than one already published) and the counter + 1. A host half
    // overwritten by another host's request before the grant is requested
    // again in another slot. Once fenced, stays fenced and writes nothing.
    Result<Standing> heartbeat(uint64_t watermark);

    // A clean unmount: state left (the slot then blocks nothing and may be
    // taken again). Nothing when fenced, or when another host's request
    // overwrote this one before its grant.
    Status leave();

    Standing standing() const { return standing_; }
    size_t slot() const { return slot_; }
    uint64_t nonce() const { return nonce_; }
    uint64_t published_watermark() const { return watermark_; }
    uint64_t heartbeats() const { return counter_; }
    const HostIdentity& identity() const { return me_; }

  private:
    HostMembership(Device& dev, const omf::Superblock& sb, HostIdentity me);
    // Requests a slot of `table` other than `avoid` (the master then grants
    // itself): one this host held before, else the first free one.
    Status take_slot(const std::vector<HostSlot>& table, std::optional<size_t> avoid);
    Status write_request();  // in slot_, a fresh nonce
    // The master's own grant of slot_, from the slot as read under the
    // host table lock.
    Status grant_self();
    // Publishes the host half; on success the counter and the watermark
    // (never lowered) are the ones written.
    Status write_host_half(omf::HostState state, uint64_t watermark, uint64_t counter);

    Device* dev_;
    omf::Uuid fs_uuid_;
    HostIdentity me_;
    size_t slot_ = 0;
    uint64_t nonce_ = 0;
    uint64_t watermark_ = 0;
    uint64_t counter_ = 0;
    Standing standing_ = Standing::kWaiting;
};

// The master's grants: every valid request in a slot that is not granted
// to another live request gets its master half (the requester's UUID and
// nonce, generation + 1), flushed. Returns how many were granted. EPERM on
// a client. Called by the master's server at every heartbeat and by master
// commands before they reclaim. `read`, when given, gets the table as this
// pass read it (before its grants), for callers that look at it too.
Result<size_t> grant_requests(Device& dev, const omf::Superblock& sb, Role role,
                              std::vector<HostSlot>* read = nullptr);

// The slots evict_host() would mark: those whose valid host half or grant
// names `host` (a host name or a system UUID), with the same errors
// (ENOENT, EINVAL for the master). Changes nothing (famfs --dryrun host evict).
Result<std::vector<size_t>> slots_of_host(std::span<const HostSlot> table,
                                          const omf::Superblock& sb, const std::string& host,
                                          const std::string& device);

// famfs host evict: marks evicted every slot whose host half or grant
// names `host` (a host name or a system UUID). ENOENT naming `host` when no
// slot does; EINVAL when `host` is the master itself; EPERM on a client.
// Returns the slots evicted.
Result<std::vector<size_t>> evict_host(Device& dev, const omf::Superblock& sb, Role role,
                                       const std::string& host);

// Liveness as an observer sees it (docs/delete.md, "Dead host"): a slot
// whose heartbeat counter has not moved for `stale_after` on the
// observer's own monotonic clock is stale. Wall-clock times in the slots
// are never used, so clock jumps on any host change nothing.
class LivenessTracker {
  public:
    using Clock = std::chrono::steady_clock;
    explicit LivenessTracker(std::chrono::milliseconds stale_after) : stale_after_(stale_after) {}
    // Records what the table shows now.
    void observe(const std::vector<HostSlot>& table, Clock::time_point now);
    // Slots holding an active host whose counter has not moved for
    // stale_after (slots never observed moving count from their first
    // observation).
    std::vector<size_t> stale(Clock::time_point now) const;
    // How long the slot's counter has been still; nullopt when not tracked.
    std::optional<std::chrono::milliseconds> still_for(size_t slot, Clock::time_point now) const;

  private:
    struct Seen {
        omf::Uuid host{};
        uint64_t nonce = 0;
        uint64_t counter = 0;
        Clock::time_point since{};
        bool active = false;
    };
    std::chrono::milliseconds stale_after_;
    std::vector<std::optional<Seen>> seen_ = std::vector<std::optional<Seen>>(omf::kHostSlots);
};

}  // namespace famfs
