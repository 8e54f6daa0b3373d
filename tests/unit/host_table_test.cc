// The delete protocol's on-media pieces (docs/delete.md): the DELETE entry,
// the host slot halves (round trips, offsets, torn writes at every byte
// step) and the reclaim rule over a table.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include "famfs/host_table.h"
#include "famfs/omf.h"
#include "famfs_test_support.h"

namespace famfs {
namespace {

using test::peek;

uint64_t zlib_crc(std::span<const uint8_t> b) {
    return ::crc32(::crc32(0, nullptr, 0), b.data(), static_cast<uInt>(b.size()));
}

omf::Uuid uuid_of(uint8_t seed) {
    omf::Uuid u;
    for (size_t i = 0; i < u.size(); ++i) u[i] = static_cast<uint8_t>(seed + i);
    return u;
}

const omf::Uuid kFs = uuid_of(0x40);

omf::HostHalf host_half(uint8_t seed, uint64_t watermark,
                        omf::HostState state = omf::HostState::kActive) {
    omf::HostHalf h;
    h.state = state;
    h.system_uuid = uuid_of(seed);
    h.fs_uuid = kFs;
    h.nonce = 1000 + seed;
    h.watermark = watermark;
    h.heartbeat = 7;
    h.heartbeat_ns = 1'700'000'000'000'000'000ULL;
    h.name = "host-" + std::to_string(seed);
    return h;
}

// A grant with a generation and time of its own, so that the codec tests
// see every field.
omf::MasterHalf grant_for(const omf::HostHalf& h, bool evicted = false) {
    omf::MasterHalf m = test::grant_of(h, evicted);
    m.generation = 3;
    m.time_ns = 42;
    return m;
}

std::vector<uint8_t> encoded(const omf::HostHalf& h) {
    std::vector<uint8_t> b(omf::kHostHalfBytes, 0xee);
    EXPECT_TRUE(omf::encode_host_half(h, b).ok());
    return b;
}

std::vector<uint8_t> encoded(const omf::MasterHalf& m) {
    std::vector<uint8_t> b(omf::kHostHalfBytes, 0xee);
    omf::encode_master_half(m, b);
    return b;
}

// ---- the DELETE entry ----

TEST(DeleteEntry, EveryFieldAtItsOffset) {
    std::vector<uint8_t> b(omf::kEntryBytes, 0xee);
    ASSERT_TRUE(
        omf::encode_entry({9, omf::DeleteEntry{"a/b", 5, omf::DeleteKind::kDirectory}}, b).ok());
    EXPECT_EQ(peek<uint64_t>(b, 0), 9u);
    EXPECT_EQ(peek<uint32_t>(b, 8), 2u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(&b[16])), "a/b");
    for (size_t i = 16 + 3; i < 96; ++i) EXPECT_EQ(b[i], 0) << "relpath padding at " << i;
    EXPECT_EQ(peek<uint64_t>(b, 96), 5u);
    EXPECT_EQ(peek<uint32_t>(b, 104), 1u);
    for (size_t i = 108; i < 536; ++i) EXPECT_EQ(b[i], 0) << "unused payload at " << i;
    EXPECT_EQ(peek<uint64_t>(b, 536), zlib_crc(std::span(b).first(536)));
}

TEST(DeleteEntry, RoundTrips) {
    for (auto kind : {omf::DeleteKind::kFile, omf::DeleteKind::kDirectory}) {
        const omf::LogEntry e{12, omf::DeleteEntry{std::string(79, 'x'), 11, kind}};
        std::vector<uint8_t> b(omf::kEntryBytes);
        ASSERT_TRUE(omf::encode_entry(e, b).ok());
        auto back = omf::decode_entry(b, 12);
        ASSERT_TRUE(back.ok()) << back.error().message;
        EXPECT_EQ(*back, e);
    }
}

TEST(DeleteEntry, RefusesLongPathsAndUnknownKinds) {
    std::vector<uint8_t> b(omf::kEntryBytes, 0xee);
    auto st = omf::encode_entry({0, omf::DeleteEntry{std::string(80, 'x'), 0, {}}}, b);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, ENAMETOOLONG);
    EXPECT_EQ(b[0], 0xee) << "a refused entry writes nothing";

