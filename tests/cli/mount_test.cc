// The commands on paths inside a famfs mount (the FUSE server): the device
// is found from the mount table, changes are visible in the mount at once,
// and read() through the mount agrees with the memory.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_fixture.h"

namespace famfs::clitest {
namespace {

using MountedTest = CliTest;

std::vector<uint8_t> read_through(const std::string& path) {
    return read_local(path);
}

TEST_F(MountedTest, CreatAndMkdirAreVisibleAtOnce) {
    format();
    mount();
    ASSERT_EQ(famfs_plain({"mkdir", "-p", mnt_ + "/a/b"}).status, 0);
    Outcome r = famfs_plain({"creat", "-s", "5000", "-r", "-S", "8", mnt_ + "/a/b/f"});
    ASSERT_EQ(r.status, 0) << r.err;
    struct stat st;
    ASSERT_EQ(::stat((mnt_ + "/a/b/f").c_str(), &st), 0);
    EXPECT_EQ(st.st_size, 5000);
    EXPECT_EQ(read_through(mnt_ + "/a/b/f"), pattern_bytes(5000, 8));
    Outcome v = famfs_plain({"verify", "-S", "8", "-f", mnt_ + "/a/b/f"});
    EXPECT_EQ(v.status, 0) << v.err;
    EXPECT_TRUE(contains(v.out, "Success: verified 5000 bytes in file " + mnt_ + "/a/b/f"));
}

TEST_F(MountedTest, ErrorsNameThePathTheUserGave) {
    format();
    mount();
    ASSERT_EQ(famfs_plain({"creat", "-s", "4096", mnt_ + "/x"}).status, 0);
    const auto before = snapshot();
    Outcome r = famfs_plain({"creat", "-s", "8192", mnt_ + "/x"});
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(
        r.err, "famfs creat: " + mnt_ + "/x: file exists with a different size (4096 != 8192)"))
        << r.err;
    Outcome outside = famfs_plain({"creat", "-s", "4k", dir_ + "/not-famfs"});
    EXPECT_EQ(outside.status, 1);
    EXPECT_TRUE(contains(outside.err, "famfs creat: " + dir_ + "/not-famfs: ")) << outside.err;
    EXPECT_DEVICE_UNCHANGED(before);
}

TEST_F(MountedTest, CpTreeIsReadableThroughTheMount) {
    format();
    mount();
    local_file("src/one", pattern_bytes(3000, 1));
    local_file("src/sub/two", pattern_bytes(3 * 1024 * 1024, 2));
    Outcome r = famfs_plain({"cp", "-r", dir_ + "/src", mnt_ + "/copy"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(read_through(mnt_ + "/copy/one"), pattern_bytes(3000, 1));
    EXPECT_EQ(read_through(mnt_ + "/copy/sub/two"), pattern_bytes(3 * 1024 * 1024, 2));
    EXPECT_EQ(read_file("copy/sub/two"), pattern_bytes(3 * 1024 * 1024, 2));
}

TEST_F(MountedTest, ChkreadGetmapCheckFlush) {
    format();
    mount();
    ASSERT_EQ(famfs_plain({"creat", "-s", "3m", "-r", "-S", "4", mnt_ + "/f"}).status, 0);
    Outcome c = famfs_plain({"chkread", mnt_ + "/f"});
    EXPECT_EQ(c.status, 0) << c.err;
    EXPECT_TRUE(contains(c.out, "Read and mmap match")) << c.out;
    EXPECT_EQ(famfs_plain({"getmap", "-q", mnt_ + "/f"}).status, 0);
    EXPECT_EQ(famfs_plain({"getmap", mnt_}).status, EISDIR);
    EXPECT_EQ(famfs_plain({"getmap", mnt_ + "/nope"}).status, ENOENT);
    // The log and superblock files are device memory at fixed places; the
    // server's own text files are in famfs but have no map.
    Outcome log = famfs_plain({"getmap", mnt_ + "/.meta/.log"});
    EXPECT_EQ(log.status, 0) << log.err;
    EXPECT_TRUE(contains(log.out, "0x200000\t8388608")) << log.out;
    EXPECT_EQ(famfs_plain({"getmap", mnt_ + "/.meta/.status"}).status, 2);
    Outcome check = famfs_plain({"check", "-v", mnt_});
    EXPECT_EQ(check.status, 0) << check.err;
    EXPECT_TRUE(contains(check.out, "1 files ok, 0 bad")) << check.out;
    EXPECT_EQ(famfs_plain({"flush", mnt_ + "/f"}).status, 0);
    EXPECT_EQ(famfs({"chkread", "f"}).status, 1);  // read() needs the mount
}

TEST_F(MountedTest, FsckAndMkfsRefuseTheMountedDevice) {
    format();
    mount();
    ASSERT_EQ(famfs_plain({"creat", "-s", "4k", mnt_ + "/f"}).status, 0);
    Outcome by_path = famfs_plain({"fsck", mnt_});
    EXPECT_EQ(by_path.status, 0) << by_path.err;
    EXPECT_TRUE(contains(by_path.out, "# of log entries in use: 1 of 15420")) << by_path.out;
    EXPECT_EQ(famfs_plain({"fsck", dev_}).status, EBUSY);
    const auto before = snapshot();
    Outcome m = mkfs({"-f", "--allow-small"});
    EXPECT_EQ(m.status, 2);
    EXPECT_TRUE(contains(m.err, "in use")) << m.err;
    EXPECT_DEVICE_UNCHANGED(before);
}

}  // namespace
}  // namespace famfs::clitest
