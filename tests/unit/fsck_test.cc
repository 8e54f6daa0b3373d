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

// A crafted log: valid entries, one with a bad CRC in the middle, valid
// ones after it, two of which collide (one with a file after the bad entry,
// one with a replayed file). Data starts at 10 MiB (2 MiB superblock region
// + 8 MiB log).
struct UnreplayedFixture : FsckFixture {
    static constexpr uint64_t kBad = 2;
    void SetUp() override {
        append(test::file_entry("a", 100, {{0, 12 * kMiB, 2 * kMiB}}));  // 0
        append(test::dir_entry("d"));                                    // 1
        append(test::file_entry("bad", 1, {{0, 14 * kMiB, 2 * kMiB}}));  // 2, corrupted below
        append(test::file_entry("d/x", 5 * kMiB, {{0, 16 * kMiB, 6 * kMiB}}));  // 3
        append(test::dir_entry("e"));                                           // 4
        append(test::file_entry("e/y", 1, {{0, 18 * kMiB, 2 * kMiB}}));         // 5: d/x's
        append(test::file_entry("z", 1, {{0, 12 * kMiB, 2 * kMiB}}));           // 6: a's
        vol->log().slot(kBad)[300] ^= 0x10;  // a payload byte: the CRC no longer matches
    }
    void append(const omf::LogEntry& e) { ASSERT_TRUE(vol->log().append(e).ok()); }
    FsckReport run_fresh() {
        auto fresh = Volume::open(vol->shared_device());
        EXPECT_TRUE(fresh.ok());
        auto r = fsck(**fresh, {});
        EXPECT_TRUE(r.ok()) << r.error().message;
        return r.ok() ? *r : FsckReport{};
    }
};

TEST_F(UnreplayedFixture, EntriesPastTheInvalidOneAreReported) {
    const FsckReport r = run_fresh();
    ASSERT_TRUE(r.invalid_index.has_value());
    EXPECT_EQ(*r.invalid_index, kBad);
    EXPECT_EQ(r.files, 1u) << "replayed: a only";
    EXPECT_EQ(r.dirs, 1u);
    const Unreplayed& u = r.unreplayed;
    ASSERT_EQ(u.entries.size(), 4u);
    EXPECT_EQ(u.files, 3u);
    EXPECT_EQ(u.dirs, 1u);
    EXPECT_EQ(u.invalid, 0u);
    EXPECT_EQ(u.entries[0].index, 3u);
    EXPECT_EQ(u.entries[0].kind, UnreplayedEntry::Kind::kFile);
    EXPECT_EQ(u.entries[0].relpath, "d/x");
    EXPECT_EQ(u.entries[0].size, 5 * kMiB);
    EXPECT_EQ(u.entries[0].claimed, 6 * kMiB);
    EXPECT_EQ(u.entries[1].kind, UnreplayedEntry::Kind::kDirectory);
    EXPECT_EQ(u.entries[1].relpath, "e");
    EXPECT_EQ(u.entries[3].relpath, "z");
    EXPECT_EQ(u.claimed_bytes, 6 * kMiB) << "e/y and z claim nothing that is not claimed already";
    EXPECT_EQ(r.allocated, 10 * kMiB + 2 * kMiB + 6 * kMiB) << "their space is not free";
    EXPECT_EQ(r.free, 8 * kGiB - r.allocated);

    EXPECT_EQ(r.units_claimed_twice, 2u);
    ASSERT_EQ(r.cross_links.size(), 2u);
    EXPECT_EQ(r.cross_links[0].first_relpath, "d/x");
    EXPECT_EQ(r.cross_links[0].first_index, 3u);
    EXPECT_EQ(r.cross_links[0].second_relpath, "e/y");
    EXPECT_EQ(r.cross_links[0].offset, 18 * kMiB);
    EXPECT_EQ(r.cross_links[1].first_relpath, "a");
    EXPECT_EQ(r.cross_links[1].second_relpath, "z");
    EXPECT_EQ(r.bad_entries(), 1u);
    EXPECT_EQ(r.errors(), 3u) << "the invalid entry and two units claimed twice";
}

