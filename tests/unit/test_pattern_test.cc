// The test pattern against the reference tool's output (golden files) and
// its own stream semantics.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "famfs/test_pattern.h"

namespace famfs {
namespace {

std::vector<uint8_t> golden(const std::string& seed) {
    const std::string path =
        std::string(FAMFS_GOLDEN_DIR) + "/test-pattern/seed-" + seed + "-4099.bin";
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in.good()) << path;
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(TestPattern, MatchesTheReferenceForEveryGoldenSeed) {
    for (const char* seed : {"1", "42", "4294967295", "12345678901"}) {
        const auto want = golden(seed);
        ASSERT_EQ(want.size(), 4099u) << seed;
        std::vector<uint8_t> got(want.size());
        fill_pattern(std::stoull(seed), got);
        EXPECT_EQ(got, want) << "seed " << seed;
        EXPECT_FALSE(verify_pattern(std::stoull(seed), want).has_value()) << seed;
    }
}

TEST(TestPattern, SeedIsTruncatedTo32Bits) {
    std::vector<uint8_t> a(64), b(64);
    fill_pattern(12345678901ULL, a);
    fill_pattern(3755744309ULL, b);
    EXPECT_EQ(a, b);
    fill_pattern((1ULL << 32) + 1, a);
    fill_pattern(1, b);
    EXPECT_EQ(a, b);
}

TEST(TestPattern, ChunkedGenerationEqualsOneShot) {
    std::vector<uint8_t> whole(10007);
    fill_pattern(42, whole);
    for (size_t chunk : {1, 2, 3, 5, 7, 4096, 4099}) {
        PatternStream s(42);
        std::vector<uint8_t> pieces(whole.size());
        for (size_t off = 0; off < pieces.size(); off += chunk) {
            const size_t n = std::min(chunk, pieces.size() - off);
            s.generate({pieces.data() + off, n});
        }
        EXPECT_EQ(pieces, whole) << "chunk " << chunk;
    }
    // Uneven chunks, including empty ones.
    PatternStream s(42);
    std::vector<uint8_t> pieces(whole.size());
    size_t off = 0;
    for (size_t n = 0; off < pieces.size(); n = (n * 7 + 3) % 13) {
        n = std::min(n, pieces.size() - off);
        s.generate({pieces.data() + off, n});
        off += n;
    }
    EXPECT_EQ(pieces, whole);
}

TEST(TestPattern, CompareFindsTheFirstMismatch) {
    std::vector<uint8_t> data(5000);
    fill_pattern(7, data);
    data[3001] ^= 1;
    data[4000] ^= 1;
    auto at = verify_pattern(7, data);
    ASSERT_TRUE(at.has_value());
    EXPECT_EQ(*at, 3001u);
    EXPECT_TRUE(verify_pattern(8, data).has_value()) << "a different seed must not verify";

    // Chunked compare reports offsets relative to the chunk it was given.
    PatternStream s(7);
    EXPECT_FALSE(s.compare({data.data(), 3000}).has_value());
    auto rel = s.compare({data.data() + 3000, 2000});
    ASSERT_TRUE(rel.has_value());
    EXPECT_EQ(*rel, 1u);
}

TEST(TestPattern, DifferentSeedsDiffer) {
    std::vector<uint8_t> a(32), b(32);
    fill_pattern(1, a);
    fill_pattern(2, b);
    EXPECT_NE(a, b);
}

}  // namespace
}  // namespace famfs
