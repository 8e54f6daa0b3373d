// The on-media codec against docs/format.md: every field at its documented
// offset, round trips, CRC coverage and relpath limits.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <vector>

#include "famfs/namespace.h"
#include "famfs/omf.h"
#include "famfs_test_support.h"

namespace famfs {
namespace {

using test::peek;
using test::poke;

uint64_t zlib_crc(std::span<const uint8_t> b) {
    return ::crc32(::crc32(0, nullptr, 0), b.data(), static_cast<uInt>(b.size()));
}

omf::Superblock sample_superblock() {
    omf::Superblock sb;
    sb.log_len = 16 * omf::kMiB;
    for (uint8_t i = 0; i < 16; ++i) {
        sb.fs_uuid[i] = i;
        sb.dev_uuid[i] = static_cast<uint8_t>(0x10 + i);
        sb.system_uuid[i] = static_cast<uint8_t>(0x20 + i);
        sb.daxdev_uuid[i] = static_cast<uint8_t>(0x30 + i);
    }
    sb.flags = 0x5a5a;
    sb.dev_size = 8 * omf::kGiB;
    sb.dev_name = "/dev/dax0.0";
    return sb;
}

TEST(Superblock, EveryFieldAtItsOffset) {
    std::vector<uint8_t> b(omf::kSuperblockBytes, 0xee);
    omf::encode_superblock(sample_superblock(), b);
    EXPECT_EQ(peek<uint64_t>(b, 0), 0x87b282ffu);
    EXPECT_EQ(peek<uint64_t>(b, 8), 48u);
    EXPECT_EQ(peek<uint64_t>(b, 16), 0x200000u);
    EXPECT_EQ(peek<uint64_t>(b, 24), 16 * omf::kMiB);
    EXPECT_EQ(peek<uint64_t>(b, 32), 0x200000u);
    EXPECT_EQ(peek<uint32_t>(b, 40), 2u);
    EXPECT_EQ(peek<uint32_t>(b, 44), 2u);
    for (size_t i = 0; i < 16; ++i) {
        EXPECT_EQ(b[48 + i], i);
        EXPECT_EQ(b[64 + i], 0x10 + i);
        EXPECT_EQ(b[80 + i], 0x20 + i);
        EXPECT_EQ(b[120 + i], 0x30 + i);
    }
    EXPECT_EQ(peek<uint64_t>(b, 96), zlib_crc(std::span(b).first(96)));
    EXPECT_EQ(peek<uint32_t>(b, 104), 0x5a5au);
    EXPECT_EQ(peek<uint32_t>(b, 108), 0u);
    EXPECT_EQ(peek<uint64_t>(b, 112), 8 * omf::kGiB);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(&b[136])), "/dev/dax0.0");
    for (size_t i = 136 + 11; i < 200; ++i) EXPECT_EQ(b[i], 0) << "daxdev.name padding at " << i;
}

TEST(Superblock, RoundTrip) {
    std::vector<uint8_t> b(omf::kSuperblockBytes);
    const auto sb = sample_superblock();
    omf::encode_superblock(sb, b);
    const auto back = omf::decode_superblock(b);
    EXPECT_EQ(back.magic, sb.magic);
    EXPECT_EQ(back.version, sb.version);
    EXPECT_EQ(back.log_offset, sb.log_offset);
    EXPECT_EQ(back.log_len, sb.log_len);
    EXPECT_EQ(back.alloc_unit, sb.alloc_unit);
    EXPECT_EQ(back.omf_major, sb.omf_major);
    EXPECT_EQ(back.omf_minor, sb.omf_minor);
    EXPECT_EQ(back.fs_uuid, sb.fs_uuid);
    EXPECT_EQ(back.dev_uuid, sb.dev_uuid);
    EXPECT_EQ(back.system_uuid, sb.system_uuid);
    EXPECT_EQ(back.crc, zlib_crc(std::span(b).first(96)));
    EXPECT_EQ(back.flags, sb.flags);
    EXPECT_EQ(back.dev_size, sb.dev_size);
    EXPECT_EQ(back.daxdev_uuid, sb.daxdev_uuid);
    EXPECT_EQ(back.dev_name, sb.dev_name);
    std::vector<uint8_t> again(omf::kSuperblockBytes);
    omf::encode_superblock(back, again);
    EXPECT_EQ(again, b);
}

