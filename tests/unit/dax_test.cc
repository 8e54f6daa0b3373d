// Direct access: the segments of simple, multi-extent and striped files
// follow docs/format.md's mapping, and read/write go to exactly those bytes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include "famfs/dax.h"
#include "famfs/test_pattern.h"
#include "famfs/volume.h"
#include "famfs_test_support.h"

namespace famfs {
namespace {

using test::kGiB;
using test::kMiB;

constexpr uint64_t kUnit = 2 * kMiB;

struct DaxFixture : ::testing::Test {
    std::shared_ptr<testing::FaultyDevice> dev{test::formatted_memory(128 * kMiB)};
    uint8_t* at(uint64_t device_offset) { return dev->base() + device_offset; }
};

omf::FileEntry simple(uint64_t size, std::vector<omf::Extent> extents) {
    omf::FileEntry f;
    f.relpath = "f";
    f.size = size;
    f.extents = std::move(extents);
    return f;
}

omf::FileEntry striped(uint64_t size, uint64_t chunk, std::vector<omf::Extent> strips) {
    omf::FileEntry f;
    f.relpath = "s";
    f.size = size;
    f.ext_type = omf::ExtentType::kInterleaved;
    f.interleave = {strips.size(), chunk, std::move(strips)};
    return f;
}

// docs/format.md: chunk = off / chunk_size; strip = chunk % nstrips; stripe =
// chunk / nstrips; offset = strips[strip].offset + stripe * chunk_size + off % chunk_size.
uint64_t striped_device_offset(const omf::Interleave& il, uint64_t off) {
    const uint64_t chunk = off / il.chunk_size;
    return il.strips[chunk % il.nstrips].offset + (chunk / il.nstrips) * il.chunk_size +
           off % il.chunk_size;
}

TEST_F(DaxFixture, SingleExtentIsOneContiguousSegment) {
    auto m = dax::FileMapping::from_entry(dev, simple(3000001, {{0, 20 * kMiB, 4 * kMiB}}));
    ASSERT_TRUE(m.ok()) << m.error().message;
    ASSERT_EQ(m->segments().size(), 1u);
    EXPECT_EQ(m->segments()[0].file_offset, 0u);
    EXPECT_EQ(m->segments()[0].bytes.data(), at(20 * kMiB));
    EXPECT_EQ(m->segments()[0].bytes.size(), 3000001u);
    EXPECT_EQ(m->contiguous().data(), at(20 * kMiB));
    EXPECT_EQ(m->contiguous().size(), 3000001u);
    EXPECT_FALSE(m->striped());
    EXPECT_EQ(m->nstrips(), 0u);
}

TEST_F(DaxFixture, MultiExtentFileHasOneSegmentPerExtent) {
    const uint64_t size = 5 * kMiB + 123;
    auto m = dax::FileMapping::from_entry(dev, simple(size, {{0, 40 * kMiB, 2 * kMiB},
                                                             {0, 20 * kMiB, 2 * kMiB},
                                                             {0, 60 * kMiB, 2 * kMiB}}));
    ASSERT_TRUE(m.ok()) << m.error().message;
    const auto& s = m->segments();
    ASSERT_EQ(s.size(), 3u);
    EXPECT_EQ(s[0].file_offset, 0u);
    EXPECT_EQ(s[0].bytes.data(), at(40 * kMiB));
    EXPECT_EQ(s[1].file_offset, 2 * kMiB);
    EXPECT_EQ(s[1].bytes.data(), at(20 * kMiB));
    EXPECT_EQ(s[2].file_offset, 4 * kMiB);
    EXPECT_EQ(s[2].bytes.size(), kMiB + 123) << "the last segment ends at the file size";
    EXPECT_TRUE(m->contiguous().empty());
    uint64_t len = 0;
    EXPECT_EQ(m->address(2 * kMiB + 5, &len), at(20 * kMiB + 5));
    EXPECT_EQ(len, 2 * kMiB - 5);
    EXPECT_EQ(m->address(size - 1, &len), at(60 * kMiB + kMiB + 122));
    EXPECT_EQ(len, 1u);
    EXPECT_EQ(m->address(size, &len), nullptr);
    EXPECT_EQ(len, 0u);
}

TEST_F(DaxFixture, AdjacentExtentsAreContiguous) {
    auto m = dax::FileMapping::from_entry(
        dev, simple(4 * kMiB, {{0, 20 * kMiB, 2 * kMiB}, {0, 22 * kMiB, 2 * kMiB}}));
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->contiguous().data(), at(20 * kMiB));
    EXPECT_EQ(m->contiguous().size(), 4 * kMiB);
}

TEST_F(DaxFixture, StripedFileFollowsTheInterleaveMapping) {
    // 3 strips of 2 chunks of 2 MiB; the file ends inside chunk 4 (strip 1).
    const auto f =
        striped(9 * kMiB + 7, kUnit,
                {{0, 80 * kMiB, 4 * kMiB}, {0, 20 * kMiB, 4 * kMiB}, {0, 50 * kMiB, 4 * kMiB}});
    auto m = dax::FileMapping::from_entry(dev, f);
    ASSERT_TRUE(m.ok()) << m.error().message;
    EXPECT_TRUE(m->striped());
    EXPECT_EQ(m->nstrips(), 3u);
    EXPECT_EQ(m->chunk_size(), kUnit);
    EXPECT_EQ(m->strip(1).data(), at(20 * kMiB));
    EXPECT_EQ(m->strip(1).size(), 4 * kMiB);
    EXPECT_TRUE(m->strip(3).empty());
    EXPECT_TRUE(m->contiguous().empty());
    const auto& s = m->segments();
    ASSERT_EQ(s.size(), 5u);
    uint64_t covered = 0;
    for (size_t c = 0; c < s.size(); ++c) {
        EXPECT_EQ(s[c].file_offset, c * kUnit);
        EXPECT_EQ(s[c].bytes.data(), at(striped_device_offset(f.interleave, c * kUnit))) << c;
        covered += s[c].bytes.size();
    }
    EXPECT_EQ(covered, f.size);
    EXPECT_EQ(s[4].bytes.size(), kMiB + 7);
    const uint64_t offsets[] = {0, 1, kUnit - 1, kUnit, 3 * kUnit + 99, 4 * kUnit, f.size - 1};
    for (uint64_t off : offsets) {
        uint64_t len = 0;
        EXPECT_EQ(m->address(off, &len), at(striped_device_offset(f.interleave, off))) << off;
        EXPECT_EQ(len, std::min(kUnit - off % kUnit, f.size - off)) << off;
    }
}

TEST_F(DaxFixture, ReadWriteRoundTripThroughStripes) {
    const auto f = striped(12 * kMiB, kUnit, {{0, 20 * kMiB, 6 * kMiB}, {0, 60 * kMiB, 6 * kMiB}});
    auto m = dax::FileMapping::from_entry(dev, f);
    ASSERT_TRUE(m.ok());
    std::vector<uint8_t> data(f.size);
    fill_pattern(99, data);
    ASSERT_EQ(m->write(0, data), data.size());
    // Every byte landed where the mapping says.
    for (uint64_t off = 0; off < f.size; off += 4099)
        ASSERT_EQ(*at(striped_device_offset(f.interleave, off)), data[off]) << off;
    std::vector<uint8_t> back(f.size);
    ASSERT_EQ(m->read(0, back), back.size());
    EXPECT_EQ(back, data);
    // Unaligned pieces across chunk borders.
    std::vector<uint8_t> piece(3 * kMiB + 5);
    ASSERT_EQ(m->read(kUnit - 3, piece), piece.size());
    EXPECT_TRUE(std::equal(piece.begin(), piece.end(), data.begin() + kUnit - 3));
    std::vector<uint8_t> ones(kMiB, 0xff);
    ASSERT_EQ(m->write(5 * kMiB, ones), ones.size());
    ASSERT_EQ(m->read(5 * kMiB - 1, piece), piece.size());
    EXPECT_EQ(piece[0], data[5 * kMiB - 1]);
    EXPECT_EQ(piece[1], 0xff);
    EXPECT_EQ(piece[kMiB], 0xff);
    EXPECT_EQ(piece[kMiB + 1], data[6 * kMiB]);
}

TEST_F(DaxFixture, ReadsAndWritesAreClampedToTheFile) {
    auto m = dax::FileMapping::from_entry(dev, simple(100, {{0, 20 * kMiB, kUnit}}));
    ASSERT_TRUE(m.ok());
    std::vector<uint8_t> buf(64, 0xab);
    EXPECT_EQ(m->write(80, buf), 20u);
    EXPECT_EQ(*at(20 * kMiB + 100), 0) << "wrote past the end of the file";
    EXPECT_EQ(m->read(90, buf), 10u);
    EXPECT_EQ(m->read(100, buf), 0u);
    EXPECT_EQ(m->read(1000, buf), 0u);
}

TEST_F(DaxFixture, BadMapsAreRefused) {
    EXPECT_FALSE(dax::FileMapping::from_entry(dev, simple(3 * kMiB, {{0, 20 * kMiB, kUnit}})).ok())
        << "extents shorter than the file";
    EXPECT_FALSE(dax::FileMapping::from_entry(dev, simple(kUnit, {{0, 128 * kMiB, kUnit}})).ok())
        << "extent past the device";
    EXPECT_FALSE(
        dax::FileMapping::from_entry(
            dev, striped(9 * kMiB, kUnit, {{0, 20 * kMiB, 4 * kMiB}, {0, 40 * kMiB, 4 * kMiB}}))
            .ok())
        << "strips shorter than the file";
    EXPECT_FALSE(
        dax::FileMapping::from_entry(dev, striped(4 * kMiB, 0, {{0, 20 * kMiB, 4 * kMiB}})).ok());
}

// Without replay's checks in front (the API maps any entry): huge chunk
// sizes must neither wrap the offsets nor pass the length checks.
TEST_F(DaxFixture, OverflowingStripedGeometryIsRefused) {
    const std::vector<omf::Extent> two{{0, 20 * kMiB, 4 * kMiB}, {0, 40 * kMiB, 4 * kMiB}};
    for (uint64_t chunk : {uint64_t{1} << 63, ~uint64_t{0} - kUnit + 1, ~uint64_t{0}}) {
        EXPECT_FALSE(dax::FileMapping::from_entry(dev, striped(16 * kMiB, chunk, two)).ok())
            << chunk;
        EXPECT_FALSE(dax::FileMapping::from_entry(dev, striped(~uint64_t{0}, chunk, two)).ok())
            << chunk;
    }
    auto m = dax::FileMapping::from_entry(dev, striped(8 * kMiB, kUnit, two));
    ASSERT_TRUE(m.ok());
    std::vector<uint8_t> buf(64);
    EXPECT_EQ(m->read(~uint64_t{0} - 8, buf), 0u) << "an offset near 2^64 reads nothing";
    EXPECT_EQ(m->write(8 * kMiB - 8, buf), 8u);
}

TEST(DaxOpen, ByDevicePathAndRelpath) {
    test::ShmFile file(4 * kGiB + 64 * kMiB);
    ASSERT_TRUE(mkfs(file.path(), MkfsOptions{}).ok());
    {
        auto vol = Volume::open(file.path(), Access::kReadWrite);
        ASSERT_TRUE(vol.ok());
        ASSERT_TRUE((*vol)->mkdir("d", 0755, 0, 0, false).ok());
        CreateSpec s;
        s.relpath = "d/f";
        s.size = 5 * kMiB;
        ASSERT_TRUE((*vol)->create_file(s).ok());
    }
    auto w = dax::FileMapping::open(file.path(), "d/f", Access::kReadWrite);
    ASSERT_TRUE(w.ok()) << w.error().message;
    EXPECT_EQ(w->size(), 5 * kMiB);
    std::vector<uint8_t> data(w->size());
    fill_pattern(5, data);
    ASSERT_EQ(w->write(0, data), data.size());

    auto r = dax::FileMapping::open(file.path(), "d/f", Access::kReadOnly);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->mount_fd(), -1) << "no mount of this device here: nothing to hold";
    EXPECT_FALSE(verify_pattern(5, r->contiguous()).has_value());
    std::vector<uint8_t> one(1);
    EXPECT_EQ(r->write(0, one), 0u) << "a read-only mapping takes no writes";

