// A model of the delete protocol (docs/delete.md) over several simulated
// hosts: random interleavings of create, delete, replay, open, close,
// watermark advance, crash and evict, with the master allocating through
// the real Allocator and deciding reclaim with the real rule. After every
// step it checks the invariant: no host can reach memory that the master
// has given to a different file than the one the host believes is there.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <random>
#include <set>
#include <vector>

#include "famfs/allocator.h"
#include "famfs/host_table.h"
#include "famfs_test_support.h"

namespace famfs {
namespace {

constexpr uint64_t kUnit = omf::kAllocUnit;

struct Op {  // one log entry of the model
    bool create = true;
    uint64_t file = 0;         // the file's id: its create entry's index
    std::set<uint64_t> units;  // a create's units
};

struct Host {
    size_t slot = 0;
    bool alive = true;
    uint64_t applied = 0;                                 // log entries replayed
    std::map<uint64_t, std::set<uint64_t>> files;         // believed live: id -> units
    std::map<uint64_t, uint64_t> deleted_at;              // id -> delete index seen
    std::multimap<uint64_t, std::set<uint64_t>> handles;  // open: id -> units
    uint64_t watermark = 0;
};

class Model {
  public:
    Model(uint64_t seed, bool gate) : rng_(seed), gate_(gate) {
        table_.resize(omf::kHostSlots);
        for (size_t i = 0; i < table_.size(); ++i) table_[i].index = i;
        for (int i = 0; i < 3; ++i) hosts_.push_back(register_host());
    }

    // Returns false at the first violation of the invariant.
    bool step() {
        switch (pick(9)) {
            case 0:
                create();
                break;
            case 1:
                remove();
                break;
            case 2:
            case 3:
                with_host([&](Host& h) { replay(h); });
                break;
            case 4:
                with_host([&](Host& h) { open(h); });
                break;
            case 5:
                with_host([&](Host& h) { close(h); });
                break;
            case 6:
            case 7:
                with_host([&](Host& h) { advance(h); });
                break;
            case 8:
                crash_or_evict();
                break;
        }
        return invariant_holds();
    }
    uint64_t reused() const { return reused_; }

  private:
    size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

    Host register_host() {
        Host h;
        h.slot = next_slot_++;
        publish(h);
        return h;
    }

    // The host's slot as the master reads it (granted, valid).
    void publish(const Host& h) {
        omf::HostHalf half;
        half.state = omf::HostState::kActive;
        half.system_uuid.fill(static_cast<uint8_t>(h.slot + 1));
        half.nonce = h.slot;
        half.watermark = h.watermark;
        omf::MasterHalf grant;
        grant.granted_uuid = half.system_uuid;
        grant.nonce = half.nonce;
        grant.evicted = table_[h.slot].master.status == omf::HalfStatus::kValid &&
                        table_[h.slot].master.half.evicted;
        table_[h.slot].host = {omf::HalfStatus::kValid, half};
        table_[h.slot].master = {omf::HalfStatus::kValid, grant};
    }

    bool evicted(const Host& h) const { return table_[h.slot].master.half.evicted; }

    template <class F>
    void with_host(F&& fn) {
        Host& h = hosts_[pick(hosts_.size())];
        if (!h.alive) return;
        if (evicted(h)) {  // the fence: it finds itself evicted and drops everything
            h = register_host();
            return;
        }
        fn(h);
        publish(h);
    }

    void create() {
        const uint64_t horizon = gate_ ? reclaim_horizon(table_, omf::Uuid{}) : ~uint64_t{0};
        alloc_.reclaim(horizon);
        const uint64_t size = (1 + pick(3)) * kUnit;
        auto x = alloc_.allocate(size);
        if (!x) return;
        const uint64_t index = log_.size();
        Op op{true, index, {}};
        for (uint64_t u = x->offset / kUnit; u < (x->offset + x->len) / kUnit; ++u) {
            if (ever_owned_.count(u)) ++reused_;
            ever_owned_.insert(u);
            op.units.insert(u);
            owner_[u] = index;
        }
        omf::FileEntry f;
        f.size = size;
        f.extents = {*x};
        alloc_.adopt(f, index);
        live_.insert(index);
        log_.push_back(op);
    }