TEST(Superblock, EncodeLeavesBytesPast200Alone) {
    std::vector<uint8_t> b(400, 0xab);
    omf::encode_superblock(sample_superblock(), b);
    for (size_t i = 200; i < b.size(); ++i) ASSERT_EQ(b[i], 0xab) << i;
}

TEST(Superblock, LongDeviceNameIsCutAndTerminated) {
    auto sb = sample_superblock();
    sb.dev_name = std::string(100, 'x');
    std::vector<uint8_t> b(omf::kSuperblockBytes);
    omf::encode_superblock(sb, b);
    EXPECT_EQ(b[199], 0);
    EXPECT_EQ(omf::decode_superblock(b).dev_name, std::string(63, 'x'));
}

TEST(Superblock, CrcCoversFirst96BytesOnly) {
    std::vector<uint8_t> b(omf::kSuperblockBytes);
    omf::encode_superblock(sample_superblock(), b);
    ASSERT_TRUE(omf::validate_superblock(b).ok());
    // Flags, size, daxdev uuid and name are outside the CRC.
    for (size_t off : {104, 112, 120, 136, 199}) {
        auto copy = b;
        copy[off] ^= 0x01;
        EXPECT_TRUE(omf::validate_superblock(copy).ok()) << off;
    }
    for (size_t off : {48, 64, 80, 95}) {
        auto copy = b;
        copy[off] ^= 0x01;
        EXPECT_FALSE(omf::validate_superblock(copy).ok()) << off;
    }
    EXPECT_EQ(omf::superblock_crc(b), zlib_crc(std::span(b).first(96)));
}

// Re-seals bytes [0, 96) after a deliberate change.
void reseal(std::vector<uint8_t>& b) {
    poke<uint64_t>(b, 96, zlib_crc(std::span(b).first(96)));
}

TEST(Superblock, ValidationOrder) {
    std::vector<uint8_t> good(omf::kSuperblockBytes);
    omf::encode_superblock(sample_superblock(), good);

    auto no_magic = good;
    poke<uint64_t>(no_magic, 0, 0);  // what mkfs -f -k does
    poke<uint64_t>(no_magic, 8, 3);  // a wrong version must not be reported first
    auto st = omf::validate_superblock(no_magic);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("superblock"), std::string::npos) << st.error().message;

    auto wrong_version = good;
    poke<uint64_t>(wrong_version, 8, 50);  // 49 marks deletes (docs/delete.md)
    reseal(wrong_version);
    st = omf::validate_superblock(wrong_version);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("version"), std::string::npos) << st.error().message;

    auto old_version = good;
    poke<uint64_t>(old_version, 8, 47);
    reseal(old_version);
    EXPECT_TRUE(omf::validate_superblock(old_version).ok());

    auto bad_crc = good;
    bad_crc[50] ^= 0xff;
    st = omf::validate_superblock(bad_crc);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("CRC"), std::string::npos) << st.error().message;

    auto small_unit = good;
    poke<uint64_t>(small_unit, 32, 0x1000);
    reseal(small_unit);
    EXPECT_TRUE(omf::validate_superblock(small_unit).ok());

    auto bad_unit = good;
    poke<uint64_t>(bad_unit, 32, 0x10000);
    reseal(bad_unit);
    EXPECT_FALSE(omf::validate_superblock(bad_unit).ok());
}

