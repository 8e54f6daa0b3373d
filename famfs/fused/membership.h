// The server's part in the delete protocol (docs/delete.md): this host's
// slot in the host table, and a thread that keeps it. Every host publishes
// its watermark (the server computes it from its open handles) at every
// heartbeat and soon after it may have moved; the master's thread also
// grants other hosts' requests and, with a lease, evicts hosts whose
// heartbeat stopped. A client opens no file before the master's grant: a
// request that another host's overwrote before the master saw it would
// otherwise leave a host the master cannot see.
//
// Its mutex is a leaf of the server's lock order (server.h); the thread
// calls the watermark hook (which takes the tree lock shared) holding none.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "famfs/device.h"
#include "famfs/host_registration.h"
#include "famfs/omf.h"
#include "famfs/result.h"

namespace famfs::fused {

struct MembershipOptions {
    // A heartbeat publishes the watermark at least this often.
    std::chrono::milliseconds heartbeat{1000};
    // How often a host waiting for its grant, and the master looking for
    // requests, read the table.
    std::chrono::milliseconds grant_poll{20};
    // How long an open on a client waits for the master's grant.
    std::chrono::milliseconds grant_wait{10000};
    // The master evicts a host whose heartbeat counter has not moved for
    // this long (0: never; the operator runs famfs host evict).
    std::chrono::milliseconds lease{0};
};

class Membership {
  public:
    struct Hooks {
        // This host's watermark now (server.h: Server::watermark()).
        std::function<uint64_t()> watermark;
        // The slot was taken from this host (evicted, or granted to another
        // request): its mount must answer ESTALE from now on.
        std::function<void(const std::string& why)> fenced;
    };

    // Requests a slot (the master grants itself at once). Before the
    // caller replays the log: the request blocks reclaim from then on.
    static Result<std::unique_ptr<Membership>> join(Device& dev, const omf::Superblock& sb,
                                                    const MembershipOptions& opt);
    ~Membership();

    // The thread starts once the hooks can be called.
    void start(Hooks hooks);
    // Stops the thread; `leave`: a clean unmount writes the slot as left.
    void stop(bool leave);
    // A watermark may have moved (a handle of a deleted file was released,
    // entries were applied): publish within a few milliseconds.
    void nudge();

    // For an open on a client: 0 once granted, EAGAIN when no grant came
    // within grant_wait, ESTALE when fenced. The master is granted at once.
    int wait_for_grant();

    // The .meta/.status lines ("host_slot: ...").
    std::string status_lines() const;

  private:
    Membership(HostMembership m, Device& dev, const omf::Superblock& sb,
               const MembershipOptions& opt);
    void run();
    // One round: heartbeat (and, on the master, grants and the lease).
    void beat();
    void master_duties();
    bool is_master() const { return member_.identity().role == Role::kMaster; }

    Device& dev_;
    omf::Superblock sb_;
    MembershipOptions opt_;
    Hooks hooks_;

    mutable std::mutex mu_;  // guards everything below; a leaf
    std::condition_variable changed_;
    HostMembership member_;
    std::string last_error_;        // the last failed heartbeat or grant
    uint64_t grants_made_ = 0;      // master: requests granted
    std::string evicted_by_lease_;  // master: the last automatic eviction
    LivenessTracker liveness_;
    bool stop_ = false;
    bool nudged_ = false;
    std::thread thread_;
};

}  // namespace famfs::fused
