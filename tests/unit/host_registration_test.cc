// A host's membership in the host table (docs/delete.md, "Getting a slot",
// "Failure cases"): requests, the master's grants, heartbeats, leaving,
// eviction and fencing over in-memory devices; writes cut by power loss at
// every step; liveness on a fake monotonic clock.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "famfs/host_registration.h"
#include "famfs/host_table.h"
#include "famfs/omf.h"
#include "famfs_test_support.h"

namespace famfs {
namespace {

using omf::HalfStatus;
using omf::HostState;

// Just the superblock region up to the end of the host table: the
// membership code touches nothing else, and the cut test copies the whole
// device at every persist.
constexpr uint64_t kDevSize = omf::kHostTableOffset + omf::kHostSlots * omf::kHostSlotBytes;

// Records, at each persist, the table as power loss would leave it just
// before that persist: what a cut persist may leave its half as.
class RecordingDevice : public testing::FaultyDevice {
  public:
    using FaultyDevice::FaultyDevice;
    Status persist(const void* p, size_t n) override {
        if (recording_) before_persist_ = persisted_image();
        return FaultyDevice::persist(p, n);
    }
    void record() {
        snapshot();
        recording_ = true;
    }
    const std::vector<uint8_t>& before_persist() const { return before_persist_; }

  private:
    bool recording_ = false;
    std::vector<uint8_t> before_persist_;
};

struct Fs {
    std::unique_ptr<RecordingDevice> owned;
    RecordingDevice* dev = nullptr;
    omf::Superblock superblock;
    const omf::Superblock& sb() const { return superblock; }
    const omf::Uuid& fs() const { return superblock.fs_uuid; }
};

Fs fresh_fs() {
    auto memory = testing::MemoryDevice::create(kDevSize);
    if (!memory) std::abort();
    Fs f;
    f.owned = std::make_unique<RecordingDevice>(std::shared_ptr<Device>(std::move(*memory)));
    f.dev = f.owned.get();
    f.superblock = test::make_superblock(kDevSize, omf::kMinLogLen, test::host_uuid());
    return f;
}

omf::Uuid uuid_of(uint8_t seed) {
    omf::Uuid u{};
    u[0] = seed;
    u[15] = 0x5a;
    return u;
}

HostIdentity client(uint8_t seed) {
    return {uuid_of(seed), "host-" + std::to_string(seed), Role::kClient};
}

HostIdentity master_of(const Fs& f) {
    return {f.sb().system_uuid, "master", Role::kMaster};
}

std::vector<HostSlot> table(Device& dev) {
    auto t = read_host_table(dev);
    EXPECT_TRUE(t.ok()) << t.error().message;
    return t.ok() ? *t : std::vector<HostSlot>(omf::kHostSlots);
}

HostSlot slot(Fs& f, size_t i) {
    return slot_of_this_fs(table(*f.dev)[i], f.fs());
}

std::vector<uint8_t> table_bytes(Device& dev) {
    auto b = dev.range(omf::kHostTableOffset, omf::kHostSlots * omf::kHostSlotBytes);
    return {b.begin(), b.end()};
}

HostMembership request(Fs& f, const HostIdentity& me) {
    auto m = HostMembership::request(*f.dev, f.sb(), me);
    EXPECT_TRUE(m.ok()) << m.error().message;
    if (!m.ok()) std::abort();
    return std::move(*m);
}

size_t grant(Fs& f) {
    auto n = grant_requests(*f.dev, f.sb(), Role::kMaster);
    EXPECT_TRUE(n.ok()) << n.error().message;
    return n.ok() ? *n : 0;
}

Standing beat(HostMembership& m, uint64_t watermark) {
    auto s = m.heartbeat(watermark);
    EXPECT_TRUE(s.ok()) << s.error().message;
    return s.ok() ? *s : Standing::kFenced;
}

bool blocks(Fs& f, uint64_t delete_index) {
    const auto t = table(*f.dev);
    return !reclaim_verdict(t, f.fs(), delete_index).allowed();
}

// ---- request, grant, heartbeat, leave ----

TEST(HostMembership, RequestGrantHeartbeatLeave) {
    Fs f = fresh_fs();
    HostMembership a = request(f, client(1));
    EXPECT_EQ(a.slot(), 0u);
    EXPECT_EQ(a.standing(), Standing::kWaiting);
    HostSlot s = slot(f, 0);
    ASSERT_EQ(s.host.status, HalfStatus::kValid);
    EXPECT_EQ(s.host.half.state, HostState::kRequested);
    EXPECT_EQ(s.host.half.system_uuid, uuid_of(1));
    EXPECT_EQ(s.host.half.fs_uuid, f.fs());
    EXPECT_EQ(s.host.half.nonce, a.nonce());
    EXPECT_NE(a.nonce(), 0u);
    EXPECT_EQ(s.host.half.watermark, 0u);
    EXPECT_EQ(s.host.half.name, "host-1");
    EXPECT_EQ(s.master.status, HalfStatus::kEmpty);
    EXPECT_TRUE(blocks(f, 0)) << "a request blocks reclaim before its host replays";

    // No grant yet: the beat writes nothing.
    const auto before = table_bytes(*f.dev);
    EXPECT_EQ(beat(a, 5), Standing::kWaiting);
    EXPECT_EQ(table_bytes(*f.dev), before);

    EXPECT_EQ(grant(f), 1u);
    EXPECT_EQ(grant(f), 0u) << "a live grant is not granted again";
    s = slot(f, 0);
    ASSERT_EQ(s.master.status, HalfStatus::kValid);
    EXPECT_FALSE(s.master.half.evicted);
    EXPECT_EQ(s.master.half.granted_uuid, uuid_of(1));
    EXPECT_EQ(s.master.half.nonce, a.nonce());
    EXPECT_EQ(s.master.half.generation, 1u);
    EXPECT_TRUE(blocks(f, 0)) << "granted, watermark still 0";

    EXPECT_EQ(beat(a, 5), Standing::kActive);
    EXPECT_EQ(beat(a, 7), Standing::kActive);
    s = slot(f, 0);
    EXPECT_EQ(s.host.half.state, HostState::kActive);
    EXPECT_EQ(s.host.half.watermark, 7u);
    EXPECT_EQ(s.host.half.heartbeat, 2u);
    EXPECT_EQ(a.heartbeats(), 2u);
    EXPECT_NE(s.host.half.heartbeat_ns, 0u);
    EXPECT_FALSE(blocks(f, 6));
    EXPECT_TRUE(blocks(f, 7));

    ASSERT_TRUE(a.leave().ok());
    s = slot(f, 0);
    EXPECT_EQ(s.host.half.state, HostState::kLeft);
    EXPECT_EQ(s.host.half.watermark, 7u);
    EXPECT_FALSE(blocks(f, 1000)) << "a host that left blocks nothing";
}

TEST(HostMembership, TheMasterGrantsItself) {
    Fs f = fresh_fs();
    HostMembership m = request(f, master_of(f));
    EXPECT_EQ(m.standing(), Standing::kActive);
    const HostSlot s = slot(f, m.slot());
    ASSERT_EQ(s.master.status, HalfStatus::kValid);
    EXPECT_EQ(s.master.half.granted_uuid, f.sb().system_uuid);
    EXPECT_EQ(s.master.half.nonce, m.nonce());
    EXPECT_EQ(s.master.half.generation, 1u);
    ASSERT_EQ(s.host.status, HalfStatus::kValid);
    EXPECT_EQ(s.host.half.state, HostState::kActive);
    EXPECT_EQ(grant(f), 0u);
    EXPECT_EQ(beat(m, 3), Standing::kActive);
    EXPECT_EQ(slot(f, m.slot()).host.half.watermark, 3u);
}

TEST(HostMembership, OnlyTheMasterGrants) {
    Fs f = fresh_fs();
    HostMembership a = request(f, client(1));
    const auto before = table_bytes(*f.dev);
    auto n = grant_requests(*f.dev, f.sb(), Role::kClient);
    ASSERT_FALSE(n.ok());
    EXPECT_EQ(n.error().code, EPERM);
    EXPECT_NE(n.error().message.find(f.dev->path()), std::string::npos) << n.error().message;
    EXPECT_EQ(table_bytes(*f.dev), before);
}

TEST(HostMembership, WatermarkIsNeverLowered) {
    Fs f = fresh_fs();
    HostMembership a = request(f, client(1));
    grant(f);
    EXPECT_EQ(beat(a, 10), Standing::kActive);
    EXPECT_EQ(beat(a, 4), Standing::kActive);
    EXPECT_EQ(a.published_watermark(), 10u);
    EXPECT_EQ(slot(f, 0).host.half.watermark, 10u);
    EXPECT_EQ(slot(f, 0).host.half.heartbeat, 2u) << "the beat still counts";
    ASSERT_TRUE(a.leave().ok());
    EXPECT_EQ(slot(f, 0).host.half.watermark, 10u);
}

// A remount of a host that died (or left) takes its own slot over with a
// new request: one slot per host identity. The old mount is fenced once
// the new request is granted.
TEST(HostMembership, AHostTakesItsOwnSlotOver) {
    Fs f = fresh_fs();
    HostMembership other = request(f, client(2));
    HostMembership old = request(f, client(1));
    grant(f);
    EXPECT_EQ(beat(old, 9), Standing::kActive);
    EXPECT_EQ(old.slot(), 1u);

    HostMembership again = request(f, client(1));
    EXPECT_EQ(again.slot(), 1u);
    EXPECT_NE(again.nonce(), old.nonce());
    EXPECT_TRUE(blocks(f, 0)) << "the new request blocks until it publishes";
    EXPECT_EQ(grant(f), 1u) << "the new request (host 2's grant is live)";
    EXPECT_EQ(beat(old, 10), Standing::kFenced);
    EXPECT_EQ(beat(again, 10), Standing::kActive);

    ASSERT_TRUE(again.leave().ok());
    HostMembership third = request(f, client(1));
    EXPECT_EQ(third.slot(), 1u) << "a slot this host left is still its own";
}

// Two servers of one host (two mounts, or servers in one test process):
// the second takes another slot while the first one's process runs.
TEST(HostMembership, ASlotWhoseServerStillRunsIsNotTakenOver) {
    Fs f = fresh_fs();
    HostIdentity me = client(1);
    me.pid = static_cast<uint32_t>(getpid());
    HostMembership first = request(f, me);
    HostMembership second = request(f, me);
    EXPECT_NE(second.slot(), first.slot());
    grant(f);
    EXPECT_EQ(beat(first, 5), Standing::kActive);
    EXPECT_EQ(beat(second, 5), Standing::kActive);
}

// A host that rebooted may give its new server the pid the old one had: a
// slot whose last heartbeat is older than the process now holding that pid
// is the dead server's, and is taken over.
TEST(HostMembership, ASlotOfAPidReusedSinceItsLastHeartbeatIsTakenOver) {
    Fs f = fresh_fs();
    HostIdentity me = client(1);
    me.pid = static_cast<uint32_t>(getpid());
    omf::HostHalf before_boot;
    before_boot.state = omf::HostState::kActive;
    before_boot.server_pid = me.pid;
    before_boot.system_uuid = me.system_uuid;
    before_boot.fs_uuid = f.fs();
    before_boot.nonce = 5;
    before_boot.watermark = 3;
    before_boot.heartbeat = 40;
    before_boot.heartbeat_ns = 1'000'000'000ULL;  // 1970: before this process started
    before_boot.name = me.name;
    test::encode_granted_slot(before_boot,
                              f.dev->range(omf::host_slot_offset(3), omf::kHostSlotBytes));
    EXPECT_EQ(request(f, me).slot(), 3u);
}

// Host 1 and host 2 both read slot 0 as free; host 2's request lands over
// host 1's before the grant. The master grants what it sees (host 2), and
// host 1 moves at its next heartbeat, never active in slot 0.
TEST(HostMembership, TheLoserOfARaceMovesToAnotherSlot) {
    Fs f = fresh_fs();
    auto slot0 = f.dev->range(omf::host_slot_offset(0), omf::kHostHalfBytes);
    HostMembership b = request(f, client(2));  // its write, before it lands
    ASSERT_EQ(b.slot(), 0u);
    const std::vector<uint8_t> b_write(slot0.begin(), slot0.end());
    std::memset(slot0.data(), 0, slot0.size());
    HostMembership a = request(f, client(1));
    ASSERT_EQ(a.slot(), 0u);
    std::memcpy(slot0.data(), b_write.data(), b_write.size());  // b's write lands late

    EXPECT_EQ(grant(f), 1u);
    EXPECT_EQ(slot(f, 0).master.half.granted_uuid, uuid_of(2));
    EXPECT_EQ(beat(a, 3), Standing::kWaiting);
    EXPECT_EQ(a.slot(), 1u) << "host 1 requested again elsewhere";
    EXPECT_EQ(slot(f, 1).host.half.state, HostState::kRequested);
    EXPECT_EQ(slot(f, 1).host.half.nonce, a.nonce());
    EXPECT_EQ(beat(b, 3), Standing::kActive);
    EXPECT_EQ(slot(f, 0).host.half.system_uuid, uuid_of(2));

    EXPECT_EQ(grant(f), 1u);
    EXPECT_EQ(beat(a, 3), Standing::kActive);
    EXPECT_EQ(a.slot(), 1u);
    EXPECT_EQ(slot(f, 0).host.half.system_uuid, uuid_of(2)) << "slot 0 stays host 2's";
}

// The same race, the master granting host 1 before host 2's write lands:
// host 1's next beat restores its half, host 2 moves.
TEST(HostMembership, ALateRequestOverAGrantedSlotMoves) {
    Fs f = fresh_fs();
    auto slot0 = f.dev->range(omf::host_slot_offset(0), omf::kHostHalfBytes);
    HostMembership b = request(f, client(2));
    const std::vector<uint8_t> b_write(slot0.begin(), slot0.end());
    std::memset(slot0.data(), 0, slot0.size());
    HostMembership a = request(f, client(1));
    grant(f);
    EXPECT_EQ(beat(a, 1), Standing::kActive);
    std::memcpy(slot0.data(), b_write.data(), b_write.size());
    EXPECT_TRUE(blocks(f, 0)) << "a stale write blocks reclaim";
    EXPECT_EQ(beat(a, 2), Standing::kActive);
    EXPECT_EQ(slot(f, 0).host.half.system_uuid, uuid_of(1));
    EXPECT_EQ(beat(b, 2), Standing::kWaiting);
    EXPECT_EQ(b.slot(), 1u);
    EXPECT_EQ(slot(f, 0).master.half.granted_uuid, uuid_of(1));
}

TEST(HostMembership, AFullTableRefusesAndChangesNothing) {
    Fs f = fresh_fs();
    std::vector<HostMembership> members;
    for (size_t i = 0; i < omf::kHostSlots; ++i)
        members.push_back(request(f, client(static_cast<uint8_t>(i + 1))));
    EXPECT_EQ(members.back().slot(), omf::kHostSlots - 1);
    const auto before = table_bytes(*f.dev);
    auto m = HostMembership::request(*f.dev, f.sb(), client(200));
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.error().code, ENOSPC);
    EXPECT_NE(m.error().message.find("host table full (64 slots)"), std::string::npos)
        << m.error().message;
    EXPECT_NE(m.error().message.find(f.dev->path()), std::string::npos) << m.error().message;
    EXPECT_EQ(table_bytes(*f.dev), before);

