// The famfs test pattern (docs/cli.md): xoroshiro128+ seeded by two SplitMix64
// steps from the seed truncated to 32 bits; files are filled 4 bytes at a
// time with the low 32 bits of each output, little-endian.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace famfs {

class PatternStream {
  public:
    explicit PatternStream(uint64_t seed);
    // Produces the next n bytes of the stream. Calls may use any lengths; the
    // stream is the same as one call for the whole file.
    void generate(std::span<uint8_t> out);
    // Compares the next bytes of the stream; returns the offset (relative to
    // `in`) of the first mismatch.
    std::optional<size_t> compare(std::span<const uint8_t> in);

  private:
    uint32_t next_word();
    uint64_t s0_, s1_;
    uint8_t pending_[4]{};
    size_t pending_len_ = 0;  // bytes of a word not yet consumed
    size_t pending_pos_ = 0;
};

void fill_pattern(uint64_t seed, std::span<uint8_t> out);
// Offset of the first byte that differs from the pattern, if any.
std::optional<size_t> verify_pattern(uint64_t seed, std::span<const uint8_t> in);

}  // namespace famfs
