#include <gtest/gtest.h>

#include "famfs/sizes.h"

namespace famfs {
namespace {

TEST(ParseSize, NumbersAndSuffixes) {
    const std::pair<const char*, uint64_t> cases[] = {{"0", 0},
                                                      {"1", 1},
                                                      {"4096", 4096},
                                                      {"1k", 1024},
                                                      {"1K", 1024},
                                                      {"3m", 3ULL << 20},
                                                      {"256M", 256ULL << 20},
                                                      {"2g", 2ULL << 30},
                                                      {"16G", 16ULL << 30},
                                                      {"0x200000", 0x200000},
                                                      {"0x10m", 16ULL << 20},
                                                      {"18446744073709551615", ~0ULL}};
    for (const auto& [text, want] : cases) {
        auto v = parse_size(text);
        ASSERT_TRUE(v.ok()) << text << ": " << v.error().message;
        EXPECT_EQ(*v, want) << text;
    }
}

TEST(ParseSize, RejectsWithAMessageNamingTheText) {
    for (const char* bad : {"", "k", "m", "12x", "1.5g", "-1", "1 m", "1kk", "g1",
                            "18446744073709551616", "17179869184g", "0x"}) {
        auto v = parse_size(bad);
        ASSERT_FALSE(v.ok()) << "'" << bad << "'";
        EXPECT_EQ(v.error().code, EINVAL);
        EXPECT_NE(v.error().message.find(std::string("'") + bad + "'"), std::string::npos)
            << v.error().message;
    }
}

TEST(HumanSize, BinaryUnitsWithTwoDecimals) {
    EXPECT_EQ(human_size(0), "0 B");
    EXPECT_EQ(human_size(1023), "1023 B");
    EXPECT_EQ(human_size(1024), "1.00 KiB");
    EXPECT_EQ(human_size(1536), "1.50 KiB");
    EXPECT_EQ(human_size(64ull << 20), "64.00 MiB");
    EXPECT_EQ(human_size(8ull << 30), "8.00 GiB");
    EXPECT_EQ(human_size(~0ull), "16.00 EiB");
}

}  // namespace
}  // namespace famfs