TEST(LogHeader, FieldsAndCapacity) {
    EXPECT_EQ(omf::log_capacity(8 * omf::kMiB), 15420u);
    EXPECT_EQ(omf::log_capacity(16 * omf::kMiB), 30840u);
    const auto h = omf::make_log_header(8 * omf::kMiB);
    std::vector<uint8_t> b(48, 0xee);
    omf::encode_log_header(h, b);
    EXPECT_EQ(peek<uint64_t>(b, 0), 0x00000badcafef00dULL);
    EXPECT_EQ(peek<uint64_t>(b, 8), 8 * omf::kMiB);
    EXPECT_EQ(peek<uint64_t>(b, 16), 15419u);
    EXPECT_EQ(peek<uint64_t>(b, 24), zlib_crc(std::span(b).first(24)));
    EXPECT_EQ(peek<uint64_t>(b, 32), 0u);
    EXPECT_EQ(peek<uint64_t>(b, 40), 0u);
    EXPECT_TRUE(omf::validate_log_header(b, 8 * omf::kMiB).ok());
    EXPECT_FALSE(omf::validate_log_header(b, 16 * omf::kMiB).ok());
}

TEST(LogHeader, CountersAreOutsideTheCrc) {
    std::vector<uint8_t> b(48);
    omf::encode_log_header(omf::make_log_header(8 * omf::kMiB), b);
    poke<uint64_t>(b, 32, 7);
    poke<uint64_t>(b, 40, 7);
    EXPECT_TRUE(omf::validate_log_header(b, 8 * omf::kMiB).ok());
    const auto h = omf::decode_log_header(b);
    EXPECT_EQ(h.next_seqnum, 7u);
    EXPECT_EQ(h.next_index, 7u);
    for (size_t off : {0, 8, 16, 23}) {
        auto copy = b;
        copy[off] ^= 0x04;
        EXPECT_FALSE(omf::validate_log_header(copy, 8 * omf::kMiB).ok()) << off;
    }
    // A full log has next_index == last_index + 1; anything past it is corrupt.
    poke<uint64_t>(b, 40, 15420);
    EXPECT_TRUE(omf::validate_log_header(b, 8 * omf::kMiB).ok());
    poke<uint64_t>(b, 40, 15421);
    EXPECT_FALSE(omf::validate_log_header(b, 8 * omf::kMiB).ok());
}

omf::FileEntry sample_file() {
    omf::FileEntry f;
    f.size = 3000001;
    f.flags = 2;
    f.uid = 1001;
    f.gid = 1002;
    f.mode = 0640;
    f.relpath = "a/b/odd";
    f.extents = {{0, 0x8400000, 0x200000}, {0, 0xa000000, 0x200000}};
    return f;
}

omf::FileEntry sample_striped() {
    omf::FileEntry f;
    f.size = 64 * omf::kMiB;
    f.relpath = "a/striped";
    f.ext_type = omf::ExtentType::kInterleaved;
    f.interleave.nstrips = 4;
    f.interleave.chunk_size = 2 * omf::kMiB;
    for (uint64_t i = 0; i < 4; ++i)
        f.interleave.strips.push_back({0, (i + 1) * omf::kGiB, 16 * omf::kMiB});
    return f;
}

std::vector<uint8_t> encoded(const omf::LogEntry& e) {
    std::vector<uint8_t> b(omf::kEntryBytes, 0xcc);  // garbage that must not survive
    auto st = omf::encode_entry(e, b);
    EXPECT_TRUE(st.ok()) << st.error().message;
    return b;
}