    auto missing = dax::FileMapping::open(file.path(), "d/nope", Access::kReadOnly);
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, ENOENT);
    auto dir = dax::FileMapping::open(file.path(), "d", Access::kReadOnly);
    ASSERT_FALSE(dir.ok());
    EXPECT_EQ(dir.error().code, EISDIR);
    EXPECT_FALSE(dax::FileMapping::open_path("/tmp/definitely/not/famfs", Access::kReadOnly).ok());
}

}  // namespace
}  // namespace famfs

namespace famfs {
namespace {

// A file logged read-only for all hosts takes no writes through the API:
// it cannot be opened for writing, and a mapping of it stores nothing.
TEST(DaxOpen, AFileLoggedReadOnlyRefusesWrites) {
    test::ShmFile file(4 * kGiB + 64 * kMiB);
    ASSERT_TRUE(mkfs(file.path(), MkfsOptions{}).ok());
    omf::FileEntry logged;
    {
        auto vol = Volume::open(file.path(), Access::kReadWrite);
        ASSERT_TRUE(vol.ok());
        CreateSpec s;
        s.relpath = "ro";
        s.size = 3 * kMiB;
        s.flags = omf::kFileFlagsAllRO;
        auto c = (*vol)->create_file(s);
        ASSERT_TRUE(c.ok()) << c.error().message;
        logged = c->file;
        // Its creator fills it through the memory itself.
        auto fill = dax::FileMapping::from_entry((*vol)->shared_device(), c->file);
        ASSERT_TRUE(fill.ok());
        for (const auto& seg : fill->segments()) std::fill(seg.bytes.begin(), seg.bytes.end(), 7);
    }
    EXPECT_EQ(dax::check_writable(logged).error().code, EROFS);
    auto w = dax::FileMapping::open(file.path(), "ro", Access::kReadWrite);
    ASSERT_FALSE(w.ok());
    EXPECT_EQ(w.error().code, EROFS);
    EXPECT_NE(w.error().message.find("'ro': logged read-only for all hosts"), std::string::npos)
        << w.error().message;

    auto r = dax::FileMapping::open(file.path(), "ro", Access::kReadOnly);
    ASSERT_TRUE(r.ok()) << r.error().message;
    std::vector<uint8_t> back(r->size());
    EXPECT_EQ(r->read(0, back), back.size());
    EXPECT_EQ(std::count(back.begin(), back.end(), 7), static_cast<long>(back.size()));

    // Even a mapping of the entry on a read-write device stores nothing.
    auto dev = open_device(file.path(), Access::kReadWrite);
    ASSERT_TRUE(dev.ok());
    auto m = dax::FileMapping::from_entry(std::shared_ptr<Device>(std::move(*dev)), logged);
    ASSERT_TRUE(m.ok());
    std::vector<uint8_t> one(1, 9);
    EXPECT_EQ(m->write(0, one), 0u);
    auto checked = m->write_checked(0, one);
    ASSERT_FALSE(checked.ok());
    EXPECT_EQ(checked.error().code, EROFS);
    EXPECT_EQ(r->read(0, back), back.size());
    EXPECT_EQ(back[0], 7);
}

TEST(DaxOpen, StripedFileCreatedByTheVolume) {
    test::ShmFile file(4 * kGiB + 64 * kMiB);
    ASSERT_TRUE(mkfs(file.path(), MkfsOptions{}).ok());
    {
        auto vol = Volume::open(file.path(), Access::kReadWrite);
        ASSERT_TRUE(vol.ok());
        CreateSpec s;
        s.relpath = "striped";
        s.size = 20 * kMiB + 3;
        s.interleave = {4, 3, 2 * kMiB};
        auto c = (*vol)->create_file(s);
        ASSERT_TRUE(c.ok()) << c.error().message;
        ASSERT_EQ(c->file.ext_type, omf::ExtentType::kInterleaved);
    }
    auto m = dax::FileMapping::open(file.path(), "striped", Access::kReadWrite);
    ASSERT_TRUE(m.ok()) << m.error().message;
    ASSERT_TRUE(m->striped());
    std::vector<uint8_t> data(m->size());
    fill_pattern(11, data);
    ASSERT_EQ(m->write(0, data), data.size());
    auto dev = open_device(file.path(), Access::kReadOnly);
    ASSERT_TRUE(dev.ok());
    for (uint64_t off = 0; off < data.size(); off += 65537)
        ASSERT_EQ((*dev)->base()[striped_device_offset(m->entry().interleave, off)], data[off])
            << off;
    std::vector<uint8_t> back(data.size());
    ASSERT_EQ(m->read(0, back), back.size());
    EXPECT_EQ(back, data);
}

}  // namespace
}  // namespace famfs

