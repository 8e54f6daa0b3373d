// The log's reader and writer rules (docs/format.md "Append protocol"): seqnum ==
// index, CRC, one invalidate-and-retry, stop at the first invalid entry and
// say where; appends that die at any step never expose a partial entry.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <thread>
#include <vector>

#include "famfs/log.h"
#include "famfs_test_support.h"

namespace famfs {
namespace {

using test::dir_entry;
using test::file_entry;
using test::kMiB;

constexpr uint64_t kDevSize =
    12 * kMiB;  // superblock region + 8 MiB log + data: no data needed here

struct LogFixture : ::testing::Test {
    std::unique_ptr<testing::FaultyDevice> dev = test::formatted_memory(kDevSize);
    LogView log{*dev, omf::kLogOffset, omf::kMinLogLen};

    void append_dirs(int n, int first = 0) {
        for (int i = first; i < first + n; ++i)
            ASSERT_TRUE(log.append(dir_entry("d" + std::to_string(i))).ok());
    }
    Replay replay_ok(uint64_t from = 0) {
        auto r = log.replay(from);
        EXPECT_TRUE(r.ok()) << r.error().message;
        return r.ok() ? *r : Replay{};
    }
};

TEST_F(LogFixture, EmptyLogReplaysToNothing) {
    const Replay r = replay_ok();
    EXPECT_TRUE(r.entries.empty());
    EXPECT_EQ(r.next_index, 0u);
    EXPECT_FALSE(r.invalid_index.has_value());
    EXPECT_EQ(log.capacity(), 15420u);
}

TEST_F(LogFixture, AppendAssignsSeqnumAndAdvancesHeader) {
    append_dirs(3);
    auto h = log.header();
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(h->next_index, 3u);
    EXPECT_EQ(h->next_seqnum, 3u);
    EXPECT_EQ(log.next_index(), 3u);
    for (uint64_t i = 0; i < 3; ++i) {
        auto e = omf::decode_entry(log.slot(i), i);
        ASSERT_TRUE(e.ok()) << e.error().message;
        EXPECT_EQ(e->seqnum, i);
        EXPECT_EQ(std::get<omf::MkdirEntry>(e->payload).relpath, "d" + std::to_string(i));
    }
    const Replay r = replay_ok();
    ASSERT_EQ(r.entries.size(), 3u);
    EXPECT_EQ(r.end(), 3u);
}

TEST_F(LogFixture, ReplayFromTheMiddle) {
    append_dirs(5);
    const Replay r = replay_ok(2);
    EXPECT_EQ(r.first, 2u);
    ASSERT_EQ(r.entries.size(), 3u);
    EXPECT_EQ(std::get<omf::MkdirEntry>(r.entries[0].payload).relpath, "d2");
}

TEST_F(LogFixture, StopsAtFirstBadCrcAndSaysWhere) {
    append_dirs(5);
    log.slot(2)[100] ^= 0x40;  // inside the CRC-covered union
    const Replay r = replay_ok();
    EXPECT_EQ(r.entries.size(), 2u);
    ASSERT_TRUE(r.invalid_index.has_value());
    EXPECT_EQ(*r.invalid_index, 2u);
    ASSERT_TRUE(r.invalid_reason.has_value());
    EXPECT_FALSE(r.invalid_reason->message.empty());
    EXPECT_EQ(r.next_index, 5u);
}

TEST_F(LogFixture, StopsAtSeqnumNotEqualToIndex) {
    append_dirs(4);
    // A perfectly sealed entry in the wrong slot is still invalid.
    std::vector<uint8_t> wrong(omf::kEntryBytes);
    ASSERT_TRUE(omf::encode_entry({7, omf::MkdirEntry{0, 0, 0755, "x"}}, wrong).ok());
    std::memcpy(log.slot(1).data(), wrong.data(), wrong.size());
    const Replay r = replay_ok();
    EXPECT_EQ(r.entries.size(), 1u);
    ASSERT_TRUE(r.invalid_index.has_value());
    EXPECT_EQ(*r.invalid_index, 1u);
}

TEST_F(LogFixture, EntriesAtOrPastNextIndexAreNotTrusted) {
    append_dirs(2);
    std::vector<uint8_t> sealed(omf::kEntryBytes);
    ASSERT_TRUE(omf::encode_entry({2, omf::MkdirEntry{0, 0, 0755, "ghost"}}, sealed).ok());
    std::memcpy(log.slot(2).data(), sealed.data(), sealed.size());
    const Replay r = replay_ok();
    EXPECT_EQ(r.entries.size(), 2u);
    EXPECT_FALSE(r.invalid_index.has_value());
}

TEST_F(LogFixture, InvalidHeaderFailsReplayAndAppend) {
    append_dirs(1);
    log.header_bytes()[3] ^= 1;  // magic
    EXPECT_FALSE(log.replay().ok());
    EXPECT_FALSE(log.append(dir_entry("x")).ok());
}

TEST_F(LogFixture, AppendOfUnencodableEntryChangesNothing) {
    append_dirs(1);
    const std::vector<uint8_t> before(log.slot(1).begin(), log.slot(1).end());
    EXPECT_FALSE(log.append(dir_entry(std::string(80, 'x'))).ok());
    EXPECT_EQ(log.next_index(), 1u);
    EXPECT_TRUE(std::equal(before.begin(), before.end(), log.slot(1).begin()));
}

// next_seqnum is outside the header CRC, so a foreign writer or a stray
// store can leave it unequal to next_index. An append must then not write an
// entry that the reader rules (seqnum == index) refuse: it either refuses to
// append or writes a valid entry.
TEST_F(LogFixture, AppendNeverWritesAnEntryReplayRefuses) {
    append_dirs(2);
    test::poke<uint64_t>(log.header_bytes(), 32, 7);  // next_seqnum 7, next_index 2
    ASSERT_TRUE(log.header().ok()) << "counters are outside the CRC";
    const auto st = log.append(dir_entry("d2"));
    const Replay r = replay_ok();
    EXPECT_FALSE(r.invalid_index.has_value())
        << "append wrote an entry replay refuses: "
        << (r.invalid_reason ? r.invalid_reason->message : "");
    EXPECT_EQ(r.entries.size(), st.ok() ? 3u : 2u);
}

// A reader following the log while the writer appends sees a prefix of the
// log at every moment, never a partial entry.
TEST(LogFollow, ReaderNeverSeesAPartialEntry) {
    auto dev = test::formatted_memory(kDevSize);
    LogView writer(*dev, omf::kLogOffset, omf::kMinLogLen);
    LogView reader(*dev, omf::kLogOffset, omf::kMinLogLen);
    constexpr uint64_t kEntries = 3000;
    std::thread w([&] {
        for (uint64_t i = 0; i < kEntries; ++i)
            ASSERT_TRUE(writer.append(dir_entry("d" + std::to_string(i))).ok());
    });
    uint64_t seen = 0;
    bool clean = true;
    while (seen < kEntries && clean) {
        seen = reader.wait_for_change(seen, std::chrono::milliseconds(100));
        auto r = reader.replay(0);
        ASSERT_TRUE(r.ok());
        clean = !r->invalid_index.has_value();
        for (uint64_t i = 0; clean && i < r->entries.size(); ++i)
            clean =
                std::get<omf::MkdirEntry>(r->entries[i].payload).relpath == "d" + std::to_string(i);
        seen = std::max(seen, r->end());
    }
    w.join();
    EXPECT_TRUE(clean);
    EXPECT_EQ(reader.next_index(), kEntries);
}

TEST_F(LogFixture, PoisonedLogMemoryStopsReplayAtTheFirstEntryItTouches) {
    append_dirs(30);
    // Log page 2 (bytes 8192..12287 of the log) starts inside entry 14.
    constexpr uint64_t kPage = 4096;
    ASSERT_TRUE(dev->poison(omf::kLogOffset + 2 * kPage, kPage).ok());
    const Replay r = replay_ok();
    ASSERT_TRUE(r.invalid_index.has_value()) << "poison must not read as valid entries";
    EXPECT_EQ(*r.invalid_index, (2 * kPage - omf::kLogHeaderBytes) / omf::kEntryBytes);
    EXPECT_EQ(r.entries.size(), *r.invalid_index);
    EXPECT_EQ(r.invalid_reason->code, EIO);
    EXPECT_NE(r.invalid_reason->message.find("memory failure"), std::string::npos);
    ASSERT_TRUE(dev->unpoison_all().ok());
    EXPECT_EQ(replay_ok().entries.size(), 30u)
        << "the same log reads fully once the memory is back";
}

// A long replay into a sink (what every writer and mount does): the sink
// sees every valid entry once, in order, and nothing past an invalid one.
struct LongReplay : LogFixture {
    static constexpr int kEntries = 6000;
    void SetUp() override { append_dirs(kEntries); }
    // Indexes the sink saw, and the replay's verdict.
    std::pair<std::vector<uint64_t>, Replay> replay_into_sink(uint64_t from = 0) {
        std::vector<uint64_t> seen;
        auto r = log.replay(from, [&](omf::LogEntry& e, uint64_t index) {
            EXPECT_EQ(std::get<omf::MkdirEntry>(e.payload).relpath, "d" + std::to_string(index));
            seen.push_back(index);
        });
        EXPECT_TRUE(r.ok());
        return {seen, r.ok() ? *r : Replay{}};
    }
    static void expect_in_order(const std::vector<uint64_t>& seen, uint64_t from, uint64_t end) {
        ASSERT_EQ(seen.size(), end - from);
        for (uint64_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i], from + i);
    }
};

TEST_F(LongReplay, SinkSeesEveryEntryInOrder) {
    auto [seen, r] = replay_into_sink();
    expect_in_order(seen, 0, kEntries);
    EXPECT_EQ(r.end(), uint64_t{kEntries});
    EXPECT_FALSE(r.invalid_index.has_value());
    auto [tail, r2] = replay_into_sink(1000);
    expect_in_order(tail, 1000, kEntries);
}

TEST_F(LongReplay, BadEntryLateInTheLogEndsTheReplayThere) {
    log.slot(5000)[100] ^= 0x40;
    auto [seen, r] = replay_into_sink();
    expect_in_order(seen, 0, 5000);
    EXPECT_EQ(r.end(), 5000u);
    ASSERT_TRUE(r.invalid_index.has_value());
    EXPECT_EQ(*r.invalid_index, 5000u);
}

TEST_F(LongReplay, BadEntryEarlyInTheLogHidesEverythingAfterIt) {
    log.slot(100)[100] ^= 0x40;
    auto [seen, r] = replay_into_sink();
    expect_in_order(seen, 0, 100);
    ASSERT_TRUE(r.invalid_index.has_value());
    EXPECT_EQ(*r.invalid_index, 100u);
}

TEST_F(LongReplay, PoisonLateInTheLogIsAMemoryFailureAtItsEntry) {
    constexpr uint64_t kPage = 4096;
    const uint64_t page = 700;  // log bytes 2 867 200.. : inside entry 5270
    ASSERT_TRUE(dev->poison(omf::kLogOffset + page * kPage, kPage).ok());
    auto [seen, r] = replay_into_sink();
    const uint64_t bad = (page * kPage - omf::kLogHeaderBytes) / omf::kEntryBytes;
    expect_in_order(seen, 0, bad);
    ASSERT_TRUE(r.invalid_index.has_value());
    EXPECT_EQ(*r.invalid_index, bad);
    EXPECT_EQ(r.invalid_reason->code, EIO);
    ASSERT_TRUE(dev->unpoison_all().ok());
}

TEST_F(LogFixture, PoisonedHeaderIsAnErrorNotACrash) {
    append_dirs(2);
    ASSERT_TRUE(dev->poison(omf::kLogOffset, 1).ok());
    auto h = log.header();
    ASSERT_FALSE(h.ok());
    EXPECT_EQ(h.error().code, EIO);
    EXPECT_FALSE(log.replay().ok());
}

TEST(LogFull, EightMiBHoldsExactly15420Entries) {
    auto dev = test::formatted_memory(kDevSize);
    LogView log(*dev, omf::kLogOffset, omf::kMinLogLen);
    for (uint64_t i = 0; i < 15420; ++i)
        ASSERT_TRUE(log.append({0, omf::OtherEntry{4}}).ok()) << "entry " << i;
    auto st = log.append({0, omf::OtherEntry{4}});
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, ENOSPC);
    EXPECT_EQ(log.next_index(), 15420u);
    auto r = log.replay();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->entries.size(), 15420u);
    EXPECT_FALSE(r->invalid_index.has_value());
    // The last entry ends exactly inside the 8 MiB region.
    EXPECT_LE(omf::kLogHeaderBytes + 15420 * omf::kEntryBytes, omf::kMinLogLen);
}

