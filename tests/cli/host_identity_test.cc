// The host identity file as the reference famfs writes it (36 characters
// and a NUL, no newline) makes this host the master; a file that does not
// hold a UUID stops every command with an error naming it.
#include <fstream>
#include <string>

#include "cli_fixture.h"
#include "famfs/omf.h"

namespace famfs::clitest {
namespace {

constexpr const char* kUuid = "0b7e6a52-31c4-4f8e-a1d2-93e4c5b6a708";

class HostIdentityTest : public CliTest {
  protected:
    void write_uuid_file(const std::string& content) const {
        std::ofstream out(uuid_file_, std::ios::binary | std::ios::trunc);
        out.write(content.data(), static_cast<std::streamsize>(content.size()));
    }
    static std::string reference_layout() {
        std::string bytes(kUuid);
        bytes.push_back('\0');
        return bytes;
    }
};

TEST_F(HostIdentityTest, ReferenceLayoutFileMakesThisHostTheMaster) {
    write_uuid_file(reference_layout());
    ASSERT_EQ(read_local(uuid_file_).size(), 37u);
    format();
    EXPECT_EQ(open_volume()->superblock().system_uuid, *omf::uuid_from_string(kUuid));
    Outcome fsck = famfs({"fsck", "-v"});
    EXPECT_EQ(fsck.status, 0) << fsck.err;
    EXPECT_TRUE(contains(fsck.out, "role of this node: Owner")) << fsck.out;
    Outcome creat = famfs({"creat", "-s", "4k", "f"});
    EXPECT_EQ(creat.status, 0) << creat.err;
    Outcome mkdir = famfs({"mkdir", "d"});
    EXPECT_EQ(mkdir.status, 0) << mkdir.err;
    // Our own tools never rewrite a file they can read.
    EXPECT_EQ(read_local(uuid_file_).size(), 37u);
}

TEST_F(HostIdentityTest, GarbageStopsMkfsNamingTheFile) {
    write_uuid_file("this is not a uuid\n");
    Outcome r = mkfs({"--size", "64m", "--allow-small"});
    EXPECT_EQ(r.status, 2);
    EXPECT_TRUE(contains(r.err, uuid_file_ + ": does not hold a system UUID")) << r.err;
    EXPECT_TRUE(contains(r.err, "'this is not a uuid' is not a UUID")) << r.err;
}

TEST_F(HostIdentityTest, GarbageIsNeverASilentClient) {
    format();
    Outcome before_garbage = famfs({"creat", "-s", "4k", "f"});
    ASSERT_EQ(before_garbage.status, 0) << before_garbage.err;
    const auto before = snapshot();
    write_uuid_file(std::string("\x01\x02garbage\0", 10));
    for (const std::vector<std::string>& cmd : std::vector<std::vector<std::string>>{
             {"fsck"}, {"creat", "-s", "4k", "g"}, {"mkdir", "d"}, {"getmap", "f"}}) {
        Outcome r = famfs(cmd);
        EXPECT_NE(r.status, 0) << cmd[0] << ": " << r.out;
        EXPECT_TRUE(contains(r.err, uuid_file_ + ": does not hold a system UUID"))
            << cmd[0] << ": " << r.err;
        // Control bytes reach the terminal escaped, once.
        EXPECT_TRUE(contains(r.err, "'\\x01\\x02garbage'")) << cmd[0] << ": " << r.err;
        EXPECT_FALSE(contains(r.out, "Client")) << cmd[0] << ": " << r.out;
    }
    EXPECT_DEVICE_UNCHANGED(before);
}

}  // namespace
}  // namespace famfs::clitest