namespace famfs {
namespace {

// Poisoned memory under a file: the checked accessors report the file
// offset of the failure and never hand back bytes they could not read.
struct DaxPoison : DaxFixture {
    // A striped file, so the poisoned page is in the middle of the file's
    // second chunk, not at a segment boundary.
    omf::FileEntry file =
        striped(8 * kMiB, kUnit, {{0, 20 * kMiB, 4 * kMiB}, {0, 40 * kMiB, 4 * kMiB}});
    uint64_t poisoned_file_offset = kUnit + 12345;  // chunk 1 lives in strip 1 at 40 MiB
    void SetUp() override {
        uint64_t dev_off = striped_device_offset(file.interleave, poisoned_file_offset);
        ASSERT_EQ(dev_off, 40 * kMiB + 12345);
        ASSERT_TRUE(dev->poison(dev_off, 1).ok());
    }
    uint64_t page_start() const { return poisoned_file_offset / 4096 * 4096; }
};

TEST_F(DaxPoison, ReadCheckedNamesTheFailingFileOffset) {
    auto m = dax::FileMapping::from_entry(dev, file);
    ASSERT_TRUE(m.ok());
    std::vector<uint8_t> out(file.size, 0xaa);
    auto r = m->read_checked(0, out);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, EIO);
    EXPECT_NE(r.error().message.find("file offset " + std::to_string(page_start())),
              std::string::npos)
        << r.error().message;
    EXPECT_NE(r.error().message.find("'s'"), std::string::npos) << "names the file";
}

TEST_F(DaxPoison, ReadCheckedAroundThePoisonSucceeds) {
    auto m = dax::FileMapping::from_entry(dev, file);
    ASSERT_TRUE(m.ok());
    std::vector<uint8_t> out(kUnit);
    auto first_chunk = m->read_checked(0, out);
    ASSERT_TRUE(first_chunk.ok());
    EXPECT_EQ(*first_chunk, kUnit);
    auto third_chunk = m->read_checked(2 * kUnit, out);
    ASSERT_TRUE(third_chunk.ok());
}

TEST_F(DaxPoison, WriteCheckedNamesTheFailingFileOffset) {
    auto m = dax::FileMapping::from_entry(dev, file);
    ASSERT_TRUE(m.ok());
    std::vector<uint8_t> in(3 * kUnit, 1);
    auto r = m->write_checked(0, in);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, EIO);
    EXPECT_NE(r.error().message.find("file offset " + std::to_string(page_start())),
              std::string::npos)
        << r.error().message;
}

}  // namespace
}  // namespace famfs