TEST(FormatLog, ZeroesTheLogAndWritesAFreshHeader) {
    auto made = testing::FaultyDevice::create(kDevSize);
    ASSERT_TRUE(made.ok());
    auto& dev = **made;
    std::memset(dev.base(), 0x5a, dev.size());
    ASSERT_TRUE(format_log(dev, omf::kLogOffset, omf::kMinLogLen).ok());
    auto h = omf::decode_log_header(dev.range(omf::kLogOffset, 48));
    EXPECT_EQ(h.magic, omf::kLogMagic);
    EXPECT_EQ(h.last_index, 15419u);
    EXPECT_EQ(h.next_index, 0u);
    for (uint64_t off = omf::kLogOffset + 48; off < omf::kLogOffset + omf::kMinLogLen; off += 4093)
        ASSERT_EQ(dev.base()[off], 0) << off;
    EXPECT_EQ(dev.base()[omf::kLogOffset + omf::kMinLogLen], 0x5a) << "formatting ran past the log";
    EXPECT_FALSE(format_log(dev, omf::kLogOffset, 128 * kMiB).ok());
}

// A device whose CPU view lags behind memory until invalidate() is called,
// as on non-coherent memory written by another host.
class StaleCacheDevice : public Device {
  public:
    explicit StaleCacheDevice(uint64_t size) : memory_(size), view_(size) {}
    uint8_t* base() override { return view_.data(); }
    uint64_t size() const override { return view_.size(); }
    const std::string& path() const override { return path_; }
    DeviceKind kind() const override { return DeviceKind::kMemory; }
    Access access() const override { return Access::kReadWrite; }
    void invalidate(const void* p, size_t n) override {
        const size_t off = static_cast<const uint8_t*>(p) - view_.data();
        std::memcpy(view_.data() + off, memory_.data() + off, n);
        ++invalidations_;
    }
    std::vector<uint8_t>& memory() { return memory_; }
    int invalidations() const { return invalidations_; }

