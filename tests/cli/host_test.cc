// famfs host evict and famfs hosts --wait (docs/delete.md, "Dead host"):
// hosts registered in-process through HostMembership, the commands run as
// the master or as a client of the same device.
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli_fixture.h"
#include "famfs/host_registration.h"
#include "famfs/host_table.h"

namespace famfs::clitest {
namespace {

class HostTest : public CliTest {
  protected:
    // Formats the device and opens it read-write in this process.
    void SetUp() override {
        CliTest::SetUp();
        format();
        auto v = Volume::open(dev_, Access::kReadWrite);
        ASSERT_TRUE(v.ok()) << v.error().message;
        vol_ = std::move(*v);
    }
    void TearDown() override {
        vol_.reset();
        CliTest::TearDown();
    }

    // A client host with a granted slot and one heartbeat published.
    HostMembership active_client(const std::string& name) {
        HostIdentity me{omf::random_uuid(), name, Role::kClient};
        auto m = HostMembership::request(vol_->device(), vol_->superblock(), me);
        EXPECT_TRUE(m.ok()) << m.error().message;
        EXPECT_TRUE(grant_requests(vol_->device(), vol_->superblock(), Role::kMaster).ok());
        auto s = m->heartbeat(1);
        EXPECT_TRUE(s.ok() && *s == Standing::kActive);
        return std::move(*m);
    }

    HostSlot slot(size_t i) {
        auto t = read_host_table(vol_->device());
        EXPECT_TRUE(t.ok());
        return slot_of_this_fs((*t)[i], vol_->superblock().fs_uuid);
    }

    std::unique_ptr<Volume> vol_;
};

TEST_F(HostTest, EvictsADeadHostAndFencesIt) {
    HostMembership dead = active_client("deadhost");
    HostMembership alive = active_client("alivehost");
    Outcome r = famfs({"host", "evict", "deadhost"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "deadhost: evicted slot 0")) << r.out;
    EXPECT_TRUE(slot(0).master.half.evicted);
    EXPECT_FALSE(slot(1).master.half.evicted);
    auto s = dead.heartbeat(2);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(*s, Standing::kFenced);
    s = alive.heartbeat(2);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(*s, Standing::kActive);

    r = famfs({"hosts"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "slot 0: host: deadhost")) << r.out;
    EXPECT_TRUE(contains(r.out, "evicted (generation 1")) << r.out;
}

// The master's server grants from its own thread while famfs host evict
// runs in another process: each reads a slot and writes it back, so they
// take turns on the host table lock.
TEST_F(HostTest, EvictWaitsForTheHostTableLock) {
    HostMembership dead = active_client("deadhost");
    auto lock = DeviceLock::acquire(dev_, DeviceLock::Kind::kHostTable, /*wait=*/false);
    ASSERT_TRUE(lock.ok()) << lock.error().message;
    std::optional<DeviceLock> held(std::move(*lock));
    Outcome r;
    std::atomic<bool> done{false};
    std::thread evict([&] {
        r = famfs({"host", "evict", "deadhost"});
        done = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const bool finished_under_the_lock = done;
    const bool evicted_under_the_lock = slot(0).master.half.evicted;
    held.reset();
    evict.join();
    EXPECT_FALSE(finished_under_the_lock) << r.out << r.err;
    EXPECT_FALSE(evicted_under_the_lock);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(slot(0).master.half.evicted);
}

TEST_F(HostTest, EvictsByUuidAndDryRunChangesNothing) {
    HostMembership dead = active_client("deadhost");
    const std::string uuid = omf::uuid_to_string(dead.identity().system_uuid);
    const auto before = snapshot();
    Outcome r = famfs({"--dryrun", "host", "evict", uuid});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "would evict slot 0")) << r.out;
    EXPECT_DEVICE_UNCHANGED(before);
    r = famfs({"host", "evict", uuid});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(contains(r.out, uuid + ": evicted slot 0")) << r.out;
    EXPECT_TRUE(slot(0).master.half.evicted);
}

TEST_F(HostTest, AnUnknownHostIsAnErrorAndChangesNothing) {
    HostMembership alive = active_client("alivehost");
    const auto before = snapshot();
    Outcome r = famfs({"host", "evict", "nosuchhost"});
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.err, "famfs host evict: nosuchhost: no host 'nosuchhost'")) << r.err;
    EXPECT_DEVICE_UNCHANGED(before);
}

