#include "layout.h"

#include <zlib.h>

#include <cstring>

namespace famfs::pcq {

uint64_t load_u64(std::span<const uint8_t> bytes, size_t offset) {
    uint64_t v;
    std::memcpy(&v, bytes.data() + offset, sizeof v);
    return v;
}

uint32_t load_u32(std::span<const uint8_t> bytes, size_t offset) {
    uint32_t v;
    std::memcpy(&v, bytes.data() + offset, sizeof v);
    return v;
}

void store_u64(std::span<uint8_t> bytes, size_t offset, uint64_t value) {
    std::memcpy(bytes.data() + offset, &value, sizeof value);
}

void store_u32(std::span<uint8_t> bytes, size_t offset, uint32_t value) {
    std::memcpy(bytes.data() + offset, &value, sizeof value);
}

uint32_t bucket_crc(std::span<const uint8_t> bucket) {
    const uint64_t covered = crc_offset(bucket.size());
    return static_cast<uint32_t>(crc32_z(crc32_z(0, nullptr, 0), bucket.data(), covered));
}

void seal_bucket(std::span<uint8_t> bucket, uint64_t seq) {
    store_u64(bucket, seq_offset(bucket.size()), seq);
    store_u64(bucket, crc_offset(bucket.size()), bucket_crc(bucket));
}

uint64_t stored_crc(std::span<const uint8_t> bucket) {
    return load_u64(bucket, crc_offset(bucket.size()));
}

uint64_t stored_seq(std::span<const uint8_t> bucket) {
    return load_u64(bucket, seq_offset(bucket.size()));
}

}  // namespace famfs::pcq
