// What mkfs.famfs and famfs mount say when they succeed: what was made, and
// what was mounted where, in which role, holding what.
#include <filesystem>

#include "cli_fixture.h"

namespace famfs::clitest {
namespace {

using SuccessReportTest = CliTest;

TEST_F(SuccessReportTest, MkfsSaysWhatItMade) {
    Outcome r = mkfs({"--size", "64m", "--allow-small"});
    ASSERT_EQ(r.status, 0) << r.err;
    auto vol = open_volume();
    ASSERT_NE(vol, nullptr);
    const std::string uuid = omf::uuid_to_string(vol->superblock().fs_uuid);
    const std::string system = omf::uuid_to_string(vol->superblock().system_uuid);
    // 64 MiB - 2 MiB superblock region - 8 MiB log = 54 MiB in 27 units.
    EXPECT_EQ(r.out, "mkfs.famfs: " + dev_ +
                         ": made a famfs file system of 64.00 MiB\n"
                         "  free space:  54.00 MiB, 27 allocation units of 2.00 MiB (every file "
                         "takes at least one)\n"
                         "  log:         8.00 MiB, room for 15420 files and directories\n"
                         "  fs uuid:     " +
                         uuid +
                         "\n"
                         "  master:      this host (system uuid " +
                         system + ")\n");
    EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST_F(SuccessReportTest, MkfsVerboseAddsTheFsckReport) {
    Outcome r = mkfs({"--size", "64m", "--allow-small", "-v"});
    ASSERT_EQ(r.status, 0) << r.err;
    for (const char* part :
         {"made a famfs file system of 64.00 MiB", "Famfs Superblock:", "role of this node: Owner",
          "Free space:             54.00 MiB", "0 bad log entries detected", "log_len:"}) {
        EXPECT_TRUE(contains(r.out, part)) << part << "\n" << r.out;
    }
}

TEST_F(SuccessReportTest, MountConfirmsWhatWasMountedWhere) {
    format();
    ASSERT_EQ(famfs({"mkdir", "d"}).status, 0);
    ASSERT_EQ(famfs({"creat", "-s", "4k", "d/f"}).status, 0);
    ASSERT_EQ(famfs({"creat", "-s", "4k", "g"}).status, 0);
    const std::string mnt = dir_ + "/mnt";
    std::filesystem::create_directories(mnt);
    Outcome r = run({FAMFS_BIN, "mount", dev_, mnt});
    ASSERT_EQ(r.status, 0) << r.err;
    mnt_ = mnt;  // unmounted by TearDown
    EXPECT_EQ(r.out, "famfs mount: mounted " + std::filesystem::canonical(dev_).string() + " on " +
                         mnt + " as master, 2 files and 1 directory\n");
}

TEST_F(SuccessReportTest, MountOnAClientSaysSo) {
    format();
    become_other_host();
    const std::string mnt = dir_ + "/mnt";
    std::filesystem::create_directories(mnt);
    Outcome r = run({FAMFS_BIN, "mount", dev_, mnt});
    ASSERT_EQ(r.status, 0) << r.err;
    mnt_ = mnt;
    EXPECT_TRUE(contains(r.out, " as client, 0 files and 0 directories\n")) << r.out;
}

}  // namespace
}  // namespace famfs::clitest