    // A host that leaves frees its slot for another.
    ASSERT_TRUE(members[5].leave().ok());
    auto n = HostMembership::request(*f.dev, f.sb(), client(200));
    ASSERT_TRUE(n.ok()) << n.error().message;
    EXPECT_EQ(n->slot(), 5u);
}

// ---- eviction and fencing ----

TEST(HostEviction, EvictingFencesTheHostAndFreesItsSlot) {
    Fs f = fresh_fs();
    HostMembership m = request(f, master_of(f));
    HostMembership a = request(f, client(1));
    grant(f);
    EXPECT_EQ(beat(a, 2), Standing::kActive);
    EXPECT_TRUE(blocks(f, 2));

    auto evicted = evict_host(*f.dev, f.sb(), Role::kMaster, "host-1");
    ASSERT_TRUE(evicted.ok()) << evicted.error().message;
    EXPECT_EQ(*evicted, std::vector<size_t>{a.slot()});
    const HostSlot s = slot(f, a.slot());
    ASSERT_EQ(s.master.status, HalfStatus::kValid);
    EXPECT_TRUE(s.master.half.evicted);
    EXPECT_EQ(s.master.half.granted_uuid, uuid_of(1));
    EXPECT_EQ(s.master.half.nonce, a.nonce());
    EXPECT_EQ(s.master.half.generation, 1u) << "eviction keeps the generation";
    EXPECT_EQ(beat(m, 10), Standing::kActive);
    EXPECT_FALSE(blocks(f, 5)) << "an evicted host blocks nothing";

    // The fenced host writes nothing, ever.
    const auto before = table_bytes(*f.dev);
    EXPECT_EQ(beat(a, 100), Standing::kFenced);
    EXPECT_EQ(beat(a, 200), Standing::kFenced);
    ASSERT_TRUE(a.leave().ok());
    EXPECT_EQ(table_bytes(*f.dev), before);
    EXPECT_EQ(grant(f), 0u);

    // Its slot is free; the new request there blocks reclaim again until
    // its host publishes.
    HostMembership b = request(f, client(2));
    EXPECT_EQ(b.slot(), a.slot());
    EXPECT_TRUE(blocks(f, 5));
    EXPECT_EQ(grant(f), 1u);
    EXPECT_EQ(slot(f, b.slot()).master.half.generation, 2u);
    EXPECT_EQ(beat(b, 20), Standing::kActive);
    EXPECT_FALSE(blocks(f, 5));
}

TEST(HostEviction, ByUuidAndOfAWaitingRequest) {
    Fs f = fresh_fs();
    HostMembership a = request(f, client(1));
    auto evicted = evict_host(*f.dev, f.sb(), Role::kMaster, omf::uuid_to_string(uuid_of(1)));
    ASSERT_TRUE(evicted.ok()) << evicted.error().message;
    EXPECT_EQ(*evicted, std::vector<size_t>{0});
    EXPECT_EQ(grant(f), 0u) << "an evicted request is never granted";
    EXPECT_EQ(beat(a, 1), Standing::kFenced);
    // A remount of that host is a new request in its own slot, granted.
    HostMembership again = request(f, client(1));
    EXPECT_EQ(again.slot(), 0u);
    EXPECT_EQ(grant(f), 1u);
    EXPECT_EQ(beat(again, 1), Standing::kActive);
}

TEST(HostEviction, AnUnknownHostChangesNothing) {
    Fs f = fresh_fs();
    HostMembership a = request(f, client(1));
    grant(f);
    const auto before = table_bytes(*f.dev);
    for (const char* host : {"nobody", "00000000-0000-0000-0000-000000000001"}) {
        auto e = evict_host(*f.dev, f.sb(), Role::kMaster, host);
        ASSERT_FALSE(e.ok());
        EXPECT_EQ(e.error().code, ENOENT);
        EXPECT_NE(e.error().message.find(std::string("no host '") + host + "'"), std::string::npos)
            << e.error().message;
        EXPECT_EQ(table_bytes(*f.dev), before);
    }
}

TEST(HostEviction, TheMasterIsNeverEvicted) {
    Fs f = fresh_fs();
    HostMembership m = request(f, master_of(f));
    HostMembership a = request(f, client(1));
    grant(f);
    const auto before = table_bytes(*f.dev);
    for (const std::string& host :
         {std::string("master"), omf::uuid_to_string(f.sb().system_uuid)}) {
        auto e = evict_host(*f.dev, f.sb(), Role::kMaster, host);
        ASSERT_FALSE(e.ok());
        EXPECT_EQ(e.error().code, EINVAL);
        EXPECT_NE(e.error().message.find("is the master"), std::string::npos) << e.error().message;
        EXPECT_EQ(table_bytes(*f.dev), before);
    }
    auto e = evict_host(*f.dev, f.sb(), Role::kClient, "host-1");
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.error().code, EPERM);
    EXPECT_EQ(table_bytes(*f.dev), before);
}