    void remove() {
        if (live_.empty()) return;
        auto it = live_.begin();
        std::advance(it, static_cast<long>(pick(live_.size())));
        const uint64_t file = *it, index = log_.size();
        live_.erase(it);
        log_.push_back(Op{false, file, {}});
        alloc_.pend(file, index);
    }

    static void replay(Host& h, const std::vector<Op>& log) {
        for (; h.applied < log.size(); ++h.applied) {
            const Op& op = log[h.applied];
            if (op.create) {
                h.files[op.file] = op.units;
            } else {
                h.files.erase(op.file);
                h.deleted_at[op.file] = h.applied;
            }
        }
    }
    void replay(Host& h) { replay(h, log_); }

    void open(Host& h) {
        if (h.files.empty()) return;
        auto it = h.files.begin();
        std::advance(it, static_cast<long>(pick(h.files.size())));
        h.handles.emplace(it->first, it->second);
    }

    void close(Host& h) {
        if (h.handles.empty()) return;
        auto it = h.handles.begin();
        std::advance(it, static_cast<long>(pick(h.handles.size())));
        h.handles.erase(it);
    }

    // W: every entry below it applied, and no handle on a file deleted below it.
    static void advance(Host& h) {
        uint64_t w = h.applied;
        for (const auto& [file, units] : h.handles) {
            auto d = h.deleted_at.find(file);
            if (d != h.deleted_at.end()) w = std::min(w, d->second);
        }
        h.watermark = std::max(h.watermark, w);
    }

    // A crash loses the host's handles but leaves its slot (a dead host,
    // blocking); the operator evicts a dead host, which then restarts.
    void crash_or_evict() {
        Host& h = hosts_[pick(hosts_.size())];
        if (h.alive) {
            h.alive = false;
            h.handles.clear();
            return;
        }
        if (next_slot_ == omf::kHostSlots) return;  // the table is full: it stays dead
        table_[h.slot].master.half.evicted = true;
        h = register_host();
    }

    bool invariant_holds() const {
        for (const Host& h : hosts_) {
            if (!h.alive || evicted(h)) continue;
            for (const auto& [file, units] : h.handles)
                for (uint64_t u : units) {
                    auto o = owner_.find(u);
                    if (o != owner_.end() && o->second != file) return false;
                }
        }
        return true;
    }

    std::mt19937_64 rng_;
    bool gate_;
    Allocator alloc_{test::make_superblock(64 * omf::kMiB, omf::kMinLogLen, omf::Uuid{})};
    std::vector<HostSlot> table_;
    std::vector<Host> hosts_;
    size_t next_slot_ = 0;
    std::vector<Op> log_;
    std::set<uint64_t> live_;
    std::map<uint64_t, uint64_t> owner_;  // unit -> file the master last gave it to
    std::set<uint64_t> ever_owned_;
    uint64_t reused_ = 0;
};

TEST(DeleteModel, NoHostReachesMemoryGivenToAnotherFile) {
    uint64_t reused = 0;
    for (uint64_t seed = 1; seed <= 200; ++seed) {
        Model m(seed, true);
        for (int i = 0; i < 400; ++i) ASSERT_TRUE(m.step()) << "seed " << seed << " step " << i;
        reused += m.reused();
    }
    EXPECT_GT(reused, 1000u) << "the model must actually reclaim and reuse space";
}

TEST(DeleteModel, WithoutTheGateTheRaceIsFound) {
    bool found = false;
    for (uint64_t seed = 1; seed <= 200 && !found; ++seed) {
        Model m(seed, false);
        for (int i = 0; i < 400 && !found; ++i) found = !m.step();
    }
    EXPECT_TRUE(found) << "the model cannot see the race it is meant to exclude";
}

}  // namespace
}  // namespace famfs
