// The allocator against docs/format.md "Allocation": reserved superblock + log,
// first fit, interleave (equal strips, distinct buckets, the fallback for
// files smaller than one chunk), parameter limits and collisions.
#include <gtest/gtest.h>

#include <set>

#include "famfs/allocator.h"
#include "famfs/namespace.h"
#include "famfs/volume.h"
#include "famfs_test_support.h"

namespace famfs {
namespace {

using test::kGiB;
using test::kMiB;

constexpr uint64_t kUnit = 2 * kMiB;

omf::Superblock sb_of(uint64_t dev_size, uint64_t log_len = 8 * kMiB) {
    return test::make_superblock(dev_size, log_len, omf::Uuid{});
}

omf::FileEntry simple_file(const std::string& path, uint64_t offset, uint64_t len) {
    omf::FileEntry f;
    f.relpath = path;
    f.size = len;
    f.extents = {{0, offset, len}};
    return f;
}

TEST(Allocator, SuperblockAndLogAreTakenFirst) {
    Allocator a(sb_of(8 * kGiB));
    EXPECT_EQ(a.unit(), kUnit);
    EXPECT_EQ(a.capacity(), 8 * kGiB);
    EXPECT_EQ(a.used_bytes(), 10 * kMiB);  // 2 MiB superblock region + 8 MiB log
    EXPECT_EQ(a.free_bytes(), 8 * kGiB - 10 * kMiB);
    for (uint64_t u = 0; u < 5; ++u) EXPECT_TRUE(a.in_use(u)) << u;
    EXPECT_FALSE(a.in_use(5));

    Allocator big_log(sb_of(8 * kGiB, 16 * kMiB));
    EXPECT_EQ(big_log.used_bytes(), 18 * kMiB);
}

TEST(Allocator, FirstFitRoundsUpToWholeUnits) {
    Allocator a(sb_of(8 * kGiB));
    auto x = a.allocate(1);
    ASSERT_TRUE(x.ok());
    EXPECT_EQ(*x, (omf::Extent{0, 0xa00000, kUnit}));
    x = a.allocate(3000001);
    ASSERT_TRUE(x.ok());
    EXPECT_EQ(*x, (omf::Extent{0, 0xc00000, 4 * kMiB}));
    x = a.allocate(kUnit);
    ASSERT_TRUE(x.ok());
    EXPECT_EQ(*x, (omf::Extent{0, 0x1000000, kUnit}));
    EXPECT_EQ(a.used_bytes(), 10 * kMiB + 8 * kMiB);
}

TEST(Allocator, FirstFitUsesTheFirstHoleThatIsBigEnough) {
    Allocator a(sb_of(8 * kGiB));
    // Units 5-6 free, 7 taken, 8-10 free, 11 taken, then free to the end.
    a.claim(simple_file("x", 7 * kUnit, kUnit), 0);
    a.claim(simple_file("y", 11 * kUnit, kUnit), 1);
    auto three = a.allocate(3 * kUnit);
    ASSERT_TRUE(three.ok());
    EXPECT_EQ(three->offset, 8 * kUnit);
    auto two = a.allocate(2 * kUnit);
    ASSERT_TRUE(two.ok());
    EXPECT_EQ(two->offset, 5 * kUnit);
    auto one = a.allocate(1);
    ASSERT_TRUE(one.ok());
    EXPECT_EQ(one->offset, 12 * kUnit);
}

TEST(Allocator, OutOfSpaceChangesNothing) {
    Allocator a(sb_of(64 * kMiB));
    const uint64_t used = a.used_bytes();
    auto x = a.allocate(a.free_bytes() + 1);
    ASSERT_FALSE(x.ok());
    EXPECT_EQ(x.error().code, ENOSPC);
    EXPECT_EQ(a.used_bytes(), used);
    auto all = a.allocate(a.free_bytes());
    ASSERT_TRUE(all.ok());
    EXPECT_EQ(a.free_bytes(), 0u);
    EXPECT_FALSE(a.allocate(1).ok());
}

InterleaveParams ip(uint64_t nbuckets, uint64_t nstrips, uint64_t chunk) {
    return InterleaveParams{nbuckets, nstrips, chunk};
}

// The rules every interleaved allocation must follow (docs/format.md).
void expect_interleave_rules(const omf::FileEntry& f, uint64_t size, const InterleaveParams& p,
                             uint64_t capacity) {
    ASSERT_EQ(f.ext_type, omf::ExtentType::kInterleaved);
    EXPECT_EQ(f.size, size);
    const auto& il = f.interleave;
    EXPECT_EQ(il.nstrips, p.nstrips);
    EXPECT_EQ(il.chunk_size, p.chunk_size);
    ASSERT_EQ(il.strips.size(), p.nstrips);
    const uint64_t chunk_units = p.chunk_size / kUnit;
    const uint64_t size_units = (size + kUnit - 1) / kUnit;
    const uint64_t per_strip =
        (size_units + p.nstrips * chunk_units - 1) / (p.nstrips * chunk_units);
    const uint64_t bucket = capacity / p.nbuckets / kUnit * kUnit;
    std::set<uint64_t> buckets;
    for (const auto& s : il.strips) {
        EXPECT_EQ(s.devindex, 0u);
        EXPECT_EQ(s.len, per_strip * chunk_units * kUnit);
        EXPECT_EQ(s.offset % kUnit, 0u);
        EXPECT_EQ(s.offset / bucket, (s.offset + s.len - 1) / bucket) << "strip crosses buckets";
        buckets.insert(s.offset / bucket);
    }
    EXPECT_EQ(buckets.size(), p.nstrips) << "strips must be in distinct buckets";
}

TEST(Allocator, InterleaveFourStripsOfTwoMiBChunks) {
    Allocator a(sb_of(8 * kGiB));
    const auto p = ip(4, 4, 2 * kMiB);
    auto f = a.allocate_file(64 * kMiB, p);
    ASSERT_TRUE(f.ok()) << f.error().message;
    expect_interleave_rules(*f, 64 * kMiB, p, a.capacity());
    EXPECT_EQ(f->interleave.strips[0].len, 16 * kMiB);
    EXPECT_EQ(a.used_bytes(), 10 * kMiB + 64 * kMiB);
}

TEST(Allocator, InterleaveStripLengthsRoundUpToWholeChunks) {
    Allocator a(sb_of(16 * kGiB));
    const auto p = ip(8, 3, 4 * kMiB);
    const uint64_t size = 100 * kMiB + 1;  // 51 units; 3 strips x 2-unit chunks -> 9 chunks
    auto f = a.allocate_file(size, p);
    ASSERT_TRUE(f.ok()) << f.error().message;
    expect_interleave_rules(*f, size, p, a.capacity());
    EXPECT_EQ(f->interleave.strips[0].len, 36 * kMiB);
    EXPECT_EQ(a.used_bytes(), 10 * kMiB + 3 * 36 * kMiB);
}

TEST(Allocator, InterleaveOfOneChunkOrMoreIsStriped) {
    Allocator a(sb_of(8 * kGiB));
    auto f = a.allocate_file(8 * kMiB, ip(4, 2, 8 * kMiB));
    ASSERT_TRUE(f.ok());
    expect_interleave_rules(*f, 8 * kMiB, ip(4, 2, 8 * kMiB), a.capacity());
}

TEST(Allocator, FileSmallerThanOneChunkFallsBackToContiguous) {
    Allocator a(sb_of(8 * kGiB));
    auto f = a.allocate_file(8 * kMiB - 1, ip(4, 2, 8 * kMiB));
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(f->ext_type, omf::ExtentType::kSimple);
    ASSERT_EQ(f->extents.size(), 1u);
    EXPECT_EQ(f->extents[0], (omf::Extent{0, 0xa00000, 8 * kMiB}));
    EXPECT_EQ(f->size, 8 * kMiB - 1);
}

TEST(Allocator, NoInterleaveMeansOneSimpleExtent) {
    Allocator a(sb_of(8 * kGiB));
    auto f = a.allocate_file(100 * kMiB, InterleaveParams{});
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(f->ext_type, omf::ExtentType::kSimple);
    ASSERT_EQ(f->extents.size(), 1u);
    EXPECT_EQ(f->extents[0].len, 100 * kMiB);
}

TEST(Allocator, InterleaveParameterLimits) {
    Allocator a(sb_of(64 * kGiB));
    EXPECT_TRUE(a.check_interleave(ip(64, 16, 2 * kMiB)).ok());
    EXPECT_TRUE(a.check_interleave(ip(4, 4, 256 * kMiB)).ok());
    EXPECT_FALSE(a.check_interleave(ip(0, 1, 2 * kMiB)).ok()) << "no buckets";
    EXPECT_FALSE(a.check_interleave(ip(65, 16, 2 * kMiB)).ok()) << "over 64 buckets";
    EXPECT_FALSE(a.check_interleave(ip(16, 0, 2 * kMiB)).ok()) << "no strips";
    EXPECT_FALSE(a.check_interleave(ip(32, 17, 2 * kMiB)).ok()) << "over 16 strips";
    EXPECT_FALSE(a.check_interleave(ip(4, 5, 2 * kMiB)).ok()) << "more strips than buckets";
    EXPECT_FALSE(a.check_interleave(ip(4, 4, 0)).ok()) << "no chunk";
    EXPECT_FALSE(a.check_interleave(ip(4, 4, 6 * kMiB)).ok()) << "chunk not a power of two";
    EXPECT_FALSE(a.check_interleave(ip(4, 4, 1 * kMiB)).ok()) << "chunk under one unit";
    Allocator small(sb_of(8 * kGiB));
    EXPECT_TRUE(small.check_interleave(ip(8, 4, 2 * kMiB)).ok()) << "1 GiB buckets";
    EXPECT_FALSE(small.check_interleave(ip(16, 4, 2 * kMiB)).ok()) << "512 MiB buckets";
    // allocate_file refuses bad parameters without allocating anything.
    const uint64_t used = small.used_bytes();
    EXPECT_FALSE(small.allocate_file(64 * kMiB, ip(16, 4, 2 * kMiB)).ok());
    EXPECT_EQ(small.used_bytes(), used);
}

TEST(Allocator, InterleaveOutOfSpaceChangesNothing) {
    Allocator a(sb_of(4 * kGiB));
    // Fill bucket 1 of 2 almost entirely, so a 2-strip file fits only once.
    a.claim(simple_file("filler", 2 * kGiB, 2 * kGiB - 4 * kMiB), 0);
    const uint64_t used = a.used_bytes();
    auto f = a.allocate_file(16 * kMiB, ip(2, 2, 2 * kMiB));
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.error().code, ENOSPC);
    EXPECT_EQ(a.used_bytes(), used);
    auto g = a.allocate_file(8 * kMiB, ip(2, 2, 2 * kMiB));
    ASSERT_TRUE(g.ok()) << g.error().message;
    expect_interleave_rules(*g, 8 * kMiB, ip(2, 2, 2 * kMiB), a.capacity());
}

TEST(Allocator, CollisionsAreRecordedPerRunWithBothClaimants) {
    Allocator a(sb_of(8 * kGiB));
    a.claim(simple_file("first", 0x1000000, 4 * kUnit), 3);
    const uint64_t used = a.used_bytes();
    a.claim(simple_file("second", 0x1000000 + 2 * kUnit, 4 * kUnit), 7);
    ASSERT_EQ(a.collisions().size(), 1u);
    const Collision& c = a.collisions()[0];
    EXPECT_EQ(c.unit, 0x1000000 / kUnit + 2);
    EXPECT_EQ(c.units, 2u);
    EXPECT_EQ(c.first_index, 3u);
    EXPECT_EQ(c.index, 7u);
    EXPECT_EQ(a.units_claimed_twice(), 2u);
    EXPECT_EQ(a.used_bytes(), used + 2 * kUnit) << "shared units count once";
}

TEST(Allocator, ACollisionNamesEachEarlierClaimantOfItsRun) {
    Allocator a(sb_of(8 * kGiB));
    a.claim(simple_file("a", 0x1000000, 2 * kUnit), 0);
    a.claim(simple_file("b", 0x1000000 + 2 * kUnit, kUnit), 1);
    a.claim(simple_file("c", 0x1000000 + kUnit, 3 * kUnit), 2);  // over a's second unit and b
    ASSERT_EQ(a.collisions().size(), 2u);
    EXPECT_EQ(a.collisions()[0].first_index, 0u);
    EXPECT_EQ(a.collisions()[0].units, 1u);
    EXPECT_EQ(a.collisions()[1].first_index, 1u);
    EXPECT_EQ(a.collisions()[1].unit, 0x1000000 / kUnit + 2);
    EXPECT_EQ(a.units_claimed_twice(), 2u);
    EXPECT_EQ(a.used_bytes(), 10 * kMiB + 4 * kUnit) << "c's last unit was free";
}

// A unit claimed by three files counts twice, each time against its first claimant.
TEST(Allocator, EveryExtraClaimCounts) {
    Allocator a(sb_of(8 * kGiB));
    for (uint64_t i = 0; i < 3; ++i) a.claim(simple_file("f", 0x1000000, kUnit), i);
    EXPECT_EQ(a.units_claimed_twice(), 2u);
    ASSERT_EQ(a.collisions().size(), 2u);
    for (const Collision& c : a.collisions()) EXPECT_EQ(c.first_index, 0u);
}

// One entry whose 16 extents each cover the whole device: a few records,
// not one per unit (issue 16: this took a server to 1.48 GB).
TEST(Allocator, AnEntryCoveringTheDeviceManyTimesCostsFewRecords) {
    omf::Superblock sb = sb_of(8 * kGiB);
    sb.alloc_unit = omf::kSmallAllocUnit;
    Allocator a(sb);
    omf::FileEntry f = simple_file("all", 10 * kMiB, 8 * kGiB - 10 * kMiB);
    f.extents.assign(omf::kMaxExtents, f.extents[0]);
    a.claim(f, 0);
    a.claim(f, 1);
    const uint64_t units = (8 * kGiB - 10 * kMiB) / omf::kSmallAllocUnit;
    EXPECT_EQ(a.units_claimed_twice(), 31 * units) << "15 extra claims by entry 0, 16 by entry 1";
    EXPECT_LE(a.collisions().size(), 2 * (Allocator::kItemisedRunsPerEntry + 1));
    uint64_t summed = 0;
    for (const Collision& c : a.collisions()) summed += c.units;
    EXPECT_EQ(summed, a.units_claimed_twice()) << "itemised runs and the rest add up";
    EXPECT_EQ(a.free_bytes(), 0u);
}

// Naming the owners of a collision walks a bounded number of owner runs:
// the rest of the units are summed in one record.
TEST(Allocator, CollisionsOverManyOwnersAreItemisedThenSummed) {
    Allocator a(sb_of(8 * kGiB));
    const uint64_t base = 0x1000000;
    for (uint64_t i = 0; i < 100; ++i) a.claim(simple_file("s", base + 2 * i * kUnit, kUnit), i);
    a.claim(simple_file("big", base, 200 * kUnit), 100);
    EXPECT_EQ(a.units_claimed_twice(), 100u);
    ASSERT_EQ(a.collisions().size(), Allocator::kItemisedRunsPerEntry + 1);
    for (uint64_t i = 0; i < Allocator::kItemisedRunsPerEntry; ++i)
        EXPECT_EQ(a.collisions()[i].first_index, i);
    const Collision& rest = a.collisions().back();
    EXPECT_EQ(rest.first_index, Collision::kNotItemised);
    EXPECT_EQ(rest.units, 100 - Allocator::kItemisedRunsPerEntry);
    EXPECT_EQ(rest.unit, base / kUnit + 2 * Allocator::kItemisedRunsPerEntry);
    EXPECT_EQ(rest.index, 100u);
    EXPECT_EQ(a.used_bytes(), 10 * kMiB + 200 * kUnit);
}

TEST(Allocator, ExtentsPastTheDeviceClaimNothingAndNeverWrap) {
    Allocator a(sb_of(8 * kGiB));
    const uint64_t used = a.used_bytes();
    a.claim(simple_file("past", 16 * kGiB, kUnit), 0);
    a.claim(simple_file("huge", 8 * kGiB - kUnit, ~uint64_t{0} - kUnit), 1);
    EXPECT_EQ(a.used_bytes(), used + kUnit);
    EXPECT_EQ(a.units_claimed_twice(), 0u);
    EXPECT_FALSE(a.allocate(~uint64_t{0}).ok());
    EXPECT_FALSE(a.allocate_file(~uint64_t{0} - kUnit, {4, 2, 2 * kMiB}).ok());
}

TEST(Allocator, ReplayClaimsEveryFileWithAnInBoundsMap) {
    const auto sb = sb_of(8 * kGiB);
    State st(sb);
    Replay r;
    r.entries = {{0, omf::MkdirEntry{0, 0, 0755, "d"}},
                 {1, simple_file("d/a", 0xa00000, kUnit)},
                 {2, simple_file("b", 0x2000000, 3 * kUnit)},
                 // A refused path still claims its space: it may hold data.
                 {3, simple_file("/refused", 0x4000000, kUnit)},
                 // A map out of bounds claims nothing.
                 {4, simple_file("outside", 8 * kGiB, kUnit)}};
    r.next_index = 5;
    apply_replay(st, r);
    EXPECT_EQ(st.ns.problems().size(), 2u);
    EXPECT_EQ(st.alloc.used_bytes(), 10 * kMiB + 5 * kUnit);
    EXPECT_TRUE(st.alloc.in_use(5));
    EXPECT_FALSE(st.alloc.in_use(6));
    EXPECT_TRUE(st.alloc.in_use(0x2000000 / kUnit + 2));
    EXPECT_TRUE(st.alloc.in_use(0x4000000 / kUnit));
    EXPECT_TRUE(st.alloc.collisions().empty());
}

TEST(Allocator, BucketStats) {
    Allocator a(sb_of(8 * kGiB));
    a.claim(simple_file("x", 3 * kGiB, 4 * kUnit), 0);
    const auto b = a.bucket_stats(4);
    ASSERT_EQ(b.size(), 4u);
    for (const auto& s : b) {
        EXPECT_EQ(s.size, 2 * kGiB);
        EXPECT_EQ(s.used + s.free, s.size);
    }
    EXPECT_EQ(b[0].used, 10 * kMiB);
    EXPECT_EQ(b[0].fragments, 1u);
    EXPECT_EQ(b[0].largest, 2 * kGiB - 10 * kMiB);
    EXPECT_EQ(b[1].used, 4 * kUnit);
    EXPECT_EQ(b[1].fragments, 2u);
    EXPECT_EQ(b[1].largest, 1 * kGiB);
    EXPECT_EQ(b[1].smallest, 1 * kGiB - 4 * kUnit);
    EXPECT_EQ(b[2].used, 0u);
    EXPECT_TRUE(a.bucket_stats(0).empty());
}

}  // namespace
}  // namespace famfs