TEST(HostEviction, AVanishedGrantFences) {
    Fs f = fresh_fs();
    HostMembership a = request(f, client(1));
    grant(f);
    EXPECT_EQ(beat(a, 1), Standing::kActive);
    // The master half wiped (another formatting's table, or cleared): no
    // grant names this request any more.
    auto master = f.dev->range(omf::host_slot_offset(0) + omf::kHostHalfBytes, omf::kHostHalfBytes);
    std::memset(master.data(), 0, master.size());
    const auto before = table_bytes(*f.dev);
    EXPECT_EQ(beat(a, 2), Standing::kFenced);
    EXPECT_EQ(table_bytes(*f.dev), before);
}

TEST(HostMembership, ATornGrantSkipsABeat) {
    Fs f = fresh_fs();
    HostMembership a = request(f, client(1));
    grant(f);
    EXPECT_EQ(beat(a, 1), Standing::kActive);
    auto master = f.dev->range(omf::host_slot_offset(0) + omf::kHostHalfBytes, omf::kHostHalfBytes);
    master[20] ^= 0xff;  // the master mid-write
    const auto before = table_bytes(*f.dev);
    EXPECT_EQ(beat(a, 2), Standing::kActive);
    EXPECT_EQ(table_bytes(*f.dev), before) << "no write on a torn grant";
    master[20] ^= 0xff;
    EXPECT_EQ(beat(a, 2), Standing::kActive);
    EXPECT_EQ(slot(f, 0).host.half.watermark, 2u);
}