TEST(Entry, SimpleFileFieldsAtTheirOffsets) {
    const auto b = encoded({9, sample_file()});
    EXPECT_EQ(peek<uint64_t>(b, 0), 9u);
    EXPECT_EQ(peek<uint32_t>(b, 8), 0u);
    EXPECT_EQ(peek<uint32_t>(b, 12), 0u);
    EXPECT_EQ(peek<uint64_t>(b, 16), 3000001u);
    EXPECT_EQ(peek<uint32_t>(b, 24), 2u);
    EXPECT_EQ(peek<uint32_t>(b, 28), 1001u);
    EXPECT_EQ(peek<uint32_t>(b, 32), 1002u);
    EXPECT_EQ(peek<uint32_t>(b, 36), 0640u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(&b[40])), "a/b/odd");
    EXPECT_EQ(peek<uint32_t>(b, 120), 0u);
    EXPECT_EQ(peek<uint32_t>(b, 124), 0u);
    EXPECT_EQ(peek<uint32_t>(b, 128), 2u);
    EXPECT_EQ(peek<uint32_t>(b, 132), 0u);
    EXPECT_EQ(peek<uint64_t>(b, 136), 0u);
    EXPECT_EQ(peek<uint64_t>(b, 144), 0x8400000u);
    EXPECT_EQ(peek<uint64_t>(b, 152), 0x200000u);
    EXPECT_EQ(peek<uint64_t>(b, 160), 0u);
    EXPECT_EQ(peek<uint64_t>(b, 168), 0xa000000u);
    EXPECT_EQ(peek<uint64_t>(b, 176), 0x200000u);
    for (size_t i = 40 + 7; i < 120; ++i) EXPECT_EQ(b[i], 0) << "relpath padding " << i;
    for (size_t i = 184; i < 536; ++i) EXPECT_EQ(b[i], 0) << "unused extent space " << i;
    EXPECT_EQ(peek<uint64_t>(b, 536), zlib_crc(std::span(b).first(536)));
}

TEST(Entry, InterleavedFileFieldsAtTheirOffsets) {
    const auto b = encoded({3, sample_striped()});
    EXPECT_EQ(peek<uint32_t>(b, 120), 1u);
    EXPECT_EQ(peek<uint32_t>(b, 128), 1u);  // niext is always 1
    EXPECT_EQ(peek<uint64_t>(b, 136), 4u);
    EXPECT_EQ(peek<uint64_t>(b, 144), 2 * omf::kMiB);
    for (uint64_t i = 0; i < 4; ++i) {
        EXPECT_EQ(peek<uint64_t>(b, 152 + 24 * i), 0u);
        EXPECT_EQ(peek<uint64_t>(b, 160 + 24 * i), (i + 1) * omf::kGiB);
        EXPECT_EQ(peek<uint64_t>(b, 168 + 24 * i), 16 * omf::kMiB);
    }
    for (size_t i = 152 + 4 * 24; i < 536; ++i) EXPECT_EQ(b[i], 0) << i;
    EXPECT_EQ(peek<uint64_t>(b, 536), zlib_crc(std::span(b).first(536)));
}

TEST(Entry, MkdirFieldsAtTheirOffsets) {
    omf::MkdirEntry d{7, 8, 0750, "a/b"};
    const auto b = encoded({1, d});
    EXPECT_EQ(peek<uint64_t>(b, 0), 1u);
    EXPECT_EQ(peek<uint32_t>(b, 8), 1u);
    EXPECT_EQ(peek<uint32_t>(b, 16), 7u);
    EXPECT_EQ(peek<uint32_t>(b, 20), 8u);
    EXPECT_EQ(peek<uint32_t>(b, 24), 0750u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(&b[28])), "a/b");
    for (size_t i = 28 + 3; i < 536; ++i) EXPECT_EQ(b[i], 0) << i;
    EXPECT_EQ(peek<uint64_t>(b, 536), zlib_crc(std::span(b).first(536)));
}

TEST(Entry, AddDaxdevFieldsAtTheirOffsets) {
    omf::DaxdevEntry d;
    d.size = 4 * omf::kGiB;
    d.uuid.fill(0x77);
    d.index = 1;
    const auto b = encoded({2, d});
    EXPECT_EQ(peek<uint32_t>(b, 8), 3u);
    EXPECT_EQ(peek<uint64_t>(b, 16), 4 * omf::kGiB);
    for (size_t i = 24; i < 40; ++i) EXPECT_EQ(b[i], 0x77);
    EXPECT_EQ(peek<uint32_t>(b, 40), 1u);
    for (size_t i = 44; i < 536; ++i) EXPECT_EQ(b[i], 0) << i;
}

