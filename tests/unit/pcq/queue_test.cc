// The queue protocol on plain memory: the reference's layout, indices and
// wrap-around, and that a damaged message is caught (bad CRC, wrong
// sequence number, payload that is not the seed's pattern).
#include "queue.h"

#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

#include "famfs/test_pattern.h"
#include "layout.h"
#include "payload.h"

namespace famfs::pcq {
namespace {

constexpr uint64_t kBucket = 64;

// A queue's two files in ordinary memory, 8-byte aligned as a mapping is.
struct Memory {
    explicit Memory(uint64_t nbuckets, uint64_t bucket = kBucket)
        : producer(producer_file_size(nbuckets, bucket) / 8), consumer(kConsumerFileSize / 8) {}
    std::span<uint8_t> p() {
        return {reinterpret_cast<uint8_t*>(producer.data()), producer.size() * 8};
    }
    std::span<uint8_t> c() {
        return {reinterpret_cast<uint8_t*>(consumer.data()), consumer.size() * 8};
    }
    std::vector<uint64_t> producer, consumer;
};

Queue make_queue(Memory& m, uint64_t nbuckets, const CacheOps& cache = no_cache_maintenance(),
                 uint64_t bucket = kBucket) {
    EXPECT_TRUE(Queue::format(m.p(), m.c(), nbuckets, bucket, cache, "q"));
    auto q = Queue::attach(m.p(), m.c(), cache, "q");
    EXPECT_TRUE(q) << q.error().message;
    return std::move(*q);
}

const WaitPolicy kNoWait{false, nullptr};

Queue::Put put(Queue& q, Counters& c, uint64_t seed = 0, uint64_t* index = nullptr) {
    std::vector<uint8_t> entry(q.bucket_size());
    fill_payload(seed, std::span(entry).first(q.payload_size()));
    auto r = q.put(entry, kNoWait, c, index);
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : Queue::Put::kFull;
}

TEST(PcqLayout, FormatWritesTheReferenceStructs) {
    Memory m(16);
    ASSERT_TRUE(Queue::format(m.p(), m.c(), 16, kBucket, no_cache_maintenance(), "q"));
    // struct pcq: magic, nbuckets, bucket_size, bucket_array_offset,
    // producer_index, pad[1024], next_seq, pcq_size.
    EXPECT_EQ(load_u64(m.p(), 0), 0xBEEBEE3u);
    EXPECT_EQ(load_u64(m.p(), 8), 16u);
    EXPECT_EQ(load_u64(m.p(), 16), kBucket);
    EXPECT_EQ(load_u64(m.p(), 24), 2u << 20);
    EXPECT_EQ(load_u64(m.p(), 32), 0u);
    EXPECT_EQ(load_u64(m.p(), 40 + 1024), 0u);
    EXPECT_EQ(load_u64(m.p(), 40 + 1024 + 8), m.p().size());
    // struct pcq_consumer: u32 magic, u32 pad, consumer_index, pad2[1 MiB],
    // next_seq, pcqc_size.
    EXPECT_EQ(load_u32(m.c(), 0), 0xBEEBEE4u);
    EXPECT_EQ(load_u64(m.c(), 8), 0u);
    EXPECT_EQ(load_u64(m.c(), 16 + 1048576), 0u);
    EXPECT_EQ(load_u64(m.c(), 16 + 1048576 + 8), m.c().size());
}

TEST(PcqLayout, BucketCrcIsZlibCrc32OfPayloadAndSeq) {
    // The CRC-32 check value: "123456789" -> 0xCBF43926. A 17-byte span's CRC
    // covers its first 9 bytes.
    std::vector<uint8_t> b(17, 0);
    std::memcpy(b.data(), "123456789", 9);
    EXPECT_EQ(bucket_crc(b), 0xCBF43926u);

    std::vector<uint8_t> bucket(kBucket, 0xab);
    seal_bucket(bucket, 0x1122334455667788ull);
    EXPECT_EQ(load_u64(bucket, kBucket - 16), 0x1122334455667788ull);
    EXPECT_EQ(stored_seq(bucket), 0x1122334455667788ull);
    EXPECT_EQ(stored_crc(bucket), bucket_crc(bucket));
    EXPECT_EQ(stored_crc(bucket) >> 32, 0u);  // a u64 holding a 32-bit CRC
}

TEST(PcqGeometry, RefusesWhatTheQueueCannotBe) {
    EXPECT_FALSE(Queue::check_geometry(16, 1000, "q"));                // not a power of 2
    EXPECT_FALSE(Queue::check_geometry(16, 16, "q"));                  // no room for a payload
    EXPECT_FALSE(Queue::check_geometry(1, 64, "q"));                   // always full
    EXPECT_FALSE(Queue::check_geometry(1ull << 60, 1ull << 20, "q"));  // overflows
    auto e = Queue::check_geometry(16, 1000, "/mnt/famfs/q");
    EXPECT_NE(e.error().message.find("/mnt/famfs/q: bucket size 1000 must be a power of 2"),
              std::string::npos);
    EXPECT_TRUE(Queue::check_geometry(2, 32, "q"));
}

TEST(PcqQueue, PutAndGetAdvanceTheIndicesAndSequenceNumbers) {
    Memory m(8);
    Queue q = make_queue(m, 8);
    Counters pc, cc;
    EXPECT_EQ(q.messages(), 0u);
    for (int i = 0; i < 3; ++i) {
        uint64_t index = 99;
        EXPECT_EQ(put(q, pc, 7, &index), Queue::Put::kDone);
        EXPECT_EQ(index, static_cast<uint64_t>(i));
    }
    EXPECT_EQ(q.producer_index(), 3u);
    EXPECT_EQ(q.producer_next_seq(), 3u);
    EXPECT_EQ(q.messages(), 3u);
    EXPECT_EQ(pc.sent, 3u);

    std::vector<uint8_t> entry(kBucket);
    for (uint64_t i = 0; i < 3; ++i) {
        uint64_t seq = 99, index = 99;
        auto r = q.get(entry, &seq, kNoWait, cc, &index);
        ASSERT_TRUE(r) << r.error().message;
        EXPECT_EQ(*r, Queue::Get::kMessage);
        EXPECT_EQ(seq, i);
        EXPECT_EQ(index, i);
        EXPECT_FALSE(payload_mismatch(7, std::span(entry).first(q.payload_size())));
    }
    EXPECT_EQ(q.consumer_index(), 3u);
    EXPECT_EQ(q.consumer_next_seq(), 3u);
    EXPECT_EQ(q.messages(), 0u);
    EXPECT_EQ(cc.received, 3u);
    auto r = q.get(entry, nullptr, kNoWait, cc);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, Queue::Get::kEmpty);
    EXPECT_EQ(cc.empty, 1u);
}

TEST(PcqQueue, WrapsAroundAndKeepsOneBucketFree) {
    Memory m(4);
    Queue q = make_queue(m, 4);
    Counters pc, cc;
    std::vector<uint8_t> entry(kBucket);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(put(q, pc), Queue::Put::kDone);
    EXPECT_EQ(put(q, pc), Queue::Put::kFull);  // 4 buckets hold 3 messages
    EXPECT_EQ(pc.full, 1u);
    EXPECT_EQ(q.messages(), 3u);

    uint64_t expect_seq = 0;
    for (int round = 0; round < 10; ++round) {  // many times around the ring
        uint64_t seq = 0;
        auto r = q.get(entry, &seq, kNoWait, cc);
        ASSERT_TRUE(r) << r.error().message;
        ASSERT_EQ(*r, Queue::Get::kMessage);
        EXPECT_EQ(seq, expect_seq++);
        uint64_t index = 0;
        EXPECT_EQ(put(q, pc, 0, &index), Queue::Put::kDone);
        EXPECT_EQ(index, (3u + round) % 4);
        EXPECT_EQ(q.messages(), 3u);
    }
    EXPECT_EQ(q.producer_index(), 13u % 4);
    EXPECT_EQ(q.consumer_index(), 10u % 4);
    for (int i = 0; i < 3; ++i) {
        uint64_t seq = 0;
        ASSERT_TRUE(q.get(entry, &seq, kNoWait, cc));
        EXPECT_EQ(seq, expect_seq++);
    }
    EXPECT_EQ(q.messages(), 0u);
}

TEST(PcqQueue, AStoppedProducerGivesUpOnAFullQueue) {
    Memory m(2);
    Queue q = make_queue(m, 2);
    Counters pc;
    EXPECT_EQ(put(q, pc), Queue::Put::kDone);
    std::atomic<bool> stop{true};
    std::vector<uint8_t> entry(kBucket);
    auto r = q.put(entry, WaitPolicy{true, &stop}, pc);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, Queue::Put::kStopped);
    std::vector<uint8_t> out(kBucket);
    Counters cc;
    auto g = Queue(q).get(out, nullptr, WaitPolicy{true, &stop}, cc);
    ASSERT_TRUE(g);
    EXPECT_EQ(*g, Queue::Get::kMessage);  // a message waiting is taken even when stopping
    g = q.get(out, nullptr, WaitPolicy{true, &stop}, cc);
    ASSERT_TRUE(g);
    EXPECT_EQ(*g, Queue::Get::kStopped);
}