// ---- writes cut by power loss ----

// A step whose every persist is cut in turn: the reader must see each half
// as it was, as it was going to be, or torn (and torn blocks reclaim),
// never a valid half that is neither.
struct CutStep {
    const char* name;
    // Sets the table up; returns the step to cut.
    std::function<std::function<Status()>(Fs&)> setup;
};

template <class T>
bool one_of(const omf::DecodedHalf<T>& got, const omf::DecodedHalf<T>& a,
            const omf::DecodedHalf<T>& b) {
    auto same = [&](const omf::DecodedHalf<T>& x) {
        return got.status == x.status && (got.status != HalfStatus::kValid || got.half == x.half);
    };
    return got.status == HalfStatus::kTorn || same(a) || same(b);
}

std::vector<HostSlot> table_of(std::vector<uint8_t> image) {
    auto memory = testing::MemoryDevice::create(image.size());
    if (!memory) std::abort();
    std::memcpy((*memory)->base(), image.data(), image.size());
    return table(**memory);
}

void cut_every_persist(const CutStep& step) {
    bool cut_any = true;
    for (uint64_t k = 1; cut_any; ++k) {
        cut_any = false;
        // Seeds whose coin flips (faulty_device.cc) cover the four ways a
        // two-line half can land: neither line, either one, both.
        for (uint64_t seed : {0u, 1u, 3u, 4u}) {
            SCOPED_TRACE(std::string(step.name) + ": persist " + std::to_string(k) + ", seed " +
                         std::to_string(seed));
            Fs f = fresh_fs();
            auto run = step.setup(f);
            f.dev->record();
            const uint64_t persists = f.dev->persist_count();
            f.dev->tear_persist_at(k, seed);
            const Status st = run();
            if (f.dev->persist_count() - persists < k) {
                EXPECT_TRUE(st.ok()) << st.error().message;
                break;  // the step is shorter than k persists
            }
            cut_any = true;
            EXPECT_FALSE(st.ok()) << "a cut persist is an error";
            const auto before = table_of(f.dev->before_persist());
            const auto meant = table(*f.dev);  // the cut write in full
            f.dev->load_image(f.dev->persisted_image());
            const auto after = table(*f.dev);
            for (size_t i = 0; i < omf::kHostSlots; ++i) {
                EXPECT_TRUE(one_of(after[i].host, before[i].host, meant[i].host)) << "slot " << i;
                EXPECT_TRUE(one_of(after[i].master, before[i].master, meant[i].master))
                    << "slot " << i;
                const HostSlot s = slot_of_this_fs(after[i], f.fs());
                const bool torn =
                    s.host.status == HalfStatus::kTorn || s.master.status == HalfStatus::kTorn;
                const bool evicted = s.master.status == HalfStatus::kValid && s.master.half.evicted;
                if (torn && !evicted) {
                    EXPECT_FALSE(reclaim_verdict(after, f.fs(), 0).allowed()) << "slot " << i;
                    EXPECT_EQ(slot_bound(s, f.fs()).bound, 0u) << "slot " << i;
                }
            }
        }
    }
}