TEST(Entry, RoundTripEveryType) {
    omf::DaxdevEntry dax;
    dax.size = omf::kGiB;
    dax.uuid = omf::random_uuid();
    dax.index = 2;
    const std::vector<omf::LogEntry> entries = {{0, sample_file()},
                                                {1, sample_striped()},
                                                {2, omf::MkdirEntry{1, 2, 0700, "x/y/z"}},
                                                {3, dax}};
    for (uint64_t i = 0; i < entries.size(); ++i) {
        const auto b = encoded(entries[i]);
        auto back = omf::decode_entry(b, i);
        ASSERT_TRUE(back.ok()) << back.error().message;
        EXPECT_EQ(*back, entries[i]) << "entry " << i;
    }
}

TEST(Entry, ReservedTypesDecodeAsOther) {
    for (uint32_t type : {4u, 5u}) {  // 2 is DELETE (host_table_test.cc)
        std::vector<uint8_t> b(omf::kEntryBytes, 0);
        poke<uint64_t>(b, 0, 5);
        poke<uint32_t>(b, 8, type);
        poke<uint64_t>(b, 536, zlib_crc(std::span(b).first(536)));
        auto e = omf::decode_entry(b, 5);
        ASSERT_TRUE(e.ok()) << e.error().message;
        ASSERT_TRUE(std::holds_alternative<omf::OtherEntry>(e->payload));
        EXPECT_EQ(std::get<omf::OtherEntry>(e->payload).type, type);
    }
}

TEST(Entry, SeqnumMustEqualIndex) {
    const auto b = encoded({4, sample_file()});
    EXPECT_TRUE(omf::decode_entry(b, 4).ok());
    EXPECT_FALSE(omf::decode_entry(b, 5).ok());
}

TEST(Entry, CrcCoversPaddingAndUnusedUnionSpace) {
    const auto b = encoded({0, omf::MkdirEntry{0, 0, 0755, "d"}});
    ASSERT_TRUE(omf::decode_entry(b, 0).ok());
    // Type padding, relpath tail, the unused rest of the union, the last byte.
    for (size_t off : {12, 15, 100, 300, 535}) {
        auto copy = b;
        copy[off] = 1;
        EXPECT_FALSE(omf::decode_entry(copy, 0).ok()) << "flip at " << off;
    }
    auto bad_crc = b;
    bad_crc[540] ^= 1;
    EXPECT_FALSE(omf::decode_entry(bad_crc, 0).ok());
}

TEST(Entry, RelpathLimits) {
    auto f = sample_file();
    f.relpath = std::string(79, 'p');
    const auto b = encoded({0, f});
    EXPECT_EQ(b[40 + 79], 0);
    auto back = omf::decode_entry(b, 0);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(std::get<omf::FileEntry>(back->payload).relpath, f.relpath);

    for (bool dir : {false, true}) {
        std::vector<uint8_t> out(omf::kEntryBytes, 0xcc);
        omf::LogEntry e{0, f};
        if (dir)
            e.payload = omf::MkdirEntry{0, 0, 0755, std::string(80, 'd')};
        else
            std::get<omf::FileEntry>(e.payload).relpath = std::string(80, 'p');
        auto st = omf::encode_entry(e, out);
        ASSERT_FALSE(st.ok());
        EXPECT_EQ(st.error().code, ENAMETOOLONG) << st.error().message;
        for (uint8_t c : out) ASSERT_EQ(c, 0xcc) << "a refused entry must write nothing";
    }
}

