// Deletes (docs/delete.md): the namespace and replay rules for DELETE
// entries, the allocator's pending space and the reclaim rule applied to
// it, and Volume::remove on a device.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "famfs/allocator.h"
#include "famfs/host_table.h"
#include "famfs/namespace.h"
#include "famfs/volume.h"
#include "famfs_test_support.h"

namespace famfs {
namespace {

using test::kGiB;
using test::kMiB;

constexpr uint64_t kUnit = 2 * kMiB;
constexpr uint64_t kData = 10 * kMiB;  // after the superblock region and an 8 MiB log

omf::Superblock sb_of(uint64_t dev_size) {
    return test::make_superblock(dev_size, 8 * kMiB, omf::Uuid{});
}

omf::LogEntry del(const std::string& relpath, uint64_t target,
                  omf::DeleteKind kind = omf::DeleteKind::kFile) {
    return {0, omf::DeleteEntry{relpath, target, kind}};
}

// ---- namespace ----

TEST(NamespaceDelete, RemovesAFileAndFreesItsName) {
    Namespace ns(sb_of(1 * kGiB));
    ASSERT_TRUE(ns.apply(test::dir_entry("d"), 0).ok());
    ASSERT_TRUE(ns.apply(test::file_entry("d/f", kUnit, {{0, kData, kUnit}}), 1).ok());
    ASSERT_TRUE(ns.apply(test::file_entry("d/g", kUnit, {{0, kData + kUnit, kUnit}}), 2).ok());
    ASSERT_TRUE(ns.apply(del("d/f", 1), 3).ok());
    EXPECT_EQ(ns.lookup("d/f"), nullptr);
    EXPECT_EQ(ns.find_ino(1 + 2), nullptr);
    ASSERT_NE(ns.node_at(1), nullptr);
    EXPECT_EQ(ns.node_at(1)->deleted_at, 3u);
    EXPECT_EQ(ns.files(), 1u);
    const Node* d = ns.lookup("d");
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->nchildren, 1u);
    EXPECT_EQ(d->first_child, ns.lookup("d/g"));
    EXPECT_EQ(d->last_child, ns.lookup("d/g"));