std::function<Status()> as_step(std::function<Status()> f) {
    return f;
}

TEST(HostTableCuts, EveryWriteOfEveryStep) {
    const std::vector<CutStep> steps = {
        {"request",
         [](Fs& f) {
             return as_step([&f] {
                 auto m = HostMembership::request(*f.dev, f.sb(), client(1));
                 return m ? Status{} : Status(m.error());
             });
         }},
        {"the master's request and self-grant",
         [](Fs& f) {
             return as_step([&f] {
                 auto m = HostMembership::request(*f.dev, f.sb(), master_of(f));
                 return m ? Status{} : Status(m.error());
             });
         }},
        {"grants",
         [](Fs& f) {
             auto a = std::make_shared<HostMembership>(request(f, client(1)));
             auto b = std::make_shared<HostMembership>(request(f, client(2)));
             return as_step([&f, a, b] {
                 auto n = grant_requests(*f.dev, f.sb(), Role::kMaster);
                 return n ? Status{} : Status(n.error());
             });
         }},
        {"the first active heartbeat",
         [](Fs& f) {
             auto a = std::make_shared<HostMembership>(request(f, client(1)));
             grant(f);
             return as_step([a] {
                 auto s = a->heartbeat(4);
                 return s ? Status{} : Status(s.error());
             });
         }},
        {"a heartbeat",
         [](Fs& f) {
             auto a = std::make_shared<HostMembership>(request(f, client(1)));
             grant(f);
             beat(*a, 3);
             return as_step([a] {
                 auto s = a->heartbeat(4);
                 return s ? Status{} : Status(s.error());
             });
         }},
        {"an eviction",
         [](Fs& f) {
             auto a = std::make_shared<HostMembership>(request(f, client(1)));
             grant(f);
             beat(*a, 3);
             return as_step([&f, a] {
                 auto e = evict_host(*f.dev, f.sb(), Role::kMaster, "host-1");
                 return e ? Status{} : Status(e.error());
             });
         }},
        {"a leave",
         [](Fs& f) {
             auto a = std::make_shared<HostMembership>(request(f, client(1)));
             grant(f);
             beat(*a, 3);
             return as_step([a] { return a->leave(); });
         }},
    };
    for (const CutStep& step : steps) cut_every_persist(step);
}

