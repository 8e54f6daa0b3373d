// The host identity file: both writers' layouts are read, padding is
// ignored, and a file that does not hold a UUID is an error naming the file
// (never a silent client role).
#include "famfs/system_uuid.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "famfs/volume.h"
#include "famfs_test_support.h"

namespace famfs {
namespace {

constexpr const char* kText = "8f2c1a9e-4b7d-4e21-9c3a-5d6e7f809102";

omf::Uuid expected() {
    return *omf::uuid_from_string(kText);
}

std::string bytes(std::string_view s) {
    return std::string(s.data(), s.size());
}

TEST(SystemUuid, ReadsTheReferenceLayoutByteForByte) {
    // 36 characters and one NUL, no newline: what the reference famfs writes.
    std::string ref(kText);
    ref.push_back('\0');
    ASSERT_EQ(ref.size(), 37u);
    auto u = parse_system_uuid(ref);
    ASSERT_TRUE(u.ok()) << u.error().message;
    EXPECT_EQ(*u, expected());
}

TEST(SystemUuid, ReadsOurLayoutAndIgnoresPadding) {
    const std::string t(kText);
    for (const std::string& text :
         {t + "\n", t, t + "\r\n", "  " + t + " \t\n\n", t + bytes({"\0\0\0\n", 4}),
          bytes({"\n\0", 2}) + t + bytes({"\0", 1})}) {
        auto u = parse_system_uuid(text);
        ASSERT_TRUE(u.ok()) << u.error().message;
        EXPECT_EQ(*u, expected());
    }
    auto upper = parse_system_uuid("8F2C1A9E-4B7D-4E21-9C3A-5D6E7F809102\n");
    ASSERT_TRUE(upper.ok());
    EXPECT_EQ(*upper, expected());
}

TEST(SystemUuid, RefusesWhatIsNotAUuidAndSaysWhy) {
    EXPECT_NE(parse_system_uuid("").error().message.find("empty"), std::string::npos);
    EXPECT_NE(parse_system_uuid(bytes({"\0\n \0", 4})).error().message.find("only whitespace"),
              std::string::npos);
    auto garbage = parse_system_uuid("hello world\n");
    ASSERT_FALSE(garbage.ok());
    EXPECT_EQ(garbage.error().code, EINVAL);
    EXPECT_NE(garbage.error().message.find("'hello world' is not a UUID"), std::string::npos)
        << garbage.error().message;
    // A UUID with something after it is not a UUID file either.
    EXPECT_FALSE(parse_system_uuid(std::string(kText) + " extra\n").ok());
    EXPECT_FALSE(parse_system_uuid(std::string(kText) + bytes({"\0x", 2})).ok());
    EXPECT_FALSE(parse_system_uuid(std::string(kText).substr(0, 35)).ok());
    // A long file is cut short in the message.
    auto big = parse_system_uuid(std::string(10000, 'x'));
    ASSERT_FALSE(big.ok());
    EXPECT_LT(big.error().message.size(), 200u) << big.error().message;
}

// Replaces this host's system-UUID file for one test.
class UuidFileTest : public ::testing::Test {
  protected:
    void SetUp() override { saved_ = test::host_uuid(); }
    void TearDown() override { write(omf::uuid_to_string(saved_) + "\n"); }
    static void write(const std::string& content) {
        std::ofstream out(system_uuid_path(), std::ios::binary | std::ios::trunc);
        out << content;
    }
    omf::Uuid saved_{};
};

TEST_F(UuidFileTest, ReferenceFileMakesThisHostTheMaster) {
    std::string ref(kText);
    ref.push_back('\0');
    write(ref);
    auto me = local_system_uuid();
    ASSERT_TRUE(me.ok()) << me.error().message;
    EXPECT_EQ(*me, expected());
}

TEST_F(UuidFileTest, GarbageIsAnErrorNamingTheFile) {
    write("not-a-uuid\n");
    auto me = local_system_uuid();
    ASSERT_FALSE(me.ok());
    EXPECT_EQ(me.error().code, EINVAL);
    EXPECT_EQ(me.error().message.rfind(system_uuid_path() + ": does not hold a system UUID", 0), 0u)
        << me.error().message;
    EXPECT_NE(me.error().message.find("'not-a-uuid'"), std::string::npos) << me.error().message;
    write("");
    EXPECT_NE(local_system_uuid().error().message.find("the file is empty"), std::string::npos);
    write(std::string(5000, '\n') + kText);
    auto big = local_system_uuid();
    ASSERT_FALSE(big.ok());
    EXPECT_NE(big.error().message.find("larger than 4096 bytes"), std::string::npos)
        << big.error().message;
}

TEST_F(UuidFileTest, GarbageNeverOpensAVolumeAsAClient) {
    std::shared_ptr<Device> dev = test::formatted_memory(64 * test::kMiB);
    write("garbage");
    auto vol = Volume::open(dev);
    ASSERT_FALSE(vol.ok()) << "opened with role " << to_string(vol.value()->role());
    EXPECT_NE(vol.error().message.find(system_uuid_path() + ": does not hold a system UUID"),
              std::string::npos)
        << vol.error().message;
    write(omf::uuid_to_string(saved_) + "\n");
    auto again = Volume::open(dev);
    ASSERT_TRUE(again.ok()) << again.error().message;
    EXPECT_EQ(again.value()->role(), Role::kMaster);
}

}  // namespace
}  // namespace famfs