TEST(PcqQueue, ACorruptBucketIsABadCrcAndTheQueueStaysAsItWas) {
    Memory m(8);
    Queue q = make_queue(m, 8);
    Counters pc, cc;
    put(q, pc, 9);
    m.p()[kBucketArrayOffset + 5] ^= 0x01;  // one bit of bucket 0's payload
    std::vector<uint8_t> entry(kBucket);
    auto r = q.get(entry, nullptr, kNoWait, cc);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, EBADMSG);
    EXPECT_NE(r.error().message.find("q: bucket 0 (message seq 0): bad CRC after 2 retries"),
              std::string::npos)
        << r.error().message;
    EXPECT_EQ(cc.retries, 1u);
    EXPECT_EQ(cc.errors, 1u);
    EXPECT_EQ(cc.received, 0u);
    EXPECT_EQ(q.consumer_index(), 0u);
    EXPECT_EQ(q.consumer_next_seq(), 0u);
    EXPECT_EQ(q.messages(), 1u);
}

TEST(PcqQueue, AWrongSequenceNumberIsCaught) {
    Memory m(8);
    Queue q = make_queue(m, 8);
    Counters pc, cc;
    put(q, pc);
    auto bucket0 = m.p().subspan(kBucketArrayOffset, kBucket);
    seal_bucket(bucket0, 5);  // a valid CRC around the wrong number
    std::vector<uint8_t> entry(kBucket);
    auto r = q.get(entry, nullptr, kNoWait, cc);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("bucket 0 holds message seq 5, expected 0"), std::string::npos)
        << r.error().message;
    EXPECT_EQ(cc.retries, 0u);
    EXPECT_EQ(q.consumer_index(), 0u);
}