// ---- liveness ----

TEST(LivenessTracker, ACounterThatStandsStillIsStale) {
    using Clock = LivenessTracker::Clock;
    using std::chrono::milliseconds;
    Fs f = fresh_fs();
    HostMembership a = request(f, client(1));
    HostMembership b = request(f, client(2));
    HostMembership waiting = request(f, client(3));
    grant(f);
    beat(a, 1);
    beat(b, 1);
    LivenessTracker t(milliseconds(1000));
    const Clock::time_point t0{};  // a fake monotonic clock: nothing sleeps
    t.observe(table(*f.dev), t0);
    EXPECT_TRUE(t.stale(t0 + milliseconds(999)).empty());
    EXPECT_EQ(t.stale(t0 + milliseconds(1000)), (std::vector<size_t>{0, 1}))
        << "never seen moving: counted from the first observation";
    EXPECT_EQ(t.still_for(0, t0 + milliseconds(400)), milliseconds(400));
    EXPECT_EQ(t.still_for(5, t0), std::nullopt);

    beat(a, 2);  // host 1 moves, host 2 does not
    t.observe(table(*f.dev), t0 + milliseconds(800));
    EXPECT_EQ(t.stale(t0 + milliseconds(1500)), std::vector<size_t>{1});
    EXPECT_EQ(t.still_for(0, t0 + milliseconds(1500)), milliseconds(700));

    // Host 2's clock jumps a year ahead without a heartbeat: its slot
    // changes only in the wall-clock time, which liveness never reads.
    auto host2 = f.dev->range(omf::host_slot_offset(1), omf::kHostHalfBytes);
    HostSlot s1 = slot(f, 1);
    s1.host.half.heartbeat_ns += 365ULL * 24 * 3600 * 1'000'000'000ULL;
    ASSERT_TRUE(omf::encode_host_half(s1.host.half, host2).ok());
    t.observe(table(*f.dev), t0 + milliseconds(1600));
    EXPECT_EQ(t.stale(t0 + milliseconds(1600)), std::vector<size_t>{1});
    EXPECT_EQ(t.still_for(1, t0 + milliseconds(1600)), milliseconds(1600));

    // A new request in the slot (a remount) starts afresh.
    HostMembership b2 = request(f, client(2));
    ASSERT_EQ(b2.slot(), 1u);
    grant(f);
    beat(b2, 1);
    t.observe(table(*f.dev), t0 + milliseconds(1700));
    EXPECT_EQ(t.still_for(1, t0 + milliseconds(1700)), milliseconds(0));
    EXPECT_TRUE(t.stale(t0 + milliseconds(1750)).empty());
    EXPECT_EQ(t.stale(t0 + milliseconds(2700)), (std::vector<size_t>{0, 1}));
}

