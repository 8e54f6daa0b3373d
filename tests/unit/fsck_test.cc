// fsck on clean, cross-linked and corrupt logs: the numbers, the error count
// and the report lines people and scripts look for.
#include <gtest/gtest.h>

#include <set>

#include "famfs/fsck.h"
#include "famfs/volume.h"
#include "famfs_test_support.h"
#include "worst_case_log.h"

namespace famfs {
namespace {

using test::kGiB;
using test::kMiB;

bool contains(const std::string& text, const std::string& what) {
    return text.find(what) != std::string::npos;
}

struct FsckFixture : ::testing::Test {
    std::unique_ptr<Volume> vol = test::memory_volume(8 * kGiB);

    void create(const std::string& path, uint64_t size) {
        CreateSpec s;
        s.relpath = path;
        s.size = size;
        auto c = vol->create_file(s);
        ASSERT_TRUE(c.ok()) << c.error().message;
    }
    FsckReport run(const FsckOptions& opt = {}) {
        auto r = fsck(*vol, opt);
        EXPECT_TRUE(r.ok()) << r.error().message;
        return r.ok() ? *r : FsckReport{};
    }
};

TEST_F(FsckFixture, CleanFileSystem) {
    ASSERT_TRUE(vol->mkdir("a/b", 0755, 0, 0, true).ok());
    create("a/b/f", 4096);
    create("big", 100 * kMiB);
    const FsckReport r = run();
    EXPECT_EQ(r.errors(), 0u);
    EXPECT_EQ(r.entries_used, 4u);
    EXPECT_EQ(r.capacity, 15420u);
    EXPECT_EQ(r.files, 2u);
    EXPECT_EQ(r.dirs, 2u);
    EXPECT_EQ(r.sum_file_sizes, 4096 + 100 * kMiB);
    EXPECT_EQ(r.allocated, 10 * kMiB + 2 * kMiB + 100 * kMiB);
    EXPECT_EQ(r.free, 8 * kGiB - r.allocated);
    EXPECT_EQ(r.role, Role::kMaster);
    ASSERT_EQ(r.buckets.size(), 4u);
    EXPECT_EQ(r.buckets[0].used, r.allocated);
    EXPECT_FALSE(r.invalid_index.has_value());

    const std::string text = format_fsck(r, {});
    EXPECT_TRUE(contains(text, "# of log entries in use: 4 of 15420\n")) << text;
    EXPECT_TRUE(contains(text, "Device capacity:        8589934592\n")) << text;
    EXPECT_TRUE(contains(text, "Free space:             " + std::to_string(r.free) + "\n"));
    EXPECT_TRUE(contains(text, "No allocation errors found\n"));
    EXPECT_TRUE(contains(text, "  2 files\n"));
    EXPECT_TRUE(contains(text, "  2 directories\n"));
    EXPECT_TRUE(contains(text, "role of this node: Owner\n"));
    EXPECT_FALSE(contains(text, "log_len:")) << "log_len is verbose-only";
    FsckOptions verbose;
    verbose.verbose = true;
    EXPECT_TRUE(contains(format_fsck(r, verbose), "log_len:           8388608\n"));
}

TEST_F(FsckFixture, HumanReadableSizes) {
    create("f", 1 * kGiB);
    FsckOptions human;
    human.human = true;
    const FsckReport r = run(human);
    const std::string text = format_fsck(r, human);
    EXPECT_TRUE(contains(text, "Device capacity:        8.00 GiB\n")) << text;
    EXPECT_TRUE(contains(text, "Sum of file sizes:      1.00 GiB\n")) << text;
    EXPECT_FALSE(contains(text, "8589934592"));
}

TEST_F(FsckFixture, ClonedFileIsACollisionNamingBothFiles) {
    create("orig", 6 * kMiB);
    create("other", 1);
    ASSERT_TRUE(vol->clone("orig", "copy").ok());
    const FsckReport r = run();
    EXPECT_EQ(r.units_claimed_twice, 3u);
    EXPECT_EQ(r.collisions.size(), 1u);
    EXPECT_EQ(r.errors(), 3u) << "the exit status counts units claimed twice";
    ASSERT_EQ(r.cross_links.size(), 1u);
    const CrossLink& l = r.cross_links[0];
    EXPECT_EQ(l.first_relpath, "orig");
    EXPECT_EQ(l.first_index, 0u);
    EXPECT_EQ(l.second_relpath, "copy");
    EXPECT_EQ(l.second_index, 2u);
    EXPECT_EQ(l.units, 3u);
    EXPECT_EQ(l.offset, 10 * kMiB);
    const std::string text = format_fsck(r, {});
    EXPECT_FALSE(contains(text, "No allocation errors found"));
    EXPECT_TRUE(contains(text, "orig")) << text;
    EXPECT_TRUE(contains(text, "copy")) << text;
    EXPECT_TRUE(contains(text, "ERROR: 3 allocation collision(s) (units claimed twice)\n"));
    EXPECT_TRUE(contains(text,
                         "ERROR: cross-linked: orig (log entry 0) and copy (log entry 2) "
                         "both claim 3 unit(s) at 0xa00000\n"))
        << text;
}

TEST_F(FsckFixture, CorruptEntryStopsReplayAndIsReported) {
    create("a", 1);
    create("b", 1);
    create("c", 1);
    vol->log().slot(1)[300] ^= 0x10;
    auto fresh = Volume::open(vol->shared_device());
    ASSERT_TRUE(fresh.ok());
    auto r = fsck(**fresh, {});
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_TRUE(r->invalid_index.has_value());
    EXPECT_EQ(*r->invalid_index, 1u);
    EXPECT_FALSE(r->invalid_reason.empty());
    EXPECT_EQ(r->files, 1u) << "replay stops at the first invalid entry";
    EXPECT_EQ(r->entries_used, 3u);
    EXPECT_GE(r->errors(), 1u);
    const std::string text = format_fsck(*r, {});
    EXPECT_TRUE(contains(text, "log entry 1")) << text;
    EXPECT_TRUE(contains(text, "1 bad log entries detected")) << text;
}

TEST_F(FsckFixture, RefusedEntriesAreCounted) {
    ASSERT_TRUE(vol->log().append(test::file_entry("/abs", 1, {{0, 12 * kMiB, 2 * kMiB}})).ok());
    ASSERT_TRUE(vol->log().append(test::file_entry("ok", 1, {{0, 14 * kMiB, 2 * kMiB}})).ok());
    const FsckReport r = run();
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0].index, 0u);
    EXPECT_EQ(r.errors(), 1u);
    EXPECT_EQ(r.files, 1u);
    const std::string text = format_fsck(r, {});
    EXPECT_TRUE(contains(text, "/abs")) << text;
}