    // The name is free again; the new object is another inode.
    ASSERT_TRUE(ns.apply(test::file_entry("d/f", kUnit, {{0, kData, kUnit}}), 4).ok());
    ASSERT_NE(ns.lookup("d/f"), nullptr);
    EXPECT_EQ(ns.lookup("d/f")->ino, 6u);
    EXPECT_TRUE(ns.problems().empty());
}

TEST(NamespaceDelete, BadDeletesAreRefusedAndReported) {
    Namespace ns(sb_of(1 * kGiB));
    ASSERT_TRUE(ns.apply(test::dir_entry("d"), 0).ok());
    ASSERT_TRUE(ns.apply(test::file_entry("d/f", kUnit, {{0, kData, kUnit}}), 1).ok());
    struct Case {
        omf::LogEntry e;
        const char* reason;
    };
    std::vector<Case> cases{
        {del("missing", 1), "no such file or directory"},
        {del("d", 0, omf::DeleteKind::kDirectory), "directory not empty"},
        {del("d/f", 1, omf::DeleteKind::kDirectory), "is not a directory"},
        {del("d", 0), "is a directory"},
        {del("d/f", 0), "not entry 0"},
        {del("d/f", 9), "not before it"},
        {del("/abs", 1), "absolute path"},
    };
    uint64_t index = 2;
    for (const auto& c : cases) {
        auto st = ns.apply(c.e, index);
        ASSERT_FALSE(st.ok()) << c.reason;
        EXPECT_NE(st.error().message.find(c.reason), std::string::npos) << st.error().message;
        ASSERT_FALSE(ns.problems().empty());
        EXPECT_EQ(ns.problems().back().index, index);
        ++index;
    }
    EXPECT_NE(ns.lookup("d/f"), nullptr) << "refused deletes change nothing";

    ASSERT_TRUE(ns.apply(del("d/f", 1), index).ok());
    auto again = ns.apply(del("d/f", 1), index + 1);
    ASSERT_FALSE(again.ok());
    EXPECT_NE(again.error().message.find("already deleted at entry " + std::to_string(index)),
              std::string::npos)
        << again.error().message;
    EXPECT_TRUE(ns.apply(del("d", 0, omf::DeleteKind::kDirectory), index + 2).ok());
    EXPECT_EQ(ns.lookup("d"), nullptr);
    EXPECT_EQ(ns.dirs(), 0u);
}

TEST(PathIndexDelete, RemovalKeepsEveryOtherPathFindable) {
    PathIndex paths;
    std::vector<PathIndex::Id> ids;
    for (int i = 0; i < 500; ++i) {
        const std::string name = "f" + std::to_string(i);  // the place views it
        auto place = paths.place(name);
        ASSERT_TRUE(place.ok());
        ids.push_back(paths.add(*place, false, static_cast<uint64_t>(i)));
    }
    for (int i = 0; i < 500; i += 3) paths.remove(ids[static_cast<size_t>(i)]);
    for (int i = 0; i < 500; ++i) {
        const auto id = paths.find("f" + std::to_string(i));
        if (i % 3 == 0)
            EXPECT_EQ(id, PathIndex::kNone) << i;
        else
            EXPECT_EQ(id, ids[static_cast<size_t>(i)]) << i;
    }
    EXPECT_EQ(paths.children(PathIndex::kRoot), 500u - 167u);
    paths.reserve(5000);  // a rehash must not bring removed paths back
    EXPECT_EQ(paths.find("f0"), PathIndex::kNone);
    EXPECT_NE(paths.find("f1"), PathIndex::kNone);
}

// ---- allocator ----

omf::FileEntry file_at(uint64_t offset, uint64_t len) {
    return std::get<omf::FileEntry>(test::file_entry("f", len, {{0, offset, len}}).payload);
}

HostSlot live_host(size_t index, uint8_t seed, uint64_t watermark, bool evicted = false) {
    HostSlot s;
    s.index = index;
    omf::HostHalf h;
    h.state = omf::HostState::kActive;
    h.system_uuid.fill(seed);
    h.nonce = seed;
    h.watermark = watermark;
    omf::MasterHalf m;
    m.granted_uuid = h.system_uuid;
    m.nonce = h.nonce;
    m.evicted = evicted;
    s.host = {omf::HalfStatus::kValid, h};
    s.master = {omf::HalfStatus::kValid, m};
    return s;  // fs_uuid zero, as the table is judged for a zero fs_uuid below
}

// A 32 MiB device: units 5..15 hold data. A takes 5..7, B the rest.
struct FullDevice {
    Allocator a{sb_of(32 * kMiB)};
    FullDevice() {
        a.claim(file_at(kData, 3 * kUnit), 1);
        a.claim(file_at(kData + 3 * kUnit, 8 * kUnit), 2);
    }
};

TEST(AllocatorPending, PendingSpaceIsNeverHandedOutWithoutTheRule) {
    FullDevice d;
    EXPECT_EQ(d.a.pend(1, 3), 3u);
    EXPECT_EQ(d.a.pending_bytes(), 3 * kUnit);
    EXPECT_EQ(d.a.used_bytes(), 32 * kMiB) << "pending space is still in use";
    auto x = d.a.allocate(kUnit);
    ASSERT_FALSE(x.ok());
    EXPECT_EQ(x.error().code, ENOSPC);
}

TEST(AllocatorPending, AHostWithAStaleWatermarkBlocksReclaim) {
    FullDevice d;
    d.a.pend(1, 3);
    const std::vector<HostSlot> table{live_host(0, 1, 100), live_host(1, 2, 3)};
    EXPECT_EQ(d.a.reclaim(reclaim_horizon(table, omf::Uuid{})), 0u);
    EXPECT_FALSE(d.a.allocate(kUnit).ok());
}

TEST(AllocatorPending, AnEvictedHostDoesNotBlockReclaim) {
    FullDevice d;
    d.a.pend(1, 3);
    const std::vector<HostSlot> table{live_host(0, 1, 100), live_host(1, 2, 3, true)};
    EXPECT_EQ(d.a.reclaim(reclaim_horizon(table, omf::Uuid{})), 3u);
    EXPECT_EQ(d.a.pending_bytes(), 0u);
    auto x = d.a.allocate(3 * kUnit);
    ASSERT_TRUE(x.ok()) << x.error().message;
    EXPECT_EQ(x->offset, kData);
}

TEST(AllocatorPending, AnEmptyTableAllowsReclaim) {
    FullDevice d;
    d.a.pend(1, 3);
    const std::vector<HostSlot> table(omf::kHostSlots);
    EXPECT_EQ(d.a.reclaim(reclaim_horizon(table, omf::Uuid{})), 3u);
    EXPECT_TRUE(d.a.allocate(kUnit).ok());
}

TEST(AllocatorPending, OnlyDeletesBelowTheHorizonAreReclaimed) {
    FullDevice d;
    d.a.pend(1, 3);
    d.a.pend(2, 7);
    EXPECT_EQ(d.a.reclaim(7), 3u);  // delete 3 is below 7, delete 7 is not
    EXPECT_EQ(d.a.pending_bytes(), 8 * kUnit);
    EXPECT_EQ(d.a.reclaim(8), 8u);
    EXPECT_EQ(d.a.free_bytes(), 11 * kUnit);
}

TEST(AllocatorPending, ALoggedFileTakesPendingUnitsWithoutACollision) {
    FullDevice d;
    d.a.pend(1, 3);
    d.a.claim(file_at(kData + kUnit, kUnit), 4);  // the master reused the middle unit
    EXPECT_TRUE(d.a.collisions().empty());
    EXPECT_EQ(d.a.pending_bytes(), 2 * kUnit);
    EXPECT_EQ(d.a.reclaim(~uint64_t{0}), 2u);
    EXPECT_TRUE(d.a.in_use(6));
    EXPECT_FALSE(d.a.in_use(5));
    EXPECT_FALSE(d.a.in_use(7));
}

TEST(AllocatorPending, CrossLinkedSpaceIsNeverPending) {
    FullDevice d;
    d.a.claim(file_at(kData, kUnit), 3);  // a cross-link with A
    EXPECT_EQ(d.a.pend(1, 4), 0u);
    EXPECT_EQ(d.a.pending_bytes(), 0u);
}

TEST(AllocatorPending, AllocatedThenLoggedFilesCanBePended) {
    Allocator a(sb_of(32 * kMiB));
    auto x = a.allocate(2 * kUnit);
    ASSERT_TRUE(x.ok());
    omf::FileEntry f = file_at(x->offset, x->len);
    a.adopt(f, 0);
    EXPECT_EQ(a.pend(0, 1), 2u);
}

// ---- Volume::remove ----

uint64_t sb_version(Device& dev) {
    uint64_t v;
    std::memcpy(&v, dev.base() + 8, sizeof v);
    return v;
}

TEST(VolumeRemove, TheFirstDeleteMarksTheSuperblockAndLogsADelete) {
    testing::FaultyDevice* dev = nullptr;
    auto vol = test::memory_volume(1 * kGiB, 8 * kMiB, &dev);
    ASSERT_TRUE(vol->create_file({.relpath = "a", .size = kUnit}).ok());
    EXPECT_EQ(sb_version(*dev), 48u);
    ASSERT_TRUE(vol->remove("a", Volume::RemoveMode::kFile).ok());
    EXPECT_EQ(sb_version(*dev), 49u);
    auto sb = std::vector<uint8_t>(dev->base(), dev->base() + omf::kSuperblockBytes);
    EXPECT_TRUE(omf::validate_superblock(sb).ok());
    auto e = vol->log().entry(1);
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(e->payload, (omf::Payload{omf::DeleteEntry{"a", 0, omf::DeleteKind::kFile}}));

    auto st = vol->load();
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(st->ns.lookup("a"), nullptr);
    EXPECT_TRUE(st->ns.problems().empty());
    EXPECT_EQ(st->alloc.pending_bytes(), kUnit);
}

TEST(VolumeRemove, FailedRemovesLogNothing) {
    auto vol = test::memory_volume(1 * kGiB);
    ASSERT_TRUE(vol->mkdir("d", 0755, 0, 0, false).ok());
    ASSERT_TRUE(vol->create_file({.relpath = "d/f", .size = kUnit}).ok());
    struct Case {
        const char* path;
        Volume::RemoveMode mode;
        int code;
    };
    for (const Case& c : {Case{"nope", Volume::RemoveMode::kFile, ENOENT},
                          Case{"d", Volume::RemoveMode::kFile, EISDIR},
                          Case{"d", Volume::RemoveMode::kEmptyDirectory, ENOTEMPTY},
                          Case{"d/f", Volume::RemoveMode::kEmptyDirectory, ENOTDIR},
                          Case{"/d", Volume::RemoveMode::kRecursive, EINVAL}}) {
        auto st = vol->remove(c.path, c.mode);
        ASSERT_FALSE(st.ok()) << c.path;
        EXPECT_EQ(st.error().code, c.code) << st.error().message;
        EXPECT_NE(st.error().message.find(std::string(c.path).substr(c.path[0] == '/')),
                  std::string::npos)
            << st.error().message;
    }
    EXPECT_EQ(vol->log().next_index(), 2u);
    EXPECT_EQ(sb_version(vol->device()), 48u) << "a failed delete leaves the mark off";
}

TEST(VolumeRemove, RecursiveRemovesChildrenFirst) {
    auto vol = test::memory_volume(1 * kGiB);
    ASSERT_TRUE(vol->mkdir("d/e", 0755, 0, 0, true).ok());
    ASSERT_TRUE(vol->create_file({.relpath = "d/e/f", .size = kUnit}).ok());
    ASSERT_TRUE(vol->create_file({.relpath = "d/g", .size = kUnit}).ok());
    ASSERT_TRUE(vol->remove("d", Volume::RemoveMode::kRecursive).ok());
    auto st = vol->load();
    ASSERT_TRUE(st.ok());
    EXPECT_TRUE(st->ns.problems().empty());
    EXPECT_EQ(st->ns.files() + st->ns.dirs(), 0u);
    EXPECT_EQ(st->ns.lookup("d"), nullptr);
    EXPECT_EQ(st->alloc.pending_bytes(), 2 * kUnit);
    // And the names can be used again.
    ASSERT_TRUE(vol->mkdir("d", 0755, 0, 0, false).ok());
    ASSERT_TRUE(vol->remove("d", Volume::RemoveMode::kEmptyDirectory).ok());
}

omf::HostHalf stale_host(const omf::Uuid& fs, uint64_t watermark) {
    omf::HostHalf h;
    h.state = omf::HostState::kActive;
    h.system_uuid.fill(7);
    h.fs_uuid = fs;
    h.nonce = 9;
    h.watermark = watermark;
    h.name = "stale";
    return h;
}

void write_slot(Device& dev, size_t slot, const omf::HostHalf& h, bool evicted) {
    test::encode_granted_slot(h, dev.range(omf::host_slot_offset(slot), omf::kHostSlotBytes),
                              evicted);
}

TEST(VolumeRemove, SpaceIsReusedOnlyWhenTheTableAllowsIt) {
    testing::FaultyDevice* dev = nullptr;
    auto vol = test::memory_volume(1 * kGiB, 8 * kMiB, &dev);
    auto a = vol->create_file({.relpath = "a", .size = kUnit});
    ASSERT_TRUE(a.ok());
    const uint64_t a_offset = a->file.extents[0].offset;
    // A host that applied entries 0 only: it may still hold `a` open.
    write_slot(*dev, 3, stale_host(vol->superblock().fs_uuid, 1), false);
    ASSERT_TRUE(vol->remove("a", Volume::RemoveMode::kFile).ok());  // DELETE at 1
    auto b = vol->create_file({.relpath = "b", .size = kUnit});
    ASSERT_TRUE(b.ok());
    EXPECT_NE(b->file.extents[0].offset, a_offset) << "a stale host blocks reuse";

    write_slot(*dev, 3, stale_host(vol->superblock().fs_uuid, 1), true);  // evicted
    auto c = vol->create_file({.relpath = "c", .size = kUnit});
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->file.extents[0].offset, a_offset);

    // Every host agrees: replay counts no collision and nothing pending.
    auto st = vol->load();
    ASSERT_TRUE(st.ok());
    EXPECT_TRUE(st->alloc.collisions().empty());
    EXPECT_EQ(st->alloc.pending_bytes(), 0u);
}

TEST(VolumeRemove, ClientsRefuseWithEROFS) {
    auto vol = test::memory_volume(1 * kGiB);
    ASSERT_TRUE(vol->create_file({.relpath = "a", .size = kUnit}).ok());
    test::ScopedHost other(omf::random_uuid());
    auto client = Volume::open(vol->shared_device());
    ASSERT_TRUE(client.ok());
    auto st = (*client)->remove("a", Volume::RemoveMode::kFile);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, EROFS);
    EXPECT_NE(st.error().message.find("'a'"), std::string::npos);
}

}  // namespace
}  // namespace famfs