  private:
    std::vector<uint8_t> memory_, view_;
    std::string path_ = "stale";
    int invalidations_ = 0;
};

TEST(LogRetry, InvalidatesAndRechecksOnceBeforeGivingUp) {
    auto writer = test::formatted_memory(kDevSize);
    LogView wlog(*writer, omf::kLogOffset, omf::kMinLogLen);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(wlog.append(dir_entry("d" + std::to_string(i))).ok());

    // The reader's view still holds the formatted, empty log; memory has all.
    StaleCacheDevice reader(kDevSize);
    std::memcpy(reader.memory().data(), writer->base(), kDevSize);
    std::memcpy(reader.base(), writer->base(), omf::kLogOffset + omf::kLogHeaderBytes);
    std::memset(reader.base() + omf::kLogOffset, 0, omf::kLogHeaderBytes);
    LogView rlog(reader, omf::kLogOffset, omf::kMinLogLen);
    auto r = rlog.replay();
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->entries.size(), 3u);
    EXPECT_FALSE(r->invalid_index.has_value());
    EXPECT_GE(reader.invalidations(), 4);  // the header, then each stale slot

    // Memory that is itself corrupt stays invalid after the retry.
    reader.memory()[omf::kLogOffset + 48 + omf::kEntryBytes + 60] ^= 1;
    std::memset(reader.base() + omf::kLogOffset + 48 + omf::kEntryBytes, 0, omf::kEntryBytes);
    r = rlog.replay();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->entries.size(), 1u);
    ASSERT_TRUE(r->invalid_index.has_value());
    EXPECT_EQ(*r->invalid_index, 1u);
}