namespace famfs {
namespace {

// Bulk writers drop the page tables behind them (cp does, a window at a
// time); the bytes must stay, for this mapping and for any other.
TEST(DeviceMapping, DroppedPageTablesKeepTheContents) {
    test::ShmFile file(64 * kMiB);
    auto dev = open_device(file.path(), Access::kReadWrite);
    ASSERT_TRUE(dev.ok()) << dev.error().message;
    std::vector<uint8_t> data(5 * kMiB + 123);
    fill_pattern(7, data);
    uint8_t* at = (*dev)->base() + 3 * kMiB + 17;  // neither end on a page boundary
    std::copy(data.begin(), data.end(), at);
    (*dev)->drop_page_tables(at, data.size());
    EXPECT_TRUE(std::equal(data.begin(), data.end(), at));
    auto other = open_device(file.path(), Access::kReadOnly);
    ASSERT_TRUE(other.ok());
    EXPECT_TRUE(std::equal(data.begin(), data.end(), (*other)->base() + 3 * kMiB + 17));
}

// A file in /dev/shm is memory that only this host maps; a file on a disk
// file system is not (its pages may be written back, or mapped as DAX).
TEST(DeviceMapping, OnlyAFileInRamIsHostLocalMemory) {
    test::ShmFile shm(4 * kMiB);
    auto in_ram = open_device(shm.path(), Access::kReadOnly);
    ASSERT_TRUE(in_ram.ok()) << in_ram.error().message;
    EXPECT_TRUE((*in_ram)->host_local_memory());

    const std::string on_disk = "device-on-disk.img";  // the build tree: a disk file system
    ASSERT_TRUE(create_device_file(on_disk, 4 * kMiB).ok());
    auto disk = open_device(on_disk, Access::kReadOnly);
    ::unlink(on_disk.c_str());
    ASSERT_TRUE(disk.ok()) << disk.error().message;
    EXPECT_FALSE((*disk)->host_local_memory());
}

// Records the cache maintenance that reaches the device.
class CountingDevice final : public Device {
  public:
    explicit CountingDevice(bool host_local) : host_local_(host_local) {}
    uint8_t* base() override { return bytes_.data(); }
    uint64_t size() const override { return bytes_.size(); }
    const std::string& path() const override { return path_; }
    DeviceKind kind() const override { return DeviceKind::kMemory; }
    Access access() const override { return Access::kReadWrite; }
    bool host_local_memory() const override { return host_local_; }
    Status persist(const void*, size_t) override {
        ++persists;
        return {};
    }
    void invalidate(const void*, size_t) override { ++invalidates; }
    int persists = 0, invalidates = 0;

  private:
    bool host_local_;
    std::vector<uint8_t> bytes_ = std::vector<uint8_t>(4096);
    std::string path_ = "counting";
};

TEST(DeviceMapping, DataCacheMaintenanceIsSkippedOnlyOnHostLocalMemory) {
    for (bool host_local : {false, true}) {
        CountingDevice dev(host_local);
        ASSERT_TRUE(dev.persist_data(dev.base(), 64).ok());
        dev.invalidate_data(dev.base(), 64);
        EXPECT_EQ(dev.persists, host_local ? 0 : 1) << host_local;
        EXPECT_EQ(dev.invalidates, host_local ? 0 : 1) << host_local;
    }
}

}  // namespace
}  // namespace famfs
