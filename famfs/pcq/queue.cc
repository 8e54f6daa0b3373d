#include "queue.h"

#include <sched.h>
#include <time.h>

#include <atomic>
#include <cstring>
#include <limits>

#include "famfs/cache.h"
#include "layout.h"

namespace famfs::pcq {
namespace {

class CpuCache final : public CacheOps {
  public:
    void flush(const void* p, size_t n) const override { cache::flush(p, n); }
    void invalidate(const void* p, size_t n) const override { cache::invalidate(p, n); }
};

class NoCacheMaintenance final : public CacheOps {
  public:
    void flush(const void*, size_t) const override {}
    void invalidate(const void*, size_t) const override {}
};

std::string hex(uint64_t v) {
    char buf[24];
    snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

bool stop_requested(const WaitPolicy& w) {
    return w.stop && w.stop->load(std::memory_order_relaxed);
}

// The other side is usually a moment away: yield first, then sleep briefly
// so that a long wait does not hold a CPU the other side may need.
void back_off(unsigned spins) {
    if (spins < 64) {
        sched_yield();
        return;
    }
    const timespec pause{0, 50'000};
    nanosleep(&pause, nullptr);
}

bool power_of_two(uint64_t v) {
    return v != 0 && (v & (v - 1)) == 0;
}

}  // namespace

const CacheOps& cpu_cache() {
    static const CpuCache ops;
    return ops;
}

const CacheOps& no_cache_maintenance() {
    static const NoCacheMaintenance ops;
    return ops;
}

Status Queue::check_geometry(uint64_t nbuckets, uint64_t bucket_size, const std::string& name) {
    if (!power_of_two(bucket_size) || bucket_size < kMinBucketSize)
        return make_error(EINVAL, name + ": bucket size " + std::to_string(bucket_size) +
                                      " must be a power of 2 of at least " +
                                      std::to_string(kMinBucketSize));
    if (nbuckets < 2)
        return make_error(EINVAL, name +
                                      ": a queue needs at least 2 buckets (one always "
                                      "stays free to tell full from empty)");
    if (nbuckets > (std::numeric_limits<uint64_t>::max() - kBucketArrayOffset) / bucket_size)
        return make_error(EINVAL, name + ": " + std::to_string(nbuckets) + " buckets of " +
                                      std::to_string(bucket_size) + " bytes do not fit in 64 bits");
    return {};
}

Status Queue::format(std::span<uint8_t> producer_file, std::span<uint8_t> consumer_file,
                     uint64_t nbuckets, uint64_t bucket_size, const CacheOps& cache,
                     const std::string& name) {
    FAMFS_TRY(check_geometry(nbuckets, bucket_size, name));
    if (producer_file.size() < producer_file_size(nbuckets, bucket_size))
        return make_error(EINVAL, name + ": the producer file is too small for " +
                                      std::to_string(nbuckets) + " buckets of " +
                                      std::to_string(bucket_size) + " bytes");
    if (consumer_file.size() < consumer_field::kHeaderEnd)
        return make_error(EINVAL, name + ".consumer: the file is too small for the header");

    namespace p = producer_field;
    store_u64(producer_file, p::kNbuckets, nbuckets);
    store_u64(producer_file, p::kBucketSize, bucket_size);
    store_u64(producer_file, p::kBucketArrayOffset, kBucketArrayOffset);
    store_u64(producer_file, p::kIndex, 0);
    store_u64(producer_file, p::kNextSeq, 0);
    store_u64(producer_file, p::kFileSize, producer_file.size());
    store_u64(producer_file, p::kMagic, kProducerMagic);
    cache.flush(producer_file.data(), p::kHeaderEnd);

    namespace c = consumer_field;
    store_u32(consumer_file, c::kMagic + 4, 0);
    store_u64(consumer_file, c::kIndex, 0);
    store_u64(consumer_file, c::kNextSeq, 0);
    store_u64(consumer_file, c::kFileSize, consumer_file.size());
    store_u32(consumer_file, c::kMagic, kConsumerMagic);
    cache.flush(consumer_file.data(), c::kHeaderEnd);
    return {};
}

Result<Queue> Queue::attach(std::span<uint8_t> producer_file, std::span<uint8_t> consumer_file,
                            const CacheOps& cache, std::string name) {
    namespace p = producer_field;
    namespace c = consumer_field;
    if (producer_file.size() < p::kHeaderEnd)
        return make_error(EINVAL, name + ": too small to hold a queue (" +
                                      std::to_string(producer_file.size()) + " bytes)");
    if (consumer_file.size() < c::kHeaderEnd)
        return make_error(EINVAL, name + ".consumer: too small to hold a queue's consumer (" +
                                      std::to_string(consumer_file.size()) + " bytes)");
    cache.invalidate(producer_file.data(), p::kHeaderEnd);
    cache.invalidate(consumer_file.data(), c::kIndex + 8);
    cache.invalidate(consumer_file.data() + c::kNextSeq, c::kHeaderEnd - c::kNextSeq);

    if (uint64_t m = load_u64(producer_file, p::kMagic); m != kProducerMagic)
        return make_error(EINVAL, name + ": not a pcq producer file (magic " + hex(m) +
                                      ", expected " + hex(kProducerMagic) + ")");
    if (uint32_t m = load_u32(consumer_file, c::kMagic); m != kConsumerMagic)
        return make_error(EINVAL, name + ".consumer: not a pcq consumer file (magic " + hex(m) +
                                      ", expected " + hex(kConsumerMagic) + ")");
    const uint64_t nbuckets = load_u64(producer_file, p::kNbuckets);
    const uint64_t bucket_size = load_u64(producer_file, p::kBucketSize);
    const uint64_t array = load_u64(producer_file, p::kBucketArrayOffset);
    if (!power_of_two(bucket_size) || bucket_size < kMinBucketSize)
        return make_error(EINVAL, name + ": bucket size " + std::to_string(bucket_size) +
                                      " is not a power of 2 of at least " +
                                      std::to_string(kMinBucketSize));
    if (nbuckets == 0 || array < p::kHeaderEnd || array % 8 != 0 || array > producer_file.size() ||
        nbuckets > (producer_file.size() - array) / bucket_size)
        return make_error(EINVAL, name + ": " + std::to_string(nbuckets) + " buckets of " +
                                      std::to_string(bucket_size) + " bytes at offset " +
                                      std::to_string(array) + " do not fit in the file (" +
                                      std::to_string(producer_file.size()) + " bytes)");
    Queue q(producer_file, consumer_file, cache, std::move(name));
    q.nbuckets_ = nbuckets;
    q.bucket_size_ = bucket_size;
    q.array_offset_ = array;
    FAMFS_TRY(q.checked_index(q.producer_index(), "producer"));
    FAMFS_TRY(q.checked_index(q.consumer_index(), "consumer"));
    return q;
}

Queue::Queue(std::span<uint8_t> producer, std::span<uint8_t> consumer, const CacheOps& cache,
             std::string name)
    : producer_(producer), consumer_(consumer), cache_(&cache), name_(std::move(name)) {}

uint64_t* Queue::field(std::span<uint8_t> file, size_t offset) const {
    return reinterpret_cast<uint64_t*>(file.data() + offset);
}

uint64_t Queue::load_shared(std::span<uint8_t> file, size_t offset) const {
    return std::atomic_ref<uint64_t>(*field(file, offset)).load(std::memory_order_acquire);
}

void Queue::store_shared(std::span<uint8_t> file, size_t offset, uint64_t value) const {
    std::atomic_ref<uint64_t>(*field(file, offset)).store(value, std::memory_order_release);
    cache_->flush(field(file, offset), sizeof value);
}

uint64_t Queue::producer_index() const {
    cache_->invalidate(field(producer_, producer_field::kIndex), 8);
    return load_shared(producer_, producer_field::kIndex);
}

uint64_t Queue::consumer_index() const {
    cache_->invalidate(field(consumer_, consumer_field::kIndex), 8);
    return load_shared(consumer_, consumer_field::kIndex);
}

uint64_t Queue::producer_next_seq() const {
    cache_->invalidate(field(producer_, producer_field::kNextSeq), 8);
    return load_shared(producer_, producer_field::kNextSeq);
}

uint64_t Queue::consumer_next_seq() const {
    cache_->invalidate(field(consumer_, consumer_field::kNextSeq), 8);
    return load_shared(consumer_, consumer_field::kNextSeq);
}

uint64_t Queue::messages() const {
    const uint64_t p = producer_index() % nbuckets_;
    const uint64_t c = consumer_index() % nbuckets_;
    return (p + nbuckets_ - c) % nbuckets_;
}

std::span<uint8_t> Queue::bucket(uint64_t index) const {
    return producer_.subspan(array_offset_ + index * bucket_size_, bucket_size_);
}

Result<uint64_t> Queue::checked_index(uint64_t index, const char* whose) const {
    if (index < nbuckets_) return index;
    return make_error(EINVAL, name_ + ": the " + std::string(whose) + " index " +
                                  std::to_string(index) + " is out of range (" +
                                  std::to_string(nbuckets_) + " buckets)");
}

Result<Queue::Put> Queue::put(std::span<uint8_t> entry, const WaitPolicy& wait, Counters& counters,
                              uint64_t* index) {
    namespace p = producer_field;
    uint64_t put_index = 0, next = 0;
    bool counted_full = false;
    for (unsigned spins = 0;; ++spins) {
        auto mine = checked_index(load_shared(producer_, p::kIndex), "producer");
        if (!mine) return mine.error();
        auto theirs = checked_index(load_shared(consumer_, consumer_field::kIndex), "consumer");
        if (!theirs) return theirs.error();
        put_index = *mine;
        next = (put_index + 1) % nbuckets_;
        if (next != *theirs) break;
        if (!counted_full) {
            counted_full = true;
            counters.full.fetch_add(1, std::memory_order_relaxed);
        }
        if (stop_requested(wait)) return Put::kStopped;
        if (!wait.wait) return Put::kFull;
        // Our copy of the consumer's index may be stale on non-coherent memory.
        cache_->invalidate(field(consumer_, consumer_field::kIndex), 8);
        back_off(spins);
    }
    const uint64_t seq = load_shared(producer_, p::kNextSeq);
    seal_bucket(entry, seq);
    const auto b = bucket(put_index);
    std::memcpy(b.data(), entry.data(), bucket_size_);
    cache_->flush(b.data(), b.size());  // the message is in memory before the index says so
    store_shared(producer_, p::kNextSeq, seq + 1);
    store_shared(producer_, p::kIndex, next);
    counters.sent.fetch_add(1, std::memory_order_relaxed);
    if (index) *index = put_index;
    return Put::kDone;
}

Result<Queue::Get> Queue::get(std::span<uint8_t> entry, uint64_t* seq, const WaitPolicy& wait,
                              Counters& counters, uint64_t* index) {
    bool counted_empty = false;
    for (unsigned spins = 0;; ++spins) {
        auto mine = checked_index(load_shared(consumer_, consumer_field::kIndex), "consumer");
        if (!mine) return mine.error();
        // The producer's index changes under us: never trust a cached copy.
        auto theirs = checked_index(producer_index(), "producer");
        if (!theirs) return theirs.error();
        if (*mine != *theirs) {
            FAMFS_TRY(receive(*mine, entry, counters));
            if (seq) *seq = stored_seq(entry);
            if (index) *index = *mine;
            return Get::kMessage;
        }
        if (!counted_empty) {
            counted_empty = true;
            counters.empty.fetch_add(1, std::memory_order_relaxed);
        }
        if (stop_requested(wait)) return Get::kStopped;
        if (!wait.wait) return Get::kEmpty;
        back_off(spins);
    }
}

Status Queue::receive(uint64_t index, std::span<uint8_t> entry, Counters& counters) const {
    namespace c = consumer_field;
    const uint64_t expected = load_shared(consumer_, c::kNextSeq);
    const auto b = bucket(index);
    bool counted_retry = false;
    // The first copy may come from stale cache lines (non-coherent memory):
    // a bad CRC sends us back to memory.
    for (int attempt = 0;; ++attempt) {
        std::memcpy(entry.data(), b.data(), bucket_size_);
        const uint32_t computed = bucket_crc(entry);
        const uint64_t stored = stored_crc(entry);
        if (stored == computed) break;
        cache_->invalidate(b.data(), b.size());
        if (!counted_retry) {
            counted_retry = true;
            counters.retries.fetch_add(1, std::memory_order_relaxed);
        }
        if (attempt == kConsumerRetries) {
            counters.errors.fetch_add(1, std::memory_order_relaxed);
            return make_error(EBADMSG, name_ + ": bucket " + std::to_string(index) +
                                           " (message seq " + std::to_string(expected) +
                                           "): bad CRC after " + std::to_string(kConsumerRetries) +
                                           " retries (stored " + hex(stored) + ", computed " +
                                           hex(computed) + "); cache coherency suspicious");
        }
    }
    if (const uint64_t got = stored_seq(entry); got != expected) {
        counters.errors.fetch_add(1, std::memory_order_relaxed);
        return make_error(EBADMSG, name_ + ": bucket " + std::to_string(index) +
                                       " holds message seq " + std::to_string(got) + ", expected " +
                                       std::to_string(expected));
    }
    store_shared(consumer_, c::kNextSeq, expected + 1);
    store_shared(consumer_, c::kIndex, (index + 1) % nbuckets_);
    counters.received.fetch_add(1, std::memory_order_relaxed);
    return {};
}

}  // namespace famfs::pcq
