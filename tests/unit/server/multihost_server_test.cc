// famfs_fused's Server driven in-process on devices the tests make
// (Server::open with a Device): a client host's server following a master
// on memory without cache coherence (famfs/testing/noncoherent_device.h),
// which shows the master's files and bytes only because both sides flush
// and invalidate where they must; and the fault injector failing the
// memory under a running server.
#include <gtest/gtest.h>
#include <sys/uio.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "datapath.h"
#include "famfs/dax.h"
#include "famfs/test_pattern.h"
#include "famfs/volume.h"
#include "famfs_test_support.h"
#include "memory_guard.h"
#include "server.h"

namespace famfs::fused {
namespace {

using test::kMiB;

constexpr uint64_t kDevSize = 32 * kMiB;

std::vector<uint8_t> pattern(uint64_t seed, uint64_t len) {
    std::vector<uint8_t> out(len);
    fill_pattern(seed, out);
    return out;
}

ServerOptions options() {
    ServerOptions o;
    o.device = "in-process";
    o.mountpoint = "/nowhere";
    o.follow_poll = std::chrono::microseconds(200);
    return o;
}

// Polls until `done` holds or 30 s pass (a bound for a stuck test, not a
// speed check).
template <class Pred>
bool eventually(Pred done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

// The file's bytes through the server's read path, or the errno.
int read_through(Server& s, const std::string& relpath, std::vector<uint8_t>& out) {
    std::optional<Result<FileHandle>> f;
    {
        auto rd = s.read_tree();
        const Node* n = s.tree().lookup(relpath);
        if (!n) return ENOENT;
        f.emplace(open_data(s, Inode{n, std::nullopt}, false));
    }
    if (!*f) return f->error().code;
    std::vector<iovec> iov;
    if (const int err = gather_read(s, **f, 0, (*f)->size, iov)) return err;
    out.clear();
    for (const iovec& v : iov) {
        const auto* p = static_cast<const uint8_t*>(v.iov_base);
        out.insert(out.end(), p, p + v.iov_len);
    }
    return 0;
}

struct NonCoherentServer : ::testing::Test {
    test::NonCoherentHosts m = test::noncoherent_hosts(kDevSize, 2);
    std::unique_ptr<Volume> master;
    std::unique_ptr<Server> client;

    void SetUp() override {
        auto v = Volume::open(m.hosts[0]);
        ASSERT_TRUE(v.ok()) << v.error().message;
        master = std::move(*v);
        test::ScopedHost other(omf::random_uuid());
        auto s = Server::open(options(), m.hosts[1]);
        ASSERT_TRUE(s.ok()) << s.error().message;
        client = std::move(*s);
    }

    // Logs a file on the master's host and stores the pattern into it,
    // flushed as famfs cp does.
    void create(const std::string& relpath, uint64_t size, uint64_t seed) {
        CreateSpec spec;
        spec.relpath = relpath;
        spec.size = size;
        auto c = master->create_file(spec);
        ASSERT_TRUE(c.ok()) << c.error().message;
        auto map = dax::FileMapping::from_entry(master->shared_device(), c->file);
        ASSERT_TRUE(map.ok());
        ASSERT_EQ(map->write(0, pattern(seed, size)), size);
        for (const auto& seg : map->segments())
            ASSERT_TRUE(master->device().persist_data(seg.bytes.data(), seg.bytes.size()).ok());
    }
    bool client_has(const std::string& relpath) {
        auto rd = client->read_tree();
        return client->tree().lookup(relpath) != nullptr;
    }
};

TEST_F(NonCoherentServer, TheFollowerShowsTheMastersFilesAndBytes) {
    EXPECT_EQ(client->role(), Role::kClient);
    client->start_following();
    create("a", 2 * kMiB, 3);
    ASSERT_TRUE(eventually([&] { return client_has("a"); })) << client->status_text();
    ASSERT_TRUE(master->mkdir("d", 0755, 0, 0, false).ok());
    create("d/b", 3 * kMiB, 4);
    ASSERT_TRUE(eventually([&] { return client_has("d/b"); })) << client->status_text();

    std::vector<uint8_t> got;
    ASSERT_EQ(read_through(*client, "a", got), 0);
    EXPECT_TRUE(got == pattern(3, 2 * kMiB)) << "the client reads what the master stored";
    ASSERT_EQ(read_through(*client, "d/b", got), 0);
    EXPECT_TRUE(got == pattern(4, 3 * kMiB));
    EXPECT_FALSE(client->failed());
    EXPECT_FALSE(client->stale());
}

TEST_F(NonCoherentServer, ACatchUpWithoutTheFollowerFindsTheNewEntries) {
    create("x", 1, 1);
    const CatchUp c = client->apply_new_entries();
    EXPECT_EQ(c.after, c.before + 1);
    EXPECT_TRUE(client_has("x"));
    EXPECT_EQ(client->apply_new_entries().after, c.after) << "nothing new";
}

TEST_F(NonCoherentServer, AClientWriteReachesTheMastersHost) {
    create("shared", 2 * kMiB, 8);
    client->apply_new_entries();
    std::optional<Result<FileHandle>> f;
    {
        auto rd = client->read_tree();
        const Node* n = client->tree().lookup("shared");
        ASSERT_NE(n, nullptr);
        f.emplace(open_data(*client, Inode{n, std::nullopt}, true));
    }
    ASSERT_TRUE(*f);
    const std::vector<uint8_t> bytes = pattern(9, 4096);
    uint64_t written = 0;
    ASSERT_EQ(store_write(*client, **f, 4096, reinterpret_cast<const char*>(bytes.data()),
                          bytes.size(), written),
              0);
    ASSERT_EQ(written, 4096u);
    // The master's host reads it through its own cache, invalidated first.
    auto st = master->load();
    ASSERT_TRUE(st.ok());
    auto map = dax::FileMapping::from_entry(master->shared_device(), st->ns.lookup("shared")->file);
    ASSERT_TRUE(map.ok());
    uint64_t contiguous = 0;
    uint8_t* p = map->address(4096, &contiguous);
    master->device().invalidate_data(p, 4096);
    std::vector<uint8_t> got(4096);
    ASSERT_EQ(map->read(4096, got), 4096u);
    EXPECT_TRUE(got == bytes);
}

// The fault injector under a running server: the log header's memory fails.
TEST(FaultyServer, FailedLogMemoryFailsTheDeviceAndTheServerStaysUp) {
    std::shared_ptr<testing::FaultyDevice> dev = test::formatted_memory(kDevSize);
    {
        auto v = Volume::open(dev);
        ASSERT_TRUE(v.ok());
        CreateSpec spec;
        spec.relpath = "f";
        spec.size = 1;
        ASSERT_TRUE((*v)->create_file(spec).ok());
    }
    auto s = Server::open(options(), dev);
    ASSERT_TRUE(s.ok()) << s.error().message;
    Server& server = **s;
    // As famfs_fused does before it serves. The guard keeps pointing at this
    // server afterwards; no later test of this binary touches failed memory.
    install_memory_guard(server);
    ASSERT_NE(server.tree().lookup("f"), nullptr);
    ASSERT_TRUE(dev->poison(omf::kLogOffset, 1).ok());
    server.start_following();
    ASSERT_TRUE(eventually([&] { return server.failed(); })) << server.status_text();
    EXPECT_EQ(server.device_errno("a read"), EIO);
    EXPECT_NE(server.status_text().find("memory failure (SIGBUS) at device offset " +
                                        std::to_string(omf::kLogOffset)),
              std::string::npos)
        << server.status_text();
    std::vector<uint8_t> got;
    EXPECT_EQ(read_through(server, "f", got), EIO) << "an open of a failed device is EIO";
    server.stop_following();
    ASSERT_TRUE(dev->unpoison_all().ok());
}

// A master that loses power half-way through writing an entry back leaves
// memory that a client reads as it was; restarted, it appends again.
TEST(PowerLoss, ATornAppendIsInvisibleToAClientAndTheRestartedMasterGoesOn) {
    test::NonCoherentHosts m = test::noncoherent_hosts(kDevSize, 2);
    auto faulty = std::make_shared<testing::FaultyDevice>(m.hosts[0]);
    auto master = Volume::open(faulty);
    ASSERT_TRUE(master.ok());
    auto create = [&](Volume& v, const std::string& relpath) {
        CreateSpec spec;
        spec.relpath = relpath;
        spec.size = 1;
        return v.create_file(spec).ok();
    };
    ASSERT_TRUE(create(**master, "before"));
    std::unique_ptr<Server> client;
    {
        test::ScopedHost other(omf::random_uuid());
        auto s = Server::open(options(), m.hosts[1]);
        ASSERT_TRUE(s.ok()) << s.error().message;
        client = std::move(*s);
    }

    faulty->tear_persist_at(1, /*seed=*/5);  // the entry's write-back
    EXPECT_FALSE(create(**master, "torn"));
    client->apply_new_entries();
    EXPECT_EQ(client->tree().lookup("torn"), nullptr);
    EXPECT_NE(client->tree().lookup("before"), nullptr);
    EXPECT_TRUE(client->tree().problems().empty()) << "nothing half-written was read";

    // The master host restarts: its cache is gone, memory stays.
    master->reset();
    faulty.reset();
    m.hosts[0].reset();
    testing::NonCoherentDevice::Options o;
    o.host = "host0-restarted";
    auto restarted = testing::NonCoherentDevice::create(m.memory, o);
    ASSERT_TRUE(restarted.ok());
    auto again = Volume::open(std::shared_ptr<Device>(std::move(*restarted)));
    ASSERT_TRUE(again.ok()) << again.error().message;
    ASSERT_TRUE(create(**again, "after"));
    client->apply_new_entries();
    EXPECT_NE(client->tree().lookup("after"), nullptr);
    EXPECT_EQ(client->tree().lookup("torn"), nullptr);
    EXPECT_EQ(client->volume().log().next_index(), 2u);
}

}  // namespace
}  // namespace famfs::fused
