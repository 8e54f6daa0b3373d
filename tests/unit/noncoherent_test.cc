// Several hosts on memory without cache coherence (famfs/testing/
// noncoherent_device.h): first the model itself, then the log, the volume
// and direct access with the master on one host and a client on another.
// The client sees the master's work only because famfs flushes what it
// writes and invalidates what it reads: a missing persist() or invalidate()
// anywhere on these paths leaves a host with stale lines, and a test here
// fails (the server's follower has its own, tests/unit/server).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "famfs/dax.h"
#include "famfs/log.h"
#include "famfs/test_pattern.h"
#include "famfs/volume.h"
#include "famfs_test_support.h"

namespace famfs {
namespace {

using test::dir_entry;
using test::kMiB;
using testing::NonCoherentDevice;

// Superblock region, an 8 MiB log and 11 allocation units of data.
constexpr uint64_t kDevSize = 32 * kMiB;
constexpr uint64_t kData = 16 * kMiB;  // a device offset in the data region

// ---- the model ----

struct Model : ::testing::Test {
    test::NonCoherentHosts m = test::noncoherent_hosts(kDevSize, 2);
    NonCoherentDevice& a = *m.hosts[0];
    NonCoherentDevice& b = *m.hosts[1];

    static void store(Device& d, uint64_t off, const std::string& s) {
        std::memcpy(d.base() + off, s.data(), s.size());
    }
    static std::string load(Device& d, uint64_t off, size_t n) {
        return std::string(reinterpret_cast<const char*>(d.base() + off), n);
    }
};

TEST_F(Model, AStoreReachesAnotherHostOnlyAfterPersistAndInvalidate) {
    store(a, kData, "hello");
    EXPECT_EQ(load(a, kData, 5), "hello") << "a host sees its own stores";
    b.invalidate(b.base() + kData, 5);
    EXPECT_EQ(load(b, kData, 5), std::string(5, '\0')) << "not flushed: memory has no such bytes";
    ASSERT_TRUE(a.persist(a.base() + kData, 5).ok());
    EXPECT_EQ(load(b, kData, 5), std::string(5, '\0')) << "flushed, but b's cache has the line";
    b.invalidate(b.base() + kData, 5);
    EXPECT_EQ(load(b, kData, 5), "hello");
}

TEST_F(Model, LinesMoveWholeAndOnlyTheCoveredOnes) {
    store(a, kData, std::string(128, 'x'));                 // two lines
    ASSERT_TRUE(a.persist(a.base() + kData + 10, 1).ok());  // covers the first line only
    EXPECT_EQ(a.dirty_lines(kData, 128), 1u);
    b.invalidate(b.base() + kData, 128);
    EXPECT_EQ(load(b, kData, 64), std::string(64, 'x')) << "the whole first line";
    EXPECT_EQ(load(b, kData + 64, 64), std::string(64, '\0')) << "the second was not written back";
}

TEST_F(Model, InvalidateWritesADirtyLineBackFirstAsClflushDoes) {
    store(b, kData, "mine");
    b.invalidate(b.base() + kData, 4);
    EXPECT_EQ(load(b, kData, 4), "mine");
    a.invalidate(a.base() + kData, 4);
    EXPECT_EQ(load(a, kData, 4), "mine");
}

TEST_F(Model, WritingBackAStaleLineClobbersAnotherHostsBytesInIt) {
    store(a, kData, "aaaa");
    ASSERT_TRUE(a.persist(a.base() + kData, 4).ok());
    store(b, kData + 32, "bbbb");  // same line; b's copy of bytes 0..3 is stale
    ASSERT_TRUE(b.persist(b.base() + kData + 32, 4).ok());
    a.invalidate(a.base() + kData, 64);
    EXPECT_EQ(load(a, kData, 4), std::string(4, '\0')) << "false sharing loses a's bytes";
    EXPECT_EQ(load(a, kData + 32, 4), "bbbb");
}

TEST(ModelEvictions, SpontaneousEvictionsAreSeededAndReachMemoryEarly) {
    auto run = [](uint64_t seed) {
        auto m = test::noncoherent_hosts(kDevSize, 2, /*evictions_per_call=*/1 << 14, seed);
        auto& a = *m.hosts[0];
        std::memset(a.base() + kData, 0x5a, 4 * kMiB);          // never persisted
        for (int i = 0; i < 8; ++i) a.invalidate(a.base(), 1);  // other lines' maintenance
        std::vector<uint8_t> seen(m.memory->base() + kData, m.memory->base() + kData + 4 * kMiB);
        return seen;
    };
    const auto first = run(7);
    EXPECT_NE(std::count(first.begin(), first.end(), 0x5a), 0) << "some lines were evicted";
    EXPECT_NE(std::count(first.begin(), first.end(), 0), 0) << "and others stayed in the cache";
    EXPECT_EQ(first, run(7)) << "the same seed evicts the same lines";
}

// ---- the log ----

struct MultiHostLog : ::testing::Test {
    test::NonCoherentHosts m = test::noncoherent_hosts(kDevSize, 2);
    LogView master{*m.hosts[0], omf::kLogOffset, omf::kMinLogLen};
    LogView client{*m.hosts[1], omf::kLogOffset, omf::kMinLogLen};