// What a reader must see after the writer died: the state before or after
// the append, never a partial entry, and the log must take the next append.
void expect_old_or_new(Device& dev, uint64_t old_count, const std::string& what) {
    LogView log(dev, omf::kLogOffset, omf::kMinLogLen);
    auto r = log.replay();
    ASSERT_TRUE(r.ok()) << what << ": " << r.error().message;
    EXPECT_FALSE(r->invalid_index.has_value()) << what;
    const uint64_t n = r->entries.size();
    EXPECT_TRUE(n == old_count || n == old_count + 1) << what << ": " << n << " entries";
    for (uint64_t i = 0; i < n; ++i) {
        const auto& d = std::get<omf::MkdirEntry>(r->entries[i].payload);
        EXPECT_EQ(d.relpath, "d" + std::to_string(i)) << what;
    }
    ASSERT_TRUE(log.append(dir_entry("d" + std::to_string(n))).ok()) << what;
    r = log.replay();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->entries.size(), n + 1) << what;
    EXPECT_FALSE(r->invalid_index.has_value()) << what;
}

std::unique_ptr<testing::FaultyDevice> copy_of(const std::vector<uint8_t>& image) {
    auto dev = testing::FaultyDevice::create(image.size());
    EXPECT_TRUE(dev.ok());
    (*dev)->load_image(image);
    return std::move(*dev);
}