    ASSERT_TRUE(omf::encode_entry({3, omf::DeleteEntry{"f", 1, {}}}, b).ok());
    test::poke<uint32_t>(b, 104, 7);
    test::poke<uint64_t>(b, 536, zlib_crc(std::span(b).first(536)));
    auto e = omf::decode_entry(b, 3);
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.error().message.find("unknown delete kind 7"), std::string::npos)
        << e.error().message;
}

// ---- the superblock mark ----

TEST(DeleteMark, Version49IsReadAndMarksTheFileSystem) {
    omf::Superblock sb;
    sb.fs_uuid = kFs;
    EXPECT_FALSE(omf::deletes_marked(sb));
    const omf::Superblock marked = omf::mark_for_deletes(sb);
    EXPECT_TRUE(omf::deletes_marked(marked));
    EXPECT_EQ(marked.omf_minor, 3u);
    std::vector<uint8_t> b(omf::kSuperblockBytes);
    omf::encode_superblock(marked, b);
    EXPECT_EQ(peek<uint64_t>(b, 8), 49u);
    EXPECT_TRUE(omf::validate_superblock(b).ok());
    EXPECT_TRUE(omf::deletes_marked(omf::decode_superblock(b)));
}

// The mark's three fields, each as before the mark or as it, in every mix:
// what a read across the mark's write, or a master stopped inside it, leaves.
std::vector<std::vector<uint8_t>> every_mix(const std::vector<uint8_t>& before,
                                            const std::vector<uint8_t>& marked) {
    struct Field {
        size_t at, len;
    };
    const Field fields[] = {{8, 8}, {44, 4}, {96, 8}};
    std::vector<std::vector<uint8_t>> out;
    for (unsigned pick = 0; pick < 8; ++pick) {
        std::vector<uint8_t> b = before;
        for (unsigned f = 0; f < 3; ++f) {
            if (pick & (1u << f))
                std::copy_n(marked.begin() + fields[f].at, fields[f].len, b.begin() + fields[f].at);
        }
        out.push_back(b);
    }
    return out;  // [0] is `before`, [7] is `marked`
}

TEST(DeleteMark, EveryHalfWrittenMarkSettlesAsTheMarkedSuperblock) {
    for (const uint64_t version : {omf::kSuperblockVersionOld, omf::kSuperblockVersion}) {
        omf::Superblock sb;
        sb.fs_uuid = kFs;
        sb.version = version;
        std::vector<uint8_t> before(omf::kSuperblockBytes);
        omf::encode_superblock(sb, before);
        std::vector<uint8_t> marked = before;
        omf::mark_superblock_bytes_for_deletes(marked);
        const auto mixes = every_mix(before, marked);
        for (size_t i = 0; i < mixes.size(); ++i) {
            std::vector<uint8_t> b = mixes[i];
            const bool whole = i == 0 || i == mixes.size() - 1;
            EXPECT_EQ(omf::settle_delete_mark(b), !whole) << "version " << version << " mix " << i;
            EXPECT_EQ(b, whole ? mixes[i] : marked) << "version " << version << " mix " << i;
            EXPECT_TRUE(omf::validate_superblock(b).ok()) << "version " << version << " mix " << i;
        }
    }
}

TEST(DeleteMark, NothingButAHalfWrittenMarkSettles) {
    omf::Superblock sb;
    sb.fs_uuid = kFs;
    std::vector<uint8_t> before(omf::kSuperblockBytes);
    omf::encode_superblock(sb, before);
    std::vector<uint8_t> marked = before;
    omf::mark_superblock_bytes_for_deletes(marked);
    const std::vector<uint8_t> torn = every_mix(before, marked)[4];  // the new CRC only

    auto unsettled = [](std::vector<uint8_t> b, const char* what) {
        const std::vector<uint8_t> was = b;
        EXPECT_FALSE(omf::settle_delete_mark(b)) << what;
        EXPECT_EQ(b, was) << what;
    };
    std::vector<uint8_t> moved = torn;
    moved[30] ^= 1;  // a byte the CRC covers
    unsettled(moved, "another byte changed");
    omf::Superblock other = sb;
    other.fs_uuid = uuid_of(0x41);
    std::vector<uint8_t> reformat(omf::kSuperblockBytes);
    omf::encode_superblock(other, reformat);
    std::copy_n(marked.begin() + 96, 8, reformat.begin() + 96);
    unsettled(reformat, "another file system with this one's marked CRC");
    std::vector<uint8_t> version50 = torn;
    test::poke<uint64_t>(version50, 8, 50);
    unsettled(version50, "version 50");
    std::vector<uint8_t> minor4 = torn;
    test::poke<uint32_t>(minor4, 44, 4);
    unsettled(minor4, "minor 4");
    unsettled(std::vector<uint8_t>(omf::kSuperblockBytes, 0), "zeroed by mkfs");
    unsettled(std::vector<uint8_t>(omf::kSuperblockBytes, 0xff), "failed memory");
}