TEST_F(FsckFixture, CollisionWithARefusedEntrysSpace) {
    ASSERT_TRUE(vol->log().append(test::file_entry("/abs", 1, {{0, 12 * kMiB, 2 * kMiB}})).ok());
    ASSERT_TRUE(vol->log().append(test::file_entry("ok", 1, {{0, 12 * kMiB, 2 * kMiB}})).ok());
    const FsckReport r = run();
    ASSERT_EQ(r.cross_links.size(), 1u);
    EXPECT_EQ(r.cross_links[0].first_index, CrossLink::kUnknownClaimant);
    EXPECT_EQ(r.cross_links[0].second_relpath, "ok");
    EXPECT_EQ(r.errors(), 2u) << "one refused entry, one collision";
    EXPECT_TRUE(contains(format_fsck(r, {}), "an entry replay refused and ok (log entry 1)"))
        << format_fsck(r, {});
}

// The remainder past the itemised runs is one line naming the entry.
TEST_F(FsckFixture, CollisionsPastTheItemisedOnesAreSummedOnOneLine) {
    for (uint64_t i = 0; i < 8; ++i)
        ASSERT_TRUE(vol->log()
                        .append(test::file_entry("s" + std::to_string(i), 1,
                                                 {{0, (12 + 4 * i) * kMiB, 2 * kMiB}}))
                        .ok());
    ASSERT_TRUE(vol->log().append(test::file_entry("big", 1, {{0, 12 * kMiB, 32 * kMiB}})).ok());
    const FsckReport r = run();
    EXPECT_EQ(r.units_claimed_twice, 8u);
    ASSERT_EQ(r.cross_links.size(), Allocator::kItemisedRunsPerEntry + 1);
    EXPECT_EQ(r.cross_links.back().first_index, CrossLink::kNotItemised);
    const std::string text = format_fsck(r, {});
    EXPECT_TRUE(contains(text, "ERROR: cross-linked: s0 (log entry 0) and big (log entry 8)"))
        << text;
    EXPECT_TRUE(contains(text,
                         "ERROR: cross-linked: big (log entry 8) claims 5 more unit(s) that "
                         "earlier entries claim, the first at 0x1800000\n"))
        << text;
}

// Issue 16: one entry whose 16 extents cover the whole device took fsck to
// 3 GB and 25 s. A full log of them, on 4 KiB units, is reported in a few
// lines per entry, and every colliding file is named.
void check_worst_case(test::WorstCase shape) {
    test::ShmFile file(8 * kGiB);
    test::WorstCaseSpec spec;
    spec.shape = shape;
    spec.system_uuid = test::host_uuid();
    ASSERT_TRUE(test::write_worst_case_image(file.path(), spec).ok());
    auto vol = Volume::open(file.path(), Access::kReadOnly);
    ASSERT_TRUE(vol.ok()) << vol.error().message;
    auto r = fsck(**vol, {});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->files, spec.count());
    EXPECT_TRUE(r->problems.empty());
    EXPECT_GT(r->units_claimed_twice, spec.count());
    EXPECT_LE(r->cross_links.size(), spec.count() * (Allocator::kItemisedRunsPerEntry + 1));
    std::set<uint64_t> named;
    for (const CrossLink& l : r->cross_links) named.insert(l.second_index);
    EXPECT_EQ(named.size(),
              shape == test::WorstCase::kWholeDevice ? spec.count() : spec.count() - 1)
        << "every entry that collides is named";
    const std::string text = format_fsck(*r, {});
    EXPECT_TRUE(contains(text, test::worst_case_relpath(0) + " (log entry 0) and " +
                                   test::worst_case_relpath(1) + " (log entry 1) both claim"));
    EXPECT_LT(text.size(), (Allocator::kItemisedRunsPerEntry + 1) * 320 * spec.count())
        << "at most a few lines per entry";
}

TEST(FsckWorstCase, AFullLogOfEntriesCoveringTheDeviceIsBounded) {
    check_worst_case(test::WorstCase::kWholeDevice);
}

TEST(FsckWorstCase, AFullLogOverFragmentedClaimsIsBounded) {
    check_worst_case(test::WorstCase::kFragmented);
}

TEST_F(FsckFixture, ClientRole) {
    test::ScopedHost other(omf::random_uuid());
    auto client = Volume::open(vol->shared_device());
    ASSERT_TRUE(client.ok());
    auto r = fsck(**client, {});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->role, Role::kClient);
    EXPECT_TRUE(contains(format_fsck(*r, {}), "role of this node: Client"));
}

}  // namespace
}  // namespace famfs