TEST(LivenessTracker, OnlyActiveGrantedHostsAreReported) {
    using Clock = LivenessTracker::Clock;
    using std::chrono::milliseconds;
    Fs f = fresh_fs();
    HostMembership waiting = request(f, client(1));
    HostMembership left = request(f, client(2));
    HostMembership evicted = request(f, client(3));
    grant(f);
    beat(left, 1);
    beat(evicted, 1);
    ASSERT_TRUE(left.leave().ok());
    ASSERT_TRUE(evict_host(*f.dev, f.sb(), Role::kMaster, "host-3").ok());
    // Host 1 is granted but has not beaten: requested, not active.
    LivenessTracker t(milliseconds(10));
    const Clock::time_point t0{};
    t.observe(table(*f.dev), t0);
    t.observe(table(*f.dev), t0 + milliseconds(100));
    EXPECT_TRUE(t.stale(t0 + milliseconds(100)).empty());
    EXPECT_EQ(t.still_for(0, t0 + milliseconds(100)), milliseconds(100));
}

// ---- the master grants before it reclaims ----

TEST(HostTableReclaim, TheMasterGrantsBeforeItAllocates) {
    testing::FaultyDevice* dev = nullptr;
    auto vol = test::memory_volume(1 * omf::kGiB, 8 * omf::kMiB, &dev);
    auto a = vol->create_file({.relpath = "a", .size = 2 * omf::kMiB});
    ASSERT_TRUE(a.ok());
    const uint64_t a_offset = a->file.extents[0].offset;
    auto host = HostMembership::request(*dev, vol->superblock(), client(1));
    ASSERT_TRUE(host.ok());
    ASSERT_TRUE(vol->remove("a", Volume::RemoveMode::kFile).ok());  // DELETE at 1

    auto b = vol->create_file({.relpath = "b", .size = 2 * omf::kMiB});
    ASSERT_TRUE(b.ok());
    EXPECT_NE(b->file.extents[0].offset, a_offset) << "a request blocks reuse";
    const HostSlot s = slot_of_this_fs((*read_host_table(*dev))[0], vol->superblock().fs_uuid);
    ASSERT_EQ(s.master.status, HalfStatus::kValid) << "the allocation granted the request";
    EXPECT_EQ(s.master.half.nonce, host->nonce());

    auto w = host->heartbeat(3);  // the host is past the DELETE
    ASSERT_TRUE(w.ok());
    EXPECT_EQ(*w, Standing::kActive);
    auto c = vol->create_file({.relpath = "c", .size = 2 * omf::kMiB});
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->file.extents[0].offset, a_offset);
}

}  // namespace
}  // namespace famfs
