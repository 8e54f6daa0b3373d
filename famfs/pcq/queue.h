// A producer/consumer queue in shared memory (layout.h): one producer and
// one consumer, each on any host that maps the two files. The producer
// copies a sealed message into the bucket at its index, writes the bucket
// back from its CPU cache, then advances its index (written back too); the
// consumer invalidates its cached copy of the producer's index before each
// look, copies the bucket out and checks its CRC and sequence number. On
// memory that is not coherent between hosts the consumer may still hold a
// stale copy of the bucket: a bad CRC makes it invalidate and read again,
// up to kConsumerRetries times, before the message is an error.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "famfs/result.h"

namespace famfs::pcq {

inline constexpr int kConsumerRetries = 2;

// CPU cache maintenance on the queue's memory.
class CacheOps {
  public:
    virtual ~CacheOps() = default;
    virtual void flush(const void* p, size_t n) const = 0;
    virtual void invalidate(const void* p, size_t n) const = 0;
};
// Write-back and invalidation with the CPU's instructions (famfs/cache.h).
const CacheOps& cpu_cache();
// None at all (--dontflush): only correct on coherent memory.
const CacheOps& no_cache_maintenance();

// What one side did; read by the status thread while the side runs.
struct Counters {
    std::atomic<uint64_t> sent{0};
    std::atomic<uint64_t> received{0};
    std::atomic<uint64_t> errors{0};
    std::atomic<uint64_t> full{0};     // puts that found the queue full
    std::atomic<uint64_t> empty{0};    // gets that found it empty
    std::atomic<uint64_t> retries{0};  // gets that had to re-read a bucket
};

// How a side waits on a full (producer) or empty (consumer) queue.
struct WaitPolicy {
    bool wait = true;                         // false: return kFull/kEmpty at once
    const std::atomic<bool>* stop = nullptr;  // set: give up waiting (kStopped)
};

class Queue {
  public:
    // A bucket size that is a power of 2 of at least kMinBucketSize, at
    // least 2 buckets, and a producer file size that fits in 64 bits.
    static Status check_geometry(uint64_t nbuckets, uint64_t bucket_size, const std::string& name);
    // Writes a new, empty queue's headers into the two files' memory and
    // writes them back. The producer file must hold the buckets.
    static Status format(std::span<uint8_t> producer_file, std::span<uint8_t> consumer_file,
                         uint64_t nbuckets, uint64_t bucket_size, const CacheOps& cache,
                         const std::string& name);
    // Checks both headers (magic numbers, a geometry that fits the file,
    // indices in range); `name` is the queue's name in messages.
    static Result<Queue> attach(std::span<uint8_t> producer_file, std::span<uint8_t> consumer_file,
                                const CacheOps& cache, std::string name);

    const std::string& name() const { return name_; }
    uint64_t nbuckets() const { return nbuckets_; }
    uint64_t bucket_size() const { return bucket_size_; }
    uint64_t payload_size() const { return bucket_size_ - 16; }

    // The shared state as this host sees it now (invalidated first).
    uint64_t producer_index() const;
    uint64_t consumer_index() const;
    uint64_t producer_next_seq() const;
    uint64_t consumer_next_seq() const;
    // Messages in the queue: from the consumer's index up to the producer's.
    uint64_t messages() const;

    enum class Put { kDone, kFull, kStopped };
    // Seals `entry` (bucket_size() bytes, payload filled) with the next
    // sequence number and puts it in the queue. Producer only, one thread.
    // An index out of range (memory that is not a queue any more) is an error.
    // `index`, when given, receives the bucket the message went into.
    Result<Put> put(std::span<uint8_t> entry, const WaitPolicy& wait, Counters& counters,
                    uint64_t* index = nullptr);

    enum class Get { kMessage, kEmpty, kStopped };
    // Copies the next message into `entry` (bucket_size() bytes) and
    // advances the consumer's index. A message whose CRC stays bad or whose
    // sequence number is not the expected one is an error naming the bucket;
    // the queue is then left as it was. Consumer only, one thread.
    Result<Get> get(std::span<uint8_t> entry, uint64_t* seq, const WaitPolicy& wait,
                    Counters& counters, uint64_t* index = nullptr);

  private:
    Queue(std::span<uint8_t> producer, std::span<uint8_t> consumer, const CacheOps& cache,
          std::string name);
    uint64_t* field(std::span<uint8_t> file, size_t offset) const;
    uint64_t load_shared(std::span<uint8_t> file, size_t offset) const;
    void store_shared(std::span<uint8_t> file, size_t offset, uint64_t value) const;
    std::span<uint8_t> bucket(uint64_t index) const;
    Result<uint64_t> checked_index(uint64_t index, const char* whose) const;
    Status receive(uint64_t index, std::span<uint8_t> entry, Counters& counters) const;

    std::span<uint8_t> producer_;
    std::span<uint8_t> consumer_;
    const CacheOps* cache_;
    std::string name_;
    uint64_t nbuckets_ = 0;
    uint64_t bucket_size_ = 0;
    uint64_t array_offset_ = 0;
};

}  // namespace famfs::pcq