TEST(TornAppend, DiesAtEveryPersist) {
    // fail_persist_at(1): died after writing the entry, before publishing the
    // index; (2): after storing the index, before flushing it.
    for (uint64_t k : {1, 2}) {
        auto dev = test::formatted_memory(kDevSize);
        LogView log(*dev, omf::kLogOffset, omf::kMinLogLen);
        for (int i = 0; i < 3; ++i)
            ASSERT_TRUE(log.append(dir_entry("d" + std::to_string(i))).ok());
        dev->snapshot();
        dev->fail_persist_at(k);
        EXPECT_FALSE(log.append(dir_entry("d3")).ok()) << "persist " << k;
        dev->fail_persist_at(0);
        auto persisted = copy_of(dev->persisted_image());
        const std::string step = "died at persist " + std::to_string(k);
        expect_old_or_new(*persisted, 3, step + ", non-coherent memory");
        expect_old_or_new(*dev, 3, step + ", coherent memory");
    }
}

TEST(TornAppend, DiesMidCopyOfTheEntry) {
    auto dev = test::formatted_memory(kDevSize);
    LogView log(*dev, omf::kLogOffset, omf::kMinLogLen);
    for (int i = 0; i < 2; ++i) ASSERT_TRUE(log.append(dir_entry("d" + std::to_string(i))).ok());
    std::vector<uint8_t> sealed(omf::kEntryBytes);
    ASSERT_TRUE(omf::encode_entry({2, omf::MkdirEntry{0, 0, 0755, "d2"}}, sealed).ok());
    const std::vector<uint8_t> clean(dev->base(), dev->base() + kDevSize);
    for (size_t cut = 0; cut <= omf::kEntryBytes; cut += 8) {
        dev->load_image(clean);
        std::memcpy(log.slot(2).data(), sealed.data(), cut);
        expect_old_or_new(*dev, 2, "torn at byte " + std::to_string(cut));
    }
}

}  // namespace
}  // namespace famfs
