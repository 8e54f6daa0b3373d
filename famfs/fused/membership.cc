#include "membership.h"

#include <cerrno>
#include <utility>
#include <vector>

#include "famfs/host_table.h"

namespace famfs::fused {

namespace {

// The counter of a host that stopped is judged after this many missed
// heartbeats when no lease is set (for .meta/.status only).
constexpr int kStaleAfterBeats = 5;

std::chrono::milliseconds stale_after(const MembershipOptions& o) {
    return o.lease.count() > 0 ? o.lease : o.heartbeat * kStaleAfterBeats;
}

}  // namespace

Result<std::unique_ptr<Membership>> Membership::join(Device& dev, const omf::Superblock& sb,
                                                     const MembershipOptions& opt) {
    auto me = local_host_identity(sb);
    if (!me) return me.error();
    auto m = HostMembership::request(dev, sb, *me);
    if (!m) return m.error();
    return std::unique_ptr<Membership>(new Membership(std::move(*m), dev, sb, opt));
}

Membership::Membership(HostMembership m, Device& dev, const omf::Superblock& sb,
                       const MembershipOptions& opt)
    : dev_(dev), sb_(sb), opt_(opt), member_(std::move(m)), liveness_(stale_after(opt)) {}

Membership::~Membership() {
    stop(false);
}

void Membership::start(Hooks hooks) {
    hooks_ = std::move(hooks);
    thread_ = std::thread([this] { run(); });
}

void Membership::stop(bool leave) {
    {
        std::lock_guard lk(mu_);
        if (stop_ && !thread_.joinable()) return;
        stop_ = true;
    }
    changed_.notify_all();
    if (thread_.joinable()) thread_.join();
    if (!leave) return;
    std::lock_guard lk(mu_);
    if (Status s = member_.leave(); !s) last_error_ = s.error().message;
}

void Membership::nudge() {
    {
        std::lock_guard lk(mu_);
        nudged_ = true;
    }
    changed_.notify_all();
}

int Membership::wait_for_grant() {
    std::unique_lock lk(mu_);
    const bool decided = changed_.wait_for(
        lk, opt_.grant_wait, [&] { return member_.standing() != Standing::kWaiting || stop_; });
    if (!decided || member_.standing() == Standing::kWaiting) {
        if (last_error_.empty())
            last_error_ = "no grant from the master within " +
                          std::to_string(opt_.grant_wait.count()) +
                          " ms: is the file system mounted on the master?";
        return EAGAIN;
    }
    return member_.standing() == Standing::kFenced ? ESTALE : 0;
}

void Membership::run() {
    using Clock = std::chrono::steady_clock;
    auto next_beat = Clock::now();
    std::unique_lock lk(mu_);
    while (!stop_) {
        // The watermark is read without the leaf lock held (it takes the
        // tree lock).
        const bool due =
            nudged_ || Clock::now() >= next_beat || member_.standing() == Standing::kWaiting;
        if (due) {
            nudged_ = false;
            lk.unlock();
            const uint64_t w = hooks_.watermark ? hooks_.watermark() : 0;
            lk.lock();
            const Standing before = member_.standing();
            auto s = member_.heartbeat(w);
            if (!s) last_error_ = s.error().message;
            next_beat = Clock::now() + opt_.heartbeat;
            if (member_.standing() != before) {
                changed_.notify_all();
                if (member_.standing() == Standing::kFenced && hooks_.fenced) {
                    const std::string why = "slot " + std::to_string(member_.slot()) +
                                            " of the host table is no longer this host's "
                                            "(evicted by the master, or granted to another "
                                            "request): remount";
                    lk.unlock();
                    hooks_.fenced(why);
                    lk.lock();
                }
            }
        }
        if (is_master()) master_duties();
        if (member_.standing() == Standing::kFenced) {
            changed_.wait(lk, [&] { return stop_; });
            break;
        }
        changed_.wait_for(lk, opt_.grant_poll, [&] { return stop_ || nudged_; });
    }
}

void Membership::master_duties() {
    // Slots granted in this pass count as active from the next one.
    std::vector<HostSlot> table;
    auto granted = grant_requests(dev_, sb_, Role::kMaster, &table);
    if (!granted) {
        last_error_ = granted.error().message;
        return;
    }
    grants_made_ += *granted;
    const auto now = LivenessTracker::Clock::now();
    liveness_.observe(table, now);
    if (opt_.lease.count() == 0) return;
    for (const size_t slot : liveness_.stale(now)) {
        const HostSlot s = slot_of_this_fs(table[slot], sb_.fs_uuid);
        if (s.host.status != omf::HalfStatus::kValid) continue;
        const std::string uuid = omf::uuid_to_string(s.host.half.system_uuid);
        if (auto e = evict_host(dev_, sb_, Role::kMaster, uuid); e) {
            evicted_by_lease_ =
                s.host.half.name + " (" + uuid + ", slot " + std::to_string(slot) + ")";
        } else {
            last_error_ = e.error().message;
        }
    }
}

std::string Membership::status_lines() const {
    std::lock_guard lk(mu_);
    std::string out = "host_slot: " + std::to_string(member_.slot()) + "\n";
    out += "host_standing: " + std::string(to_string(member_.standing())) + "\n";
    out += "host_watermark: " + std::to_string(member_.published_watermark()) + "\n";
    out += "host_heartbeats: " + std::to_string(member_.heartbeats()) + "\n";
    if (!last_error_.empty()) out += "host_error: " + last_error_ + "\n";
    if (!is_master()) return out;
    out += "hosts_granted: " + std::to_string(grants_made_) + "\n";
    out += "host_lease_ms: " + std::to_string(opt_.lease.count()) + "\n";
    const auto now = LivenessTracker::Clock::now();
    std::string stale;
    for (const size_t slot : liveness_.stale(now)) {
        if (!stale.empty()) stale += ", ";
        stale += "slot " + std::to_string(slot);
        if (auto still = liveness_.still_for(slot, now))
            stale += " (no heartbeat for " + std::to_string(still->count() / 1000) + " s)";
    }
    out += "hosts_stale: " + (stale.empty() ? std::string("none") : stale) + "\n";
    if (!evicted_by_lease_.empty()) out += "host_last_lease_eviction: " + evicted_by_lease_ + "\n";
    return out;
}

}  // namespace famfs::fused