TEST_F(UnreplayedFixture, TheReportNamesThemAndTheirSpace) {
    const FsckReport r = run_fresh();
    const std::string text = format_fsck(r, {});
    EXPECT_TRUE(contains(text, "ERROR: log entry 2 is invalid")) << text;
    EXPECT_TRUE(contains(text,
                         "ERROR: 4 log entries after invalid entry 2 are not replayed: 3 file(s), "
                         "1 directory(ies), 0 invalid; they claim 6291456 bytes that replay "
                         "counts as free\n"))
        << text;
    EXPECT_TRUE(contains(text, "    log entry 3: file d/x, size 5242880, claims 6291456 bytes\n"))
        << text;
    EXPECT_TRUE(contains(text, "    log entry 4: directory e\n")) << text;
    EXPECT_TRUE(contains(text, "    log entry 6: file z, size 1, claims 2097152 bytes\n")) << text;
    EXPECT_TRUE(contains(text,
                         "ERROR: cross-linked: d/x (log entry 3, not replayed) and e/y (log entry "
                         "5, not replayed) both claim 1 unit(s) at 0x1200000\n"))
        << text;
    EXPECT_TRUE(contains(text,
                         "ERROR: cross-linked: a (log entry 0) and z (log entry 6, not replayed) "
                         "both claim 1 unit(s) at 0xc00000\n"))
        << text;
    EXPECT_TRUE(contains(text, "Claimed by unreplayed:  6291456\n")) << text;
    EXPECT_TRUE(contains(text, "Allocated bytes:        18874368\n")) << text;
    EXPECT_TRUE(contains(text, "  1 bad log entries detected\n")) << text;
    EXPECT_TRUE(contains(text, "  3 files and 1 directories more past the invalid entry")) << text;
}

TEST_F(UnreplayedFixture, MoreInvalidEntriesAfterTheFirstAreCounted) {
    vol->log().slot(4)[300] ^= 0x10;
    const FsckReport r = run_fresh();
    ASSERT_EQ(r.unreplayed.entries.size(), 4u);
    EXPECT_EQ(r.unreplayed.invalid, 1u);
    EXPECT_EQ(r.unreplayed.dirs, 0u);
    EXPECT_EQ(r.unreplayed.entries[1].kind, UnreplayedEntry::Kind::kInvalid);
    EXPECT_FALSE(r.unreplayed.entries[1].problem.empty());
    EXPECT_EQ(r.bad_entries(), 2u);
    EXPECT_EQ(r.errors(), 4u);
    const std::string text = format_fsck(r, {});
    EXPECT_TRUE(contains(text, "    log entry 4: invalid (")) << text;
    EXPECT_TRUE(contains(text, "  2 bad log entries detected\n")) << text;
}

// fsck reads past the invalid entry; replay (what servers and logplay use)
// still stops there.
TEST_F(UnreplayedFixture, ReplayStillStopsAtTheInvalidEntry) {
    (void)run_fresh();
    auto fresh = Volume::open(vol->shared_device());
    ASSERT_TRUE(fresh.ok());
    auto st = (*fresh)->load();
    ASSERT_TRUE(st.ok()) << st.error().message;
    ASSERT_TRUE(st->invalid_index.has_value());
    EXPECT_EQ(*st->invalid_index, kBad);
    EXPECT_EQ(st->ns.files(), 1u);
    EXPECT_EQ(st->ns.applied(), kBad);
    EXPECT_EQ(st->alloc.used_bytes(), 12 * kMiB);
    EXPECT_TRUE(st->alloc.collisions().empty());
}

TEST_F(FsckFixture, NothingIsUnreplayedWhenTheLastEntryIsTheInvalidOne) {
    create("a", 1);
    create("b", 1);
    vol->log().slot(1)[300] ^= 0x10;
    auto fresh = Volume::open(vol->shared_device());
    ASSERT_TRUE(fresh.ok());
    auto r = fsck(**fresh, {});
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->unreplayed.empty());
    EXPECT_FALSE(contains(format_fsck(*r, {}), "not replayed"));
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
