// What reference famfs scripts do with a mount's .meta files and with a
// device right after a plain umount.
#include <sys/mount.h>
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <vector>

#include "cli_fixture.h"

namespace famfs::clitest {
namespace {

using MetaFilesTest = CliTest;

std::vector<std::string> regular_files_under(const std::string& dir) {
    std::vector<std::string> files;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
        if (e.is_regular_file()) files.push_back(e.path().string());
    return files;
}

// The reference smoke test runs `famfs flush $(find $MPT -type f)`.
TEST_F(MetaFilesTest, FlushTakesEveryFileInTheMount) {
    format();
    mount();
    ASSERT_EQ(famfs_plain({"creat", "-s", "3m", mnt_ + "/f"}).status, 0);
    std::vector<std::string> args{"flush", "-v"};
    for (const auto& f : regular_files_under(mnt_)) args.push_back(f);
    ASSERT_GE(args.size(), 7u) << "f and four .meta files";
    Outcome r = famfs_plain(args);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(contains(r.out, mnt_ + "/.meta/.log: 8388608 bytes written back")) << r.out;
    EXPECT_TRUE(contains(r.out, mnt_ + "/.meta/.superblock: 2097152 bytes written back")) << r.out;
    EXPECT_TRUE(contains(r.out, mnt_ + "/.meta/.status: not device memory")) << r.out;
}

// ... and `famfs chkread -l $MPT/.meta/.log`, `chkread -s $MPT/.meta/.superblock`.
TEST_F(MetaFilesTest, ChkreadOfTheSuperblockAndTheLog) {
    format();
    mount();
    ASSERT_EQ(famfs_plain({"mkdir", mnt_ + "/d"}).status, 0);
    Outcome log = famfs_plain({"chkread", "-l", mnt_ + "/.meta/.log"});
    EXPECT_EQ(log.status, 0) << log.err;
    EXPECT_TRUE(contains(log.out, "log by mmap: magic 0xbadcafef00d log_len 8388608")) << log.out;
    EXPECT_TRUE(contains(log.out, "log by read: magic 0xbadcafef00d")) << log.out;
    EXPECT_TRUE(contains(log.out, "next_index 1")) << log.out;
    EXPECT_TRUE(contains(log.out, "Read and mmap match")) << log.out;

    Outcome sb = famfs_plain({"chkread", "-s", mnt_ + "/.meta/.superblock"});
    EXPECT_EQ(sb.status, 0) << sb.err;
    EXPECT_TRUE(contains(sb.out, "superblock by mmap: magic 0x87b282ff")) << sb.out;
    EXPECT_TRUE(contains(sb.out, "superblock by read: magic 0x87b282ff")) << sb.out;
    EXPECT_TRUE(contains(sb.out, "Read and mmap match")) << sb.out;

    Outcome status = famfs_plain({"chkread", mnt_ + "/.meta/.status"});
    EXPECT_EQ(status.status, 1);
    EXPECT_TRUE(contains(status.err, "not device memory")) << status.err;
}

// A plain umount returns before the server has exited; mkfs and fsck of
// the device right after it must not find it busy.
TEST_F(MetaFilesTest, DeviceIsFreeRightAfterAPlainUmount) {
    format();
    for (int round = 0; round < 3; ++round) {
        mount();
        ASSERT_EQ(::umount2(mnt_.c_str(), 0), 0) << std::strerror(errno);
        mnt_.clear();
        Outcome fsck = famfs_plain({"fsck", dev_});
        EXPECT_EQ(fsck.status, 0) << fsck.err;
    }
    mount();
    ASSERT_EQ(::umount2(mnt_.c_str(), 0), 0) << std::strerror(errno);
    mnt_.clear();
    Outcome kill = mkfs({"-f", "-k"});
    EXPECT_EQ(kill.status, 0) << kill.err;
}

// Only root may open the device, and the mount serves .meta/.superblock and
// .meta/.log (the log names every file) to root only: fsck of a mount path
// by another user fails, saying so; root's works.
TEST_F(MetaFilesTest, FsckThroughTheMountNeedsRoot) {
    format();
    mount();
    ASSERT_EQ(famfs_plain({"creat", "-s", "1m", mnt_ + "/f"}).status, 0);
    ASSERT_EQ(famfs_plain({"mkdir", mnt_ + "/d"}).status, 0);
    ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);  // let the other user reach the mount
    // argv run as user and group 65534 without supplementary groups.
    const auto as_nobody = [](std::initializer_list<std::string> argv) {
        std::vector<std::string> all{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
        all.insert(all.end(), argv);
        return run(all);
    };
    struct stat dev {};
    ASSERT_EQ(::stat(dev_.c_str(), &dev), 0);
    ASSERT_EQ(dev.st_mode & 0007, 0u) << "the device itself is root's alone";

    Outcome denied = as_nobody({FAMFS_BIN, "fsck", mnt_});
    EXPECT_NE(denied.status, 0);
    EXPECT_TRUE(contains(denied.err,
                         "fsck needs root: the device and the mount's "
                         ".meta/.superblock and .meta/.log are readable by root only"))
        << denied.err;
    for (const char* meta : {"/.meta/.log", "/.meta/.superblock"}) {
        EXPECT_NE(as_nobody({"cat", mnt_ + meta}).status, 0) << meta;
    }
    // Anyone may read the status, without file names; only root controls.
    Outcome st = as_nobody({FAMFS_BIN, "status", mnt_});
    EXPECT_EQ(st.status, 0) << st.err;
    EXPECT_TRUE(contains(st.out, "file_names: hidden (shown to root only)")) << st.out;
    Outcome lp = as_nobody({FAMFS_BIN, "logplay", mnt_});
    EXPECT_NE(lp.status, 0);
    EXPECT_TRUE(contains(lp.err,
                         "/.meta/.control: Permission denied (the server takes commands "
                         "from root only)"))
        << lp.err;
    Outcome r = famfs_plain({"fsck", mnt_});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "# of log entries in use: 2 of 15420")) << r.out;
    EXPECT_TRUE(contains(r.out, "No allocation errors found")) << r.out;
    EXPECT_TRUE(contains(r.out, "primary: " + dev_)) << r.out;
}

TEST_F(MetaFilesTest, ErrorsNameTheObjectOnce) {
    format();
    const std::string outside = local_file("plain", {1, 2, 3});
    Outcome r = famfs_plain({"chkread", outside});
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.err, "famfs chkread: " + outside + ": ")) << r.err;
    EXPECT_FALSE(contains(r.err, outside + ": " + outside)) << r.err;
    const std::string garbage = local_file("garbage", std::vector<uint8_t>(4 << 20, 0));
    Outcome f = famfs_plain({"fsck", garbage});
    EXPECT_NE(f.status, 0);
    EXPECT_TRUE(contains(f.err, garbage + ": ")) << f.err;
    EXPECT_FALSE(contains(f.err, garbage + ": " + garbage)) << f.err;
    // `check` with --device and no path checks the root: the device is named.
    Outcome c = famfs_plain({"--device", garbage, "check"});
    EXPECT_EQ(c.status, 1);
    EXPECT_TRUE(contains(c.err, "famfs check: " + garbage + ": ")) << c.err;
}

}  // namespace
}  // namespace famfs::clitest