TEST(Entry, TooManyExtentsOrStripsRefused) {
    auto f = sample_file();
    f.extents.assign(17, {0, 0x20000000, 0x200000});
    std::vector<uint8_t> out(omf::kEntryBytes, 0xcc);
    EXPECT_FALSE(omf::encode_entry({0, f}, out).ok());
    for (uint8_t c : out) ASSERT_EQ(c, 0xcc);
    f.extents.resize(16);
    EXPECT_TRUE(omf::encode_entry({0, f}, out).ok());

    auto s = sample_striped();
    s.interleave.nstrips = 17;
    s.interleave.strips.assign(17, {0, omf::kGiB, 16 * omf::kMiB});
    EXPECT_FALSE(omf::encode_entry({0, s}, out).ok());
}

// Re-seals an entry after a deliberate change, so only the change is wrong.
void reseal_entry(std::vector<uint8_t>& b) {
    poke<uint64_t>(b, 536, zlib_crc(std::span(b).first(536)));
}

TEST(Entry, DecodeRefusesImpossibleMaps) {
    const auto simple = encoded({0, sample_file()});
    const auto inter = encoded({0, sample_striped()});
    struct Case {
        const std::vector<uint8_t>* base;
        size_t off;
        uint64_t value;
        int width;
        const char* what;
    };
    const Case cases[] = {{&simple, 128, 0, 4, "no extents"},
                          {&simple, 128, 17, 4, "17 extents"},
                          {&simple, 120, 2, 4, "unknown extent type"},
                          {&inter, 128, 2, 4, "two interleaved extents"},
                          {&inter, 136, 0, 8, "no strips"},
                          {&inter, 136, 17, 8, "17 strips"},
                          {&inter, 136, 1ULL << 40, 8, "absurd strip count"}};
    for (const auto& c : cases) {
        auto b = *c.base;
        if (c.width == 4)
            poke<uint32_t>(b, c.off, static_cast<uint32_t>(c.value));
        else
            poke<uint64_t>(b, c.off, c.value);
        reseal_entry(b);
        EXPECT_FALSE(omf::decode_entry(b, 0).ok()) << c.what;
    }
}

TEST(Entry, UnterminatedRelpathDecodesToAPathThatReplayRefuses) {
    auto b = encoded({0, omf::MkdirEntry{0, 0, 0755, "d"}});
    std::fill(b.begin() + 28, b.begin() + 28 + 80, 'x');
    reseal_entry(b);
    auto e = omf::decode_entry(b, 0);
    ASSERT_TRUE(e.ok());
    const std::string& path = std::get<omf::MkdirEntry>(e->payload).relpath;
    EXPECT_LE(path.size(), 80u) << "read past the relpath field";
    EXPECT_FALSE(validate_relpath(path).ok());
}

TEST(Uuid, TextRoundTrip) {
    const std::string text = "ae40d710-0e60-453b-91af-c334836f124e";
    auto u = omf::uuid_from_string(text);
    ASSERT_TRUE(u.ok());
    EXPECT_EQ((*u)[0], 0xae);
    EXPECT_EQ((*u)[15], 0x4e);
    EXPECT_EQ(omf::uuid_to_string(*u), text);
    EXPECT_FALSE(omf::uuid_from_string("not-a-uuid").ok());
    EXPECT_NE(omf::random_uuid(), omf::random_uuid());
}

TEST(Crc, IsPlainZlibCrc32) {
    const std::vector<uint8_t> b = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
    EXPECT_EQ(omf::crc32(b), 0xcbf43926u);  // the IEEE check value
}

// Lengths on both sides of the folding threshold, every tail length, and
// every alignment of the start: the folded and table paths must agree with
// zlib to the bit.
TEST(Crc, AgreesWithZlibForEveryLengthAndAlignment) {
    std::vector<uint8_t> data(1200);
    uint32_t x = 12345;
    for (auto& byte : data) byte = static_cast<uint8_t>((x = x * 1103515245u + 12345u) >> 16);
    for (size_t start = 0; start < 16; ++start)
        for (size_t len = 0; start + len <= data.size(); ++len) {
            std::span<const uint8_t> b(data.data() + start, len);
            ASSERT_EQ(omf::crc32(b), zlib_crc(b)) << "start " << start << " length " << len;
        }
}

}  // namespace
}  // namespace famfs