// ---- host slot halves ----

TEST(HostHalf, EveryFieldAtItsOffset) {
    const auto h = host_half(0x10, 99);
    const auto b = encoded(h);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(b.data()), 8), "FAMFSHST");
    EXPECT_EQ(peek<uint32_t>(b, 8), 2u);
    EXPECT_EQ(peek<uint32_t>(b, 12), 0u);
    for (size_t i = 0; i < 16; ++i) {
        EXPECT_EQ(b[16 + i], 0x10 + i);
        EXPECT_EQ(b[32 + i], 0x40 + i);
    }
    EXPECT_EQ(peek<uint64_t>(b, 48), h.nonce);
    EXPECT_EQ(peek<uint64_t>(b, 56), 99u);
    EXPECT_EQ(peek<uint64_t>(b, 64), 7u);
    EXPECT_EQ(peek<uint64_t>(b, 72), h.heartbeat_ns);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(&b[80])), "host-16");
    EXPECT_EQ(peek<uint64_t>(b, 120), zlib_crc(std::span(b).first(120)));
}

TEST(MasterHalf, EveryFieldAtItsOffset) {
    const auto m = grant_for(host_half(0x10, 1), true);
    const auto b = encoded(m);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(b.data()), 8), "FAMFSGNT");
    EXPECT_EQ(peek<uint32_t>(b, 8), 1u);
    for (size_t i = 0; i < 16; ++i) {
        EXPECT_EQ(b[16 + i], 0x10 + i);
        EXPECT_EQ(b[32 + i], 0x40 + i);
    }
    EXPECT_EQ(peek<uint64_t>(b, 48), m.nonce);
    EXPECT_EQ(peek<uint64_t>(b, 56), 3u);
    EXPECT_EQ(peek<uint64_t>(b, 64), 42u);
    for (size_t i = 72; i < 120; ++i) EXPECT_EQ(b[i], 0) << "reserved at " << i;
    EXPECT_EQ(peek<uint64_t>(b, 120), zlib_crc(std::span(b).first(120)));
}

TEST(HostHalf, RoundTripsAndZeroesAreEmpty) {
    const auto h = host_half(0x22, 5, omf::HostState::kLeft);
    auto d = omf::decode_host_half(encoded(h));
    ASSERT_EQ(d.status, omf::HalfStatus::kValid);
    EXPECT_EQ(d.half, h);
    const auto m = grant_for(h);
    auto dm = omf::decode_master_half(encoded(m));
    ASSERT_EQ(dm.status, omf::HalfStatus::kValid);
    EXPECT_EQ(dm.half, m);
    const std::vector<uint8_t> zeros(omf::kHostHalfBytes, 0);
    EXPECT_EQ(omf::decode_host_half(zeros).status, omf::HalfStatus::kEmpty);
    EXPECT_EQ(omf::decode_master_half(zeros).status, omf::HalfStatus::kEmpty);
}

TEST(HostHalf, RefusesLongNamesAndUnknownStates) {
    auto h = host_half(1, 1);
    h.name = std::string(40, 'n');
    std::vector<uint8_t> b(omf::kHostHalfBytes, 0xee);
    auto st = omf::encode_host_half(h, b);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, ENAMETOOLONG);
    EXPECT_EQ(b[0], 0xee);
    h.name = std::string(39, 'n');
    EXPECT_TRUE(omf::encode_host_half(h, b).ok());

    // A sealed half with a state nobody writes is never trusted.
    test::poke<uint32_t>(b, 8, 9);
    test::poke<uint64_t>(b, 120, zlib_crc(std::span(b).first(120)));
    EXPECT_EQ(omf::decode_host_half(b).status, omf::HalfStatus::kTorn);
}

TEST(HostHalf, EveryFlippedByteIsTorn) {
    const auto good = encoded(host_half(3, 17));
    for (size_t i = 0; i < good.size(); ++i) {
        auto b = good;
        b[i] ^= 0x01;
        EXPECT_EQ(omf::decode_host_half(b).status, omf::HalfStatus::kTorn) << "byte " << i;
    }
}

