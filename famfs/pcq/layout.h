// The reference famfs pcq's memory format, byte for byte, so that a pcq of
// either implementation on any host reads the other's queue. A queue is two
// famfs files:
//   NAME           the producer's file: a header (the producer's index and
//                  sequence number) and, from offset 2 MiB, the buckets;
//   NAME.consumer  the consumer's file (2 MiB): the consumer's index and
//                  sequence number.
// Each side writes only its own file, so neither ever stores into a cache
// line the other stores into. A bucket is a message: the payload, then the
// message's sequence number (u64), then zlib's CRC-32 of payload and
// sequence number, stored as a u64. Every field is little-endian (the
// reference stores its C structs natively on x86-64).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>

namespace famfs::pcq {

static_assert(std::endian::native == std::endian::little,
              "the queue's fields are stored natively, which the format defines as little-endian");

inline constexpr uint64_t kProducerMagic = 0xBEEBEE3;
inline constexpr uint32_t kConsumerMagic = 0xBEEBEE4;
inline constexpr uint64_t kBucketArrayOffset = 2ull << 20;
inline constexpr uint64_t kConsumerFileSize = 2ull << 20;

// The producer file's header (the reference's struct pcq). next_seq sits
// 1 KiB past producer_index, off its cache line.
namespace producer_field {
inline constexpr size_t kMagic = 0;
inline constexpr size_t kNbuckets = 8;
inline constexpr size_t kBucketSize = 16;
inline constexpr size_t kBucketArrayOffset = 24;
inline constexpr size_t kIndex = 32;
inline constexpr size_t kNextSeq = 1064;
inline constexpr size_t kFileSize = 1072;
inline constexpr size_t kHeaderEnd = 1080;
}  // namespace producer_field

// The consumer file's header (struct pcq_consumer): a u32 magic, then the
// index; next_seq sits 1 MiB further on.
namespace consumer_field {
inline constexpr size_t kMagic = 0;
inline constexpr size_t kIndex = 8;
inline constexpr size_t kNextSeq = 1048592;
inline constexpr size_t kFileSize = 1048600;
inline constexpr size_t kHeaderEnd = 1048608;
}  // namespace consumer_field

// The smallest bucket with a payload: 16 bytes of sequence number and CRC.
inline constexpr uint64_t kMinBucketSize = 32;
inline constexpr uint64_t kBucketTrailer = 16;

inline constexpr uint64_t payload_size(uint64_t bucket_size) {
    return bucket_size - kBucketTrailer;
}
inline constexpr uint64_t seq_offset(uint64_t bucket_size) {
    return bucket_size - 16;
}
inline constexpr uint64_t crc_offset(uint64_t bucket_size) {
    return bucket_size - 8;
}
// The producer file's size for a geometry (the reference sizes it so).
inline constexpr uint64_t producer_file_size(uint64_t nbuckets, uint64_t bucket_size) {
    return kBucketArrayOffset + nbuckets * bucket_size;
}

uint64_t load_u64(std::span<const uint8_t> bytes, size_t offset);
uint32_t load_u32(std::span<const uint8_t> bytes, size_t offset);
void store_u64(std::span<uint8_t> bytes, size_t offset, uint64_t value);
void store_u32(std::span<uint8_t> bytes, size_t offset, uint32_t value);

// zlib's CRC-32 of a bucket's payload and sequence number.
uint32_t bucket_crc(std::span<const uint8_t> bucket);
// Writes seq and the CRC into a bucket (its payload already filled).
void seal_bucket(std::span<uint8_t> bucket, uint64_t seq);
// The CRC stored in a bucket (a u64; a valid one has its high half zero).
uint64_t stored_crc(std::span<const uint8_t> bucket);
uint64_t stored_seq(std::span<const uint8_t> bucket);

}  // namespace famfs::pcq
