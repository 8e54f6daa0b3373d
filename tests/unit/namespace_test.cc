// The namespace built by replay against docs/format.md's refusal rules: bad
// paths, bad maps, missing parents and duplicates are reported, never
// instantiated; valid entries become nodes with stable inode numbers.
#include <gtest/gtest.h>

#include "famfs/log.h"
#include "famfs/namespace.h"
#include "famfs_test_support.h"

namespace famfs {
namespace {

using test::kGiB;
using test::kMiB;

constexpr uint64_t kUnit = 2 * kMiB;
constexpr uint64_t kData = 10 * kMiB;  // first byte after superblock + 8 MiB log

omf::Superblock sb8g() {
    return test::make_superblock(8 * kGiB, 8 * kMiB, omf::Uuid{});
}

omf::LogEntry file_at(const std::string& path, uint64_t offset, uint64_t len, uint64_t size = 0) {
    return test::file_entry(path, size ? size : len, {{0, offset, len}});
}

TEST(RelpathRules, AcceptsOrdinaryRelativePaths) {
    for (const char* ok :
         {"a", "a/b/c", "file.txt", "..a", "a..", ".hidden", "a/.b", "with space", "~tilde"})
        EXPECT_TRUE(validate_relpath(ok).ok()) << ok;
    EXPECT_TRUE(validate_relpath(std::string(79, 'x')).ok());
}

TEST(RelpathRules, RefusesWhatReplayMustNotInstantiate) {
    const std::string bad[] = {"",
                               "/abs",
                               "..",
                               "a/..",
                               "../a",
                               "a/../b",
                               ".",
                               "./a",
                               "a/.",
                               "a//b",
                               "a/",
                               "/",
                               "a\x01",
                               "a\tb",
                               "a\x7f",
                               "caf\xc3\xa9",
                               std::string(80, 'x')};
    for (const auto& p : bad) {
        auto st = validate_relpath(p);
        EXPECT_FALSE(st.ok()) << "'" << p << "'";
        if (!st.ok()) {
            EXPECT_FALSE(st.error().message.empty());
        }
    }
    EXPECT_EQ(validate_relpath(std::string(80, 'x')).error().code, ENAMETOOLONG);
}

TEST(Namespace, BuildsTheTreeWithStableInodes) {
    Namespace ns(sb8g());
    ASSERT_TRUE(ns.apply(test::dir_entry("a"), 0).ok());
    ASSERT_TRUE(ns.apply(test::dir_entry("a/b"), 1).ok());
    ASSERT_TRUE(ns.apply(file_at("a/b/f", kData, kUnit, 4096), 2).ok());
    ASSERT_TRUE(ns.apply(file_at("top", kData + kUnit, kUnit), 3).ok());
    EXPECT_EQ(ns.files(), 2u);
    EXPECT_EQ(ns.dirs(), 2u);
    EXPECT_EQ(ns.applied(), 4u);
    EXPECT_TRUE(ns.problems().empty());
    EXPECT_EQ(ns.root().ino, 1u);
    const Node* f = ns.lookup("a/b/f");
    ASSERT_NE(f, nullptr);
    EXPECT_FALSE(f->is_dir);
    EXPECT_EQ(f->ino, 4u);  // log index + 2
    EXPECT_EQ(f->log_index, 2u);
    EXPECT_EQ(f->size(), 4096u);
    EXPECT_EQ(f->relpath(), "a/b/f");
    EXPECT_EQ(f->mode, 0644u);
    EXPECT_EQ(ns.find_ino(4), f);
    EXPECT_EQ(ns.find_ino(1), &ns.root());
    EXPECT_EQ(ns.find_ino(99), nullptr);
    const Node* b = ns.lookup("a/b");
    ASSERT_NE(b, nullptr);
    EXPECT_TRUE(b->is_dir);
    EXPECT_EQ(b->mode, 0755u);
    EXPECT_EQ(ns.lookup(""), &ns.root());
    EXPECT_EQ(ns.lookup("a/x"), nullptr);
    std::vector<std::string> order;
    ns.for_each([&](const Node& n) { order.push_back(n.relpath()); });
    EXPECT_EQ(order, (std::vector<std::string>{"", "a", "a/b", "a/b/f", "top"}));
}

// Applies a bad entry after a valid directory and checks that it is reported
// and that nothing changed.
void expect_refused(const omf::LogEntry& e, const std::string& why) {
    Namespace ns(sb8g());
    ASSERT_TRUE(ns.apply(test::dir_entry("d"), 0).ok());
    ASSERT_TRUE(ns.apply(file_at("d/f", kData, kUnit), 1).ok());
    auto st = ns.apply(e, 2);
    EXPECT_FALSE(st.ok()) << why;
    ASSERT_EQ(ns.problems().size(), 1u) << why;
    EXPECT_EQ(ns.problems()[0].index, 2u) << why;
    EXPECT_FALSE(ns.problems()[0].reason.empty()) << why;
    EXPECT_EQ(ns.files(), 1u) << why;
    EXPECT_EQ(ns.dirs(), 1u) << why;
    EXPECT_EQ(ns.find_ino(4), nullptr) << why;
    EXPECT_EQ(ns.applied(), 3u) << why;
}

TEST(Namespace, RefusesBadPaths) {
    const std::vector<std::string> bad = {"/abs", "d/../x", "./x", "d//x",
                                          "d/",   "x\x02",  "..",  std::string(80, 'y')};
    for (const std::string& p : bad) {
        expect_refused(file_at(p, kData + kUnit, kUnit), "file '" + p + "'");
        expect_refused(test::dir_entry(p), "dir '" + p + "'");
    }
}

TEST(Namespace, RefusesMissingOrNonDirectoryParents) {
    expect_refused(file_at("nodir/x", kData + kUnit, kUnit), "missing parent");
    expect_refused(test::dir_entry("a/b"), "missing parent of a dir");
    expect_refused(file_at("d/f/x", kData + kUnit, kUnit), "parent is a file");
}

TEST(Namespace, RefusesDuplicates) {
    expect_refused(file_at("d/f", kData + kUnit, kUnit), "duplicate file");
    expect_refused(test::dir_entry("d"), "duplicate dir");
    expect_refused(test::dir_entry("d/f"), "dir over a file");
}

TEST(Namespace, RefusesMapsOutsideTheDataArea) {
    expect_refused(file_at("x", 0, kUnit), "offset 0");
    expect_refused(file_at("x", 2 * kMiB, kUnit), "extent inside the log");
    expect_refused(file_at("x", 8 * kMiB, 4 * kMiB), "extent overlapping the end of the log");
    expect_refused(file_at("x", 8 * kGiB, kUnit), "extent starting past the device");
    expect_refused(file_at("x", 8 * kGiB - kUnit, 2 * kUnit), "extent running past the device");
    expect_refused(file_at("x", ~0ULL - kUnit + 1, kUnit), "offset that wraps");
    expect_refused(file_at("x", kData + kUnit, ~0ULL - kUnit + 1), "length that wraps");
    expect_refused(file_at("x", kData + 4096, kUnit), "unaligned offset");
    expect_refused(file_at("x", kData + kUnit, 4096), "unaligned length");
    expect_refused(file_at("x", kData + kUnit, kUnit, kUnit + 1), "extents shorter than size");
    auto dev1 = file_at("x", kData + kUnit, kUnit);
    std::get<omf::FileEntry>(dev1.payload).extents[0].devindex = 1;
    expect_refused(dev1, "device index 1");
}

omf::LogEntry striped(uint64_t size, uint64_t chunk, std::vector<omf::Extent> strips) {
    omf::FileEntry f;
    f.relpath = "s";
    f.size = size;
    f.ext_type = omf::ExtentType::kInterleaved;
    f.interleave.nstrips = strips.size();
    f.interleave.chunk_size = chunk;
    f.interleave.strips = std::move(strips);
    return {0, f};
}

TEST(Namespace, ChecksStripedMaps) {
    const omf::Extent s1{0, 1 * kGiB, 8 * kMiB}, s2{0, 2 * kGiB, 8 * kMiB};
    Namespace ns(sb8g());
    EXPECT_TRUE(ns.apply(striped(16 * kMiB, kUnit, {s1, s2}), 0).ok());
    expect_refused(striped(16 * kMiB + 1, kUnit, {s1, s2}), "strips too short");
    expect_refused(striped(16 * kMiB, 3 * kMiB, {s1, s2}), "unaligned chunk");
    expect_refused(striped(16 * kMiB, 0, {s1, s2}), "no chunk");
    expect_refused(striped(16 * kMiB, kUnit, {s1, {0, 4 * kMiB, 8 * kMiB}}), "strip in the log");
    expect_refused(striped(16 * kMiB, kUnit, {s1, {0, 8 * kGiB, 8 * kMiB}}), "strip past the end");
    auto miscounted = striped(16 * kMiB, kUnit, {s1, s2});
    std::get<omf::FileEntry>(miscounted.payload).interleave.nstrips = 3;
    expect_refused(miscounted, "nstrips differs from the strips");
}

// Issue 16: a chunk size near 2^64 wrapped the chunk count to 0, and the
// entry was admitted with strips that hold none of the file.
TEST(Namespace, StripedGeometryThatOverflowsIsRefused) {
    const omf::Extent s1{0, 1 * kGiB, 8 * kMiB}, s2{0, 2 * kGiB, 8 * kMiB};
    expect_refused(striped(16 * kMiB, uint64_t{1} << 63, {s1, s2}), "chunk 2^63");
    expect_refused(striped(16 * kMiB, ~uint64_t{0} - kUnit + 1, {s1, s2}), "chunk 2^64 - 2 MiB");
    expect_refused(striped(1, uint64_t{1} << 63, {s1, s2}), "nstrips x chunk overflows");
    expect_refused(striped(~uint64_t{0}, kUnit, {s1, s2}), "size 2^64 - 1");
    expect_refused(striped(~uint64_t{0}, ~uint64_t{0} - kUnit + 1, {s1}), "one huge chunk");
    expect_refused(striped(16 * kMiB, kUnit, {s1, {0, 2 * kGiB, ~uint64_t{0} - kUnit + 1}}),
                   "a strip whose length wraps");
    expect_refused(striped(16 * kMiB, kUnit, {s1, {0, 8 * kGiB - kUnit, 8 * kMiB}}),
                   "a strip (bucket) beyond the device");
}

TEST(Namespace, SimpleExtentsWhoseLengthsOverflowTheSumAreChecked) {
    auto f = file_at("x", kData, 8 * kGiB - kData);
    auto& x = std::get<omf::FileEntry>(f.payload);
    x.extents.assign(omf::kMaxExtents, x.extents[0]);
    x.size = ~uint64_t{0};
    expect_refused(f, "16 extents cannot hold 2^64 - 1 bytes");
}

TEST(Namespace, IgnoresEntriesThatAreNotNamespaceEntries) {
    Namespace ns(sb8g());
    EXPECT_TRUE(ns.apply({0, omf::DaxdevEntry{}}, 0).ok());
    EXPECT_TRUE(ns.apply({1, omf::OtherEntry{2}}, 1).ok());
    EXPECT_TRUE(ns.problems().empty());
    EXPECT_EQ(ns.files() + ns.dirs(), 0u);
    EXPECT_EQ(ns.applied(), 2u);
}

TEST(NamespaceReplay, BadEntriesInALogAreReportedAndSkipped) {
    auto vol = test::memory_volume(1 * kGiB);
    LogView& log = vol->log();
    // Written straight into the log, as a foreign or broken writer could.
    ASSERT_TRUE(log.append(test::dir_entry("d")).ok());
    ASSERT_TRUE(log.append(file_at("d/../evil", kData, kUnit)).ok());
    ASSERT_TRUE(log.append(file_at("log-overlap", 4 * kMiB, kUnit)).ok());
    ASSERT_TRUE(log.append(file_at("missing/parent", kData, kUnit)).ok());
    ASSERT_TRUE(log.append(file_at("d/ok", kData, kUnit)).ok());
    ASSERT_TRUE(log.append(file_at("d/ok", kData + kUnit, kUnit)).ok());
    auto st = vol->load();
    ASSERT_TRUE(st.ok()) << st.error().message;
    EXPECT_FALSE(st->invalid_index.has_value());
    EXPECT_EQ(st->ns.dirs(), 1u);
    EXPECT_EQ(st->ns.files(), 1u);
    ASSERT_EQ(st->ns.problems().size(), 4u);
    EXPECT_EQ(st->ns.problems()[0].index, 1u);
    EXPECT_EQ(st->ns.problems()[0].relpath, "d/../evil");
    EXPECT_EQ(st->ns.problems()[1].index, 2u);
    EXPECT_EQ(st->ns.problems()[2].index, 3u);
    EXPECT_EQ(st->ns.problems()[3].index, 5u);
    const Node* ok = st->ns.lookup("d/ok");
    ASSERT_NE(ok, nullptr);
    EXPECT_EQ(ok->log_index, 4u);
    EXPECT_EQ(st->ns.lookup("evil"), nullptr);
    EXPECT_EQ(st->ns.lookup("log-overlap"), nullptr);
}

}  // namespace
}  // namespace famfs