// A write that reached the memory only up to byte k (in either direction,
// since cache lines may land in any order) is torn, never misread as a
// valid half with mixed fields, except at the two ends.
template <class Decode>
void expect_torn_at_every_step(const std::vector<uint8_t>& before,
                               const std::vector<uint8_t>& after, Decode decode) {
    const auto status_of = [&](const std::vector<uint8_t>& b) { return decode(b).status; };
    for (size_t k = 0; k <= after.size(); ++k) {
        std::vector<uint8_t> head(after.begin(), after.begin() + k);
        head.insert(head.end(), before.begin() + k, before.end());
        std::vector<uint8_t> tail(before.begin(), before.begin() + k);
        tail.insert(tail.end(), after.begin() + k, after.end());
        for (const auto& mixed : {head, tail}) {
            if (mixed == before || mixed == after) {
                EXPECT_EQ(status_of(mixed), status_of(mixed == before ? before : after));
                continue;
            }
            EXPECT_EQ(status_of(mixed), omf::HalfStatus::kTorn) << "step " << k;
        }
    }
}

TEST(HostHalf, ATornWriteAtEveryByteStepIsRecognised) {
    const std::vector<uint8_t> zeros(omf::kHostHalfBytes, 0);
    const auto first = encoded(host_half(5, 0, omf::HostState::kRequested));
    auto later = host_half(5, 1234);
    later.heartbeat = 8;
    const auto second = encoded(later);
    expect_torn_at_every_step(zeros, first, omf::decode_host_half);   // a first request
    expect_torn_at_every_step(first, second, omf::decode_host_half);  // a heartbeat
    const auto other = encoded(host_half(6, 0, omf::HostState::kRequested));
    expect_torn_at_every_step(second, other, omf::decode_host_half);  // a late request
}

TEST(MasterHalf, ATornWriteAtEveryByteStepIsRecognised) {
    const std::vector<uint8_t> zeros(omf::kHostHalfBytes, 0);
    const auto grant = encoded(grant_for(host_half(5, 0)));
    const auto evict = encoded(grant_for(host_half(5, 0), true));
    expect_torn_at_every_step(zeros, grant, omf::decode_master_half);
    expect_torn_at_every_step(grant, evict, omf::decode_master_half);
}

// ---- the reclaim rule ----

HostSlot slot(size_t index, const omf::HostHalf& h, std::optional<omf::MasterHalf> m) {
    HostSlot s;
    s.index = index;
    s.host = {omf::HalfStatus::kValid, h};
    if (m) s.master = {omf::HalfStatus::kValid, *m};
    return s;
}

HostSlot live(size_t index, uint8_t seed, uint64_t watermark) {
    const auto h = host_half(seed, watermark);
    return slot(index, h, grant_for(h));
}

TEST(Reclaim, AnEmptyTableAllowsIt) {
    std::vector<HostSlot> table(omf::kHostSlots);
    EXPECT_TRUE(reclaim_verdict(table, kFs, 0).allowed());
    EXPECT_TRUE(reclaim_verdict({}, kFs, 100).allowed());
    EXPECT_EQ(reclaim_horizon(table, kFs), SlotBound::kUnbounded);
}

TEST(Reclaim, EveryHostMustBePastTheDelete) {
    std::vector<HostSlot> table{live(0, 1, 11), live(1, 2, 30)};
    EXPECT_TRUE(reclaim_verdict(table, kFs, 10).allowed());
    auto v = reclaim_verdict(table, kFs, 11);  // watermark 11 is not past index 11
    ASSERT_EQ(v.blockers.size(), 1u);
    EXPECT_EQ(v.blockers[0].slot, 0u);
    EXPECT_NE(v.blockers[0].host.find("host-1"), std::string::npos);
    EXPECT_EQ(reclaim_horizon(table, kFs), 11u);
}

TEST(Reclaim, AHostWithAStaleWatermarkBlocksIt) {
    std::vector<HostSlot> table{live(0, 1, 500), live(7, 2, 3), live(9, 3, 500)};
    auto v = reclaim_verdict(table, kFs, 100);
    ASSERT_EQ(v.blockers.size(), 1u);
    EXPECT_EQ(v.blockers[0].slot, 7u);
    EXPECT_NE(v.blockers[0].why.find("watermark 3"), std::string::npos) << v.blockers[0].why;
}