// Memory that is not coherent: the consumer's first copy of the bucket is
// stale, and its invalidation brings the producer's bytes.
class StaleUntilInvalidated final : public CacheOps {
  public:
    void flush(const void*, size_t) const override {}
    void invalidate(const void* p, size_t n) const override {
        if (!armed || n != fresh.size()) return;
        std::memcpy(const_cast<void*>(p), fresh.data(), n);
        armed = false;
        ++repairs;
    }
    mutable bool armed = false;
    mutable int repairs = 0;
    std::vector<uint8_t> fresh;
};

TEST(PcqQueue, AStaleBucketIsReadAgainAfterInvalidation) {
    Memory m(8);
    StaleUntilInvalidated cache;
    Queue q = make_queue(m, 8, cache);
    Counters pc, cc;
    put(q, pc, 11);
    auto bucket0 = m.p().subspan(kBucketArrayOffset, kBucket);
    cache.fresh.assign(bucket0.begin(), bucket0.end());
    std::memset(bucket0.data(), 0x5a, bucket0.size());  // what a stale cache holds
    cache.armed = true;
    std::vector<uint8_t> entry(kBucket);
    uint64_t seq = 99;
    auto r = q.get(entry, &seq, kNoWait, cc);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, Queue::Get::kMessage);
    EXPECT_EQ(seq, 0u);
    EXPECT_EQ(cache.repairs, 1);
    EXPECT_EQ(cc.retries, 1u);
    EXPECT_EQ(cc.errors, 0u);
    EXPECT_FALSE(payload_mismatch(11, std::span(entry).first(q.payload_size())));
}

