#include "payload.h"

#include <algorithm>

#include "famfs/test_pattern.h"

namespace famfs::pcq {

void fill_payload(uint64_t seed, std::span<uint8_t> payload) {
    if (seed)
        fill_pattern(seed, payload);
    else
        std::fill(payload.begin(), payload.end(), 0);
}

std::optional<size_t> payload_mismatch(uint64_t seed, std::span<const uint8_t> payload) {
    if (!seed) return std::nullopt;
    return verify_pattern(seed, payload);
}

}  // namespace famfs::pcq