namespace famfs {
namespace {

// Readers accept images made with a 4 KiB allocation unit (docs/format.md).
TEST(SmallAllocUnit, ReplaysFourKiBExtents) {
    auto dev = testing::FaultyDevice::create(64 * test::kMiB);
    ASSERT_TRUE(dev.ok());
    ASSERT_TRUE(format_log(**dev, omf::kLogOffset, omf::kMinLogLen).ok());
    auto sb = test::make_superblock(64 * test::kMiB, omf::kMinLogLen, test::host_uuid());
    sb.alloc_unit = omf::kSmallAllocUnit;
    omf::encode_superblock(sb, (*dev)->range(0, omf::kSuperblockBytes));
    auto vol = Volume::open(std::shared_ptr<Device>(std::move(*dev)));
    ASSERT_TRUE(vol.ok()) << vol.error().message;
    const uint64_t data = 10 * test::kMiB;
    ASSERT_TRUE((*vol)->log().append(test::file_entry("small", 4096, {{0, data, 4096}})).ok());
    ASSERT_TRUE(
        (*vol)->log().append(test::file_entry("next", 5000, {{0, data + 4096, 8192}})).ok());
    ASSERT_TRUE((*vol)->log().append(test::file_entry("odd", 1, {{0, data + 100, 4096}})).ok());
    auto st = (*vol)->load();
    ASSERT_TRUE(st.ok());
    EXPECT_NE(st->ns.lookup("small"), nullptr);
    EXPECT_NE(st->ns.lookup("next"), nullptr);
    EXPECT_EQ(st->ns.lookup("odd"), nullptr) << "unaligned to 4 KiB";
    EXPECT_EQ(st->alloc.unit(), 4096u);
    EXPECT_EQ(st->alloc.used_bytes(), data + 3 * 4096);
    EXPECT_TRUE(st->alloc.collisions().empty());
}

}  // namespace
}  // namespace famfs
