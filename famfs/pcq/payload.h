// Message payloads: with a seed, the famfs test pattern (test_pattern.h),
// which is the reference pcq's seeded payload byte for byte; the consumer
// checks it. Without a seed the payload is zeros and is not checked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace famfs::pcq {

void fill_payload(uint64_t seed, std::span<uint8_t> payload);
// The offset of the first byte that is not the pattern of `seed`.
std::optional<size_t> payload_mismatch(uint64_t seed, std::span<const uint8_t> payload);

}  // namespace famfs::pcq
