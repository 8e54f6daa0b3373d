// escaped(): what every relpath and message from the log goes through
// before it is printed.
#include "famfs/escape.h"

#include <gtest/gtest.h>

#include <string>

namespace famfs {
namespace {

TEST(Escaped, PrintableAsciiIsKept) {
    EXPECT_EQ(escaped("dir/file-1.bin"), "dir/file-1.bin");
    EXPECT_EQ(escaped("a b ~!@#$%^&*()"), "a b ~!@#$%^&*()");
    EXPECT_EQ(escaped(""), "");
}

TEST(Escaped, ControlBytesBecomeHex) {
    EXPECT_EQ(escaped("a\nb"), "a\\x0ab");
    EXPECT_EQ(escaped("\x1b[31mred"), "\\x1b[31mred");
    EXPECT_EQ(escaped("tab\there\r"), "tab\\x09here\\x0d");
    EXPECT_EQ(escaped("del\x7f"), "del\\x7f");
    EXPECT_EQ(escaped(std::string("nul\0x", 5)), "nul\\x00x");
}

TEST(Escaped, BackslashAndChosenSeparatorsAreEscaped) {
    EXPECT_EQ(escaped("a\\x0ab"), "a\\x5cx0ab") << "an escape sequence cannot be forged";
    EXPECT_EQ(escaped("a,b"), "a,b");
    EXPECT_EQ(escaped("a,b", ","), "a\\x2cb");
}

TEST(Escaped, WellFormedUtf8IsKept) {
    EXPECT_EQ(escaped("caf\xc3\xa9"), "caf\xc3\xa9");            // é
    EXPECT_EQ(escaped("\xe2\x82\xac"), "\xe2\x82\xac");          // €
    EXPECT_EQ(escaped("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");  // an emoji
    EXPECT_EQ(escaped("\xc2\xa0nbsp"), "\xc2\xa0nbsp");          // U+00A0
}

TEST(Escaped, MalformedUtf8IsEscapedByteByByte) {
    EXPECT_EQ(escaped("\x9b"
                      "31m"),
              "\\x9b31m")
        << "a lone 8-bit CSI";
    EXPECT_EQ(escaped("\xff\xfe"), "\\xff\\xfe");
    EXPECT_EQ(escaped("\xc3"), "\\xc3") << "truncated";
    EXPECT_EQ(escaped("\xc3x"), "\\xc3x") << "bad continuation";
    EXPECT_EQ(escaped("\xc0\xaf"), "\\xc0\\xaf") << "overlong '/'";
    EXPECT_EQ(escaped("\xed\xa0\x80"), "\\xed\\xa0\\x80") << "a UTF-16 surrogate";
    EXPECT_EQ(escaped("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80") << "past U+10FFFF";
    EXPECT_EQ(escaped("\xe2\x82"
                      "a\xc3\xa9"),
              "\\xe2\\x82a\xc3\xa9")
        << "resyncs";
}

TEST(Escaped, InvisibleControlCharactersAreEscaped) {
    EXPECT_EQ(escaped("\xc2\x9b"
                      "1m"),
              "\\xc2\\x9b1m")
        << "C1 CSI";
    EXPECT_EQ(escaped("a\xe2\x80\xae"
                      "b"),
              "a\\xe2\\x80\\xaeb")
        << "right-to-left override";
    EXPECT_EQ(escaped("a\xe2\x81\xa6"), "a\\xe2\\x81\\xa6") << "left-to-right isolate";
    EXPECT_EQ(escaped("a\xe2\x80\xa8"), "a\\xe2\\x80\\xa8") << "line separator";
}

TEST(Escaped, OutputHasNoControlBytesWhateverTheInput) {
    std::string all;
    for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
    const std::string out = escaped(all + all);
    for (const char c : out) {
        const auto b = static_cast<unsigned char>(c);
        EXPECT_FALSE(b < 0x20 || b == 0x7f) << static_cast<int>(b);
    }
}

}  // namespace
}  // namespace famfs