    void append_dirs(int first, int n) {
        for (int i = first; i < first + n; ++i)
            ASSERT_TRUE(master.append(dir_entry("d" + std::to_string(i))).ok());
    }
    void expect_client_sees(int n) {
        auto r = client.replay(0);
        ASSERT_TRUE(r.ok()) << r.error().message;
        EXPECT_FALSE(r->invalid_index.has_value())
            << "entry " << *r->invalid_index << ": " << r->invalid_reason->message;
        ASSERT_EQ(r->entries.size(), static_cast<size_t>(n));
        for (int i = 0; i < n; ++i)
            EXPECT_EQ(std::get<omf::MkdirEntry>(r->entries[i].payload).relpath,
                      "d" + std::to_string(i));
    }
};

TEST_F(MultiHostLog, TheClientReplaysWhatTheMasterAppended) {
    append_dirs(0, 3);
    expect_client_sees(3);
    // The client's cache now holds the header and those slots: the next
    // entries reach it only through invalidation.
    append_dirs(3, 40);
    expect_client_sees(43);
    EXPECT_EQ(client.next_index(), 43u);
}

TEST_F(MultiHostLog, AnEntryReadEarlyIsReadAgainOnceWritten) {
    append_dirs(0, 1);
    expect_client_sees(1);
    // The client has looked at the next slot (empty) before the master writes it.
    std::vector<uint8_t> peek(client.slot(1).begin(), client.slot(1).end());
    EXPECT_EQ(peek, std::vector<uint8_t>(omf::kEntryBytes, 0));
    append_dirs(1, 1);
    expect_client_sees(2);
}

TEST_F(MultiHostLog, AFollowerMeetsEveryEntryWhileTheMasterAppends) {
    constexpr int kEntries = 300;
    std::thread writer([&] { append_dirs(0, kEntries); });
    uint64_t seen = 0;
    while (seen < kEntries) {
        seen = client.wait_for_change(seen, std::chrono::seconds(10));
        auto r = client.replay(0);
        ASSERT_TRUE(r.ok());
        // Mid-append the client may meet the newest entry half written
        // back: replay stops there and the next look gets it.
        for (size_t i = 0; i < r->entries.size(); ++i)
            ASSERT_EQ(std::get<omf::MkdirEntry>(r->entries[i].payload).relpath,
                      "d" + std::to_string(i));
    }
    writer.join();
    expect_client_sees(kEntries);
}

TEST(MultiHostLogEvicting, SpontaneousEvictionsChangeNothingFamfsRelies) {
    auto m = test::noncoherent_hosts(kDevSize, 2, /*evictions_per_call=*/64, /*seed=*/42);
    LogView master{*m.hosts[0], omf::kLogOffset, omf::kMinLogLen};
    LogView client{*m.hosts[1], omf::kLogOffset, omf::kMinLogLen};
    for (int i = 0; i < 200; ++i) {
        ASSERT_TRUE(master.append(dir_entry("d" + std::to_string(i))).ok());
        if (i % 17 == 0) {
            ASSERT_TRUE(client.replay(0).ok());
        }
    }
    auto r = client.replay(0);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->entries.size(), 200u);
    EXPECT_FALSE(r->invalid_index.has_value());
}

// ---- the volume and direct access ----

struct MultiHostVolume : ::testing::Test {
    test::NonCoherentHosts m = test::noncoherent_hosts(kDevSize, 2);
    std::unique_ptr<Volume> master = open_on(0);