TEST_F(HostTest, TheMasterIsNotEvicted) {
    auto me = local_host_identity(vol_->superblock());
    ASSERT_TRUE(me.ok());
    ASSERT_EQ(me->role, Role::kMaster);
    me->name = "themaster";
    auto m = HostMembership::request(vol_->device(), vol_->superblock(), *me);
    ASSERT_TRUE(m.ok());
    const auto before = snapshot();
    Outcome r = famfs({"host", "evict", "themaster"});
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.err, "themaster")) << r.err;
    EXPECT_TRUE(contains(r.err, "is the master")) << r.err;
    EXPECT_DEVICE_UNCHANGED(before);
}

TEST_F(HostTest, AClientRefusesToEvict) {
    HostMembership dead = active_client("deadhost");
    become_other_host();
    const auto before = snapshot();
    Outcome r = famfs({"host", "evict", "deadhost"});
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.err,
                         "famfs host evict: deadhost: read-only file system: this host is "
                         "a client; only the master"))
        << r.err;
    EXPECT_DEVICE_UNCHANGED(before);
}

TEST_F(HostTest, UsageErrors) {
    const auto before = snapshot();
    for (const auto& args : {std::vector<std::string>{"host"},
                             {"host", "evict"},
                             {"host", "frob", "x"},
                             {"host", "evict", "a", "b"},
                             {"host", "evict", ""},
                             {"hosts", "--wait", "0"},
                             {"hosts", "--wait", "soon"}}) {
        Outcome r = famfs(args);
        EXPECT_EQ(r.status, 1) << args[0];
        EXPECT_TRUE(contains(r.err, "usage: famfs " + args[0])) << r.err;
        EXPECT_DEVICE_UNCHANGED(before);
    }
    Outcome r = famfs_plain({"host", "evict", "x"});
    EXPECT_EQ(r.status, 1) << "without --device a PATH is needed";
    EXPECT_TRUE(contains(r.err, "usage: famfs host evict")) << r.err;
    r = famfs({"host", "--help"});
    EXPECT_EQ(r.status, 0);
    EXPECT_TRUE(contains(r.out, "usage: famfs host evict NAME [PATH]")) << r.out;
}

// A host whose counter stands still is marked stale, one that beats is
// not; each active host shows its heartbeat's age.
TEST_F(HostTest, HostsWaitMarksStaleHosts) {
    HostMembership still = active_client("stillhost");
    HostMembership beating = active_client("beatinghost");
    std::atomic<bool> done{false};
    std::thread beats([&] {
        for (uint64_t w = 2; !done; ++w) {
            (void)beating.heartbeat(w);
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    });
    Outcome r = famfs({"hosts", "--wait", "1"});
    done = true;
    beats.join();
    ASSERT_EQ(r.status, 0) << r.err;
    const std::string stale = "stale (heartbeat counter did not move in 1 s)";
    const auto line_of = [&](const std::string& name) {
        const size_t at = r.out.find("host: " + name);
        const size_t from = r.out.rfind('\n', at) + 1;
        return r.out.substr(from, r.out.find('\n', at) - from);
    };
    EXPECT_TRUE(contains(line_of("stillhost"), stale)) << r.out;
    EXPECT_FALSE(contains(line_of("beatinghost"), stale)) << r.out;
    EXPECT_TRUE(contains(line_of("stillhost"), "s ago")) << r.out;
    EXPECT_TRUE(contains(line_of("beatinghost"), "last heartbeat")) << r.out;

    r = famfs({"hosts"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_FALSE(contains(r.out, "stale")) << "no --wait, no judgement";
}

}  // namespace
}  // namespace famfs::clitest
