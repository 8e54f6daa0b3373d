// The famfs test pattern of docs/cli.md: a byte stream made of the low 32 bits of
// successive xoroshiro128+ outputs, little-endian. A final partial word uses
// the low bytes of one more output, which is exactly what consuming the
// stream byte by byte gives, so chunked generation equals one-shot generation.
#include "famfs/test_pattern.h"

#include <algorithm>
#include <cstring>

namespace famfs {
namespace {

uint64_t splitmix64_next(uint64_t& x) {
    x += 0x9E3779B97F4A7C15ULL;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

constexpr uint64_t rotl(uint64_t v, int k) {
    return (v << k) | (v >> (64 - k));
}

void store_le32(uint32_t w, uint8_t* out) {
    out[0] = static_cast<uint8_t>(w);
    out[1] = static_cast<uint8_t>(w >> 8);
    out[2] = static_cast<uint8_t>(w >> 16);
    out[3] = static_cast<uint8_t>(w >> 24);
}

}  // namespace

PatternStream::PatternStream(uint64_t seed) {
    uint64_t x = seed & 0xffffffffULL;  // the reference truncates the seed to 32 bits
    s0_ = splitmix64_next(x);
    s1_ = splitmix64_next(x);
}

uint32_t PatternStream::next_word() {
    const uint64_t result = s0_ + s1_;
    uint64_t s1 = s1_ ^ s0_;
    s0_ = rotl(s0_, 55) ^ s1 ^ (s1 << 14);
    s1_ = rotl(s1, 36);
    return static_cast<uint32_t>(result);
}

void PatternStream::generate(std::span<uint8_t> out) {
    size_t pos = 0;
    // Finish a word left over from the previous call first.
    while (pos < out.size() && pending_pos_ < pending_len_) out[pos++] = pending_[pending_pos_++];
    while (out.size() - pos >= 4) {
        store_le32(next_word(), out.data() + pos);
        pos += 4;
    }
    if (pos < out.size()) {
        store_le32(next_word(), pending_);
        pending_len_ = 4;
        pending_pos_ = 0;
        while (pos < out.size()) out[pos++] = pending_[pending_pos_++];
    }
}

std::optional<size_t> PatternStream::compare(std::span<const uint8_t> in) {
    uint8_t buf[4096];
    for (size_t done = 0; done < in.size();) {
        const size_t n = std::min(sizeof(buf), in.size() - done);
        generate({buf, n});
        if (std::memcmp(buf, in.data() + done, n) != 0) {
            for (size_t i = 0; i < n; ++i)
                if (buf[i] != in[done + i]) return done + i;
        }
        done += n;
    }
    return std::nullopt;
}

void fill_pattern(uint64_t seed, std::span<uint8_t> out) {
    PatternStream(seed).generate(out);
}

std::optional<size_t> verify_pattern(uint64_t seed, std::span<const uint8_t> in) {
    return PatternStream(seed).compare(in);
}

}  // namespace famfs