    std::unique_ptr<Volume> open_on(size_t host) {
        auto v = Volume::open(m.hosts[host]);
        EXPECT_TRUE(v.ok()) << v.error().message;
        return v.ok() ? std::move(*v) : nullptr;
    }
    omf::FileEntry create(const std::string& relpath, uint64_t size, uint64_t seed) {
        CreateSpec s;
        s.relpath = relpath;
        s.size = size;
        auto c = master->create_file(s);
        EXPECT_TRUE(c.ok()) << c.error().message;
        if (!c.ok()) return {};
        auto map = dax::FileMapping::from_entry(master->shared_device(), c->file);
        EXPECT_TRUE(map.ok());
        std::vector<uint8_t> bytes(size);
        fill_pattern(seed, bytes);
        EXPECT_EQ(map->write(0, bytes), size);
        // Direct-access stores reach other hosts once persisted (dax.h).
        for (const auto& seg : map->segments())
            EXPECT_TRUE(master->device().persist(seg.bytes.data(), seg.bytes.size()).ok());
        return c->file;
    }
};

TEST_F(MultiHostVolume, AClientOpensTheFormattedDeviceAndSeesTheMastersFiles) {
    ASSERT_TRUE(master->mkdir("dir", 0755, 0, 0, false).ok());
    create("dir/f", 3 * kMiB, 11);
    test::ScopedHost other(omf::random_uuid());
    auto client = open_on(1);
    ASSERT_NE(client, nullptr);
    EXPECT_EQ(client->role(), Role::kClient);
    auto st = client->load();
    ASSERT_TRUE(st.ok()) << st.error().message;
    EXPECT_TRUE(st->log_is_clean());
    const Node* f = st->ns.lookup("dir/f");
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->file.size, 3 * kMiB);
}

TEST_F(MultiHostVolume, AClientCatchesUpAndReadsTheDataThroughItsOwnCache) {
    test::ScopedHost other(omf::random_uuid());
    auto client = open_on(1);
    ASSERT_NE(client, nullptr);
    auto st = client->load();
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(st->ns.lookup("late"), nullptr);

    const omf::FileEntry file = create("late", 2 * kMiB, 23);
    ASSERT_TRUE(replay_new_entries(client->log(), *st).ok());
    const Node* n = st->ns.lookup("late");
    ASSERT_NE(n, nullptr) << "the master's append reached the client";
    EXPECT_EQ(n->file.extents, file.extents);

    auto map = dax::FileMapping::from_entry(client->shared_device(), n->file);
    ASSERT_TRUE(map.ok());
    std::vector<uint8_t> got(n->file.size), want(n->file.size);
    fill_pattern(23, want);
    for (const auto& seg : map->segments())
        client->device().invalidate(seg.bytes.data(), seg.bytes.size());
    ASSERT_EQ(map->read(0, got), got.size());
    EXPECT_TRUE(got == want) << "the client reads the master's persisted data";
}

TEST_F(MultiHostVolume, TwoProcessesOfTheMasterHostShareItsCache) {
    auto second = open_on(0);  // another famfs command on the master host
    ASSERT_NE(second, nullptr);
    CreateSpec s;
    s.relpath = "by-second";
    s.size = 1;
    ASSERT_TRUE(second->create_file(s).ok());
    create("by-first", 1, 5);
    auto st = second->load();
    ASSERT_TRUE(st.ok());
    EXPECT_NE(st->ns.lookup("by-first"), nullptr);
    EXPECT_NE(st->ns.lookup("by-second"), nullptr);
}

}  // namespace
}  // namespace famfs