TEST(Reclaim, AnEvictedHostDoesNot) {
    const auto stale = host_half(2, 3);
    std::vector<HostSlot> table{live(0, 1, 500), slot(1, stale, grant_for(stale, true))};
    EXPECT_TRUE(reclaim_verdict(table, kFs, 100).allowed());
    // Evicted, even if its slot is torn by a late write of the dead host.
    table[1].host.status = omf::HalfStatus::kTorn;
    EXPECT_TRUE(reclaim_verdict(table, kFs, 100).allowed());
}

TEST(Reclaim, TornOrUnmatchedSlotsBlockIt) {
    auto torn = live(0, 1, 500);
    torn.host.status = omf::HalfStatus::kTorn;
    EXPECT_FALSE(reclaim_verdict(std::vector{torn}, kFs, 1).allowed());

    auto torn_grant = live(0, 1, 500);
    torn_grant.master.status = omf::HalfStatus::kTorn;
    EXPECT_FALSE(reclaim_verdict(std::vector{torn_grant}, kFs, 1).allowed());

    // A late request of a host that lost the slot overwrote the owner's half.
    const auto owner = host_half(1, 500);
    auto clobbered = slot(0, host_half(2, 0, omf::HostState::kRequested), grant_for(owner));
    auto v = reclaim_verdict(std::vector{clobbered}, kFs, 1);
    ASSERT_FALSE(v.allowed());
    EXPECT_NE(v.blockers[0].why.find("does not match"), std::string::npos);
    // The same host with a higher watermark but another nonce: still stale.
    auto renonced = host_half(1, 900);
    renonced.nonce = 1;
    EXPECT_FALSE(
        reclaim_verdict(std::vector{slot(0, renonced, grant_for(owner))}, kFs, 1).allowed());

    HostSlot grant_only;
    grant_only.master = {omf::HalfStatus::kValid, grant_for(owner)};
    EXPECT_FALSE(reclaim_verdict(std::vector{grant_only}, kFs, 1).allowed());
}

TEST(Reclaim, PendingRequestsBlockAndCleanLeavesDoNot) {
    const auto request = host_half(4, 0, omf::HostState::kRequested);
    EXPECT_FALSE(reclaim_verdict(std::vector{slot(0, request, std::nullopt)}, kFs, 0).allowed());
    const auto left = host_half(4, 0, omf::HostState::kLeft);
    EXPECT_TRUE(reclaim_verdict(std::vector{slot(0, left, std::nullopt)}, kFs, 50).allowed());
    EXPECT_TRUE(reclaim_verdict(std::vector{slot(0, left, grant_for(left))}, kFs, 50).allowed());
}

TEST(Reclaim, SlotsOfAnotherFormattingDoNotCount) {
    auto h = host_half(1, 0, omf::HostState::kRequested);
    h.fs_uuid = uuid_of(0x90);
    auto m = grant_for(h);
    EXPECT_TRUE(reclaim_verdict(std::vector{slot(0, h, m)}, kFs, 5).allowed());
}

// ---- reading the table from device memory ----

TEST(HostTable, ReadsSlotsFromTheDevice) {
    auto dev = test::formatted_memory(1 * test::kGiB);
    auto table = read_host_table(*dev);
    ASSERT_TRUE(table.ok()) << table.error().message;
    ASSERT_EQ(table->size(), omf::kHostSlots);
    EXPECT_TRUE(reclaim_verdict(*table, kFs, 0).allowed()) << "mkfs leaves the table empty";

    const auto h = host_half(1, 3);
    auto mem = dev->range(omf::host_slot_offset(5), omf::kHostSlotBytes);
    ASSERT_TRUE(omf::encode_host_half(h, mem.first(omf::kHostHalfBytes)).ok());
    omf::encode_master_half(grant_for(h), mem.subspan(omf::kHostHalfBytes));
    dev->range(omf::host_slot_offset(6), omf::kHostSlotBytes)[3] = 0x5a;  // a torn slot 6
    table = read_host_table(*dev);
    ASSERT_TRUE(table.ok());
    EXPECT_EQ((*table)[5].host.status, omf::HalfStatus::kValid);
    EXPECT_EQ((*table)[5].host.half, h);
    EXPECT_EQ((*table)[6].host.status, omf::HalfStatus::kTorn);
    auto v = reclaim_verdict(*table, kFs, 2);
    ASSERT_EQ(v.blockers.size(), 1u);
    EXPECT_EQ(v.blockers[0].slot, 6u);
}

}  // namespace
}  // namespace famfs