TEST(PcqPayload, ACorruptPayloadWithAValidCrcFailsThePatternCheck) {
    Memory m(8);
    Queue q = make_queue(m, 8);
    Counters pc, cc;
    put(q, pc, 42);
    auto bucket0 = m.p().subspan(kBucketArrayOffset, kBucket);
    bucket0[20] ^= 0xff;
    seal_bucket(bucket0, 0);  // the damage happened before the CRC was taken
    std::vector<uint8_t> entry(kBucket);
    auto r = q.get(entry, nullptr, kNoWait, cc);
    ASSERT_TRUE(r) << r.error().message;
    const auto payload = std::span<const uint8_t>(entry).first(q.payload_size());
    ASSERT_TRUE(payload_mismatch(42, payload));
    EXPECT_EQ(*payload_mismatch(42, payload), 20u);
    EXPECT_TRUE(payload_mismatch(43, payload));  // another seed's pattern
    EXPECT_FALSE(payload_mismatch(0, payload));  // no seed: not checked
}

TEST(PcqPayload, SeededPayloadIsTheReferencePattern) {
    // The reference fills payloads with randomize_buffer(seed): the famfs
    // test pattern, the low 32 bits of xoroshiro128+ outputs little-endian.
    std::vector<uint8_t> a(48), b(48);
    fill_payload(43, a);
    fill_pattern(43, b);
    EXPECT_EQ(a, b);
    fill_payload(0, a);
    EXPECT_EQ(a, std::vector<uint8_t>(48, 0));
}

TEST(PcqAttach, RefusesMemoryThatIsNotAQueue) {
    Memory m(8);
    make_queue(m, 8);
    auto attach = [&] { return Queue::attach(m.p(), m.c(), no_cache_maintenance(), "q"); };
    store_u64(m.p(), producer_field::kIndex, 8);  // out of range
    auto r = attach();
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("producer index 8 is out of range (8 buckets)"),
              std::string::npos)
        << r.error().message;
    store_u64(m.p(), producer_field::kIndex, 0);
    store_u64(m.c(), consumer_field::kIndex, 100);
    EXPECT_FALSE(attach());
    store_u64(m.c(), consumer_field::kIndex, 0);
    EXPECT_TRUE(attach());
    store_u64(m.p(), producer_field::kNbuckets, 1u << 20);  // more than the file holds
    r = attach();
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("do not fit in the file"), std::string::npos);
    store_u64(m.p(), producer_field::kNbuckets, 8);
    store_u32(m.c(), consumer_field::kMagic, 0);
    r = attach();
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("q.consumer: not a pcq consumer file"), std::string::npos);
    store_u32(m.c(), consumer_field::kMagic, kConsumerMagic);
    store_u64(m.p(), producer_field::kMagic, 0);
    r = attach();
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("q: not a pcq producer file"), std::string::npos);
}

TEST(PcqQueue, ProducerAndConsumerThreadsHandOverEveryMessageInOrder) {
    constexpr uint64_t kMessages = 20000;
    Memory m(8, 128);
    Queue producer = make_queue(m, 8, cpu_cache(), 128);
    Queue consumer = producer;
    Counters pc, cc;
    std::thread t([&] {
        std::vector<uint8_t> entry(128);
        fill_payload(3, std::span(entry).first(producer.payload_size()));
        for (uint64_t i = 0; i < kMessages; ++i) {
            auto r = producer.put(entry, WaitPolicy{true, nullptr}, pc);
            ASSERT_TRUE(r && *r == Queue::Put::kDone);
        }
    });
    std::vector<uint8_t> entry(128);
    uint64_t bad_payloads = 0;
    for (uint64_t i = 0; i < kMessages; ++i) {
        uint64_t seq = 0;
        auto r = consumer.get(entry, &seq, WaitPolicy{true, nullptr}, cc);
        ASSERT_TRUE(r) << r.error().message;
        ASSERT_EQ(seq, i);
        bad_payloads +=
            payload_mismatch(3, std::span(entry).first(consumer.payload_size())).has_value();
    }
    t.join();
    EXPECT_EQ(bad_payloads, 0u);
    EXPECT_EQ(pc.sent, kMessages);
    EXPECT_EQ(cc.received, kMessages);
    EXPECT_EQ(cc.errors, 0u);
    EXPECT_EQ(consumer.messages(), 0u);
}

}  // namespace
}  // namespace famfs::pcq
