// famfs fsck and clone, and damaged metadata: bad superblocks, a corrupted
// log entry, a full log. Failing commands must leave the device as it was.
#include <cstring>

#include "cli_fixture.h"
#include "famfs/device.h"
#include "famfs/log.h"

namespace famfs::clitest {
namespace {

using FsckTest = CliTest;

constexpr uint64_t kEntries = 2u * 1024 * 1024 + omf::kLogHeaderBytes;

TEST_F(FsckTest, ReportsACleanFileSystem) {
    format();
    ASSERT_EQ(famfs({"mkdir", "d"}).status, 0);
    ASSERT_EQ(famfs({"creat", "-s", "3m", "d/f"}).status, 0);
    Outcome r = famfs({"fsck", "-v"});
    ASSERT_EQ(r.status, 0) << r.err;
    for (const char* line : {"log_len:", "Device capacity:", "Free space:",
                             "# of log entries in use: 2 of 15420", "No allocation errors found"}) {
        EXPECT_TRUE(contains(r.out, line)) << line << "\n" << r.out;
    }
    Outcome human = famfs({"fsck", "-h"});
    EXPECT_EQ(human.status, 0);
    EXPECT_TRUE(contains(human.out, "Free space:")) << human.out;
    // The device may also be given as the argument.
    EXPECT_EQ(famfs_plain({"fsck", dev_}).status, 0);
}

TEST_F(FsckTest, CloneMakesACrossLinkFsckCounts) {
    format();
    ASSERT_EQ(famfs({"creat", "-s", "4k", "a"}).status, 0);
    ASSERT_EQ(famfs({"clone", "a", "b"}).status, 0);
    EXPECT_EQ(read_file("b").size(), 4096u);
    Outcome r = famfs({"fsck"});
    EXPECT_GE(r.status, 1);
    EXPECT_FALSE(contains(r.out, "No allocation errors found")) << r.out;
    const auto before = snapshot();
    EXPECT_EQ(famfs({"clone", "missing", "c"}).status, ENOENT);
    EXPECT_EQ(famfs({"clone", "a"}).status, 1);
    EXPECT_DEVICE_UNCHANGED(before);
}

TEST_F(FsckTest, FsckByDeviceWhileMountedIsRefused) {
    format();
    auto lock = DeviceLock::acquire(dev_, DeviceLock::Kind::kMount, false);
    ASSERT_TRUE(lock.ok());
    Outcome r = famfs_plain({"fsck", dev_});
    EXPECT_EQ(r.status, EBUSY);
    EXPECT_TRUE(contains(r.err, "famfs fsck: " + dev_ + ": ")) << r.err;
}

// Superblock damage: every command says what is wrong and changes nothing.
class DamagedSuperblockTest : public CliTest {
  protected:
    void expect_refused_everywhere(const std::string& reason) {
        for (const std::vector<std::string>& args : {std::vector<std::string>{"fsck"},
                                                     {"creat", "-s", "4k", "f"},
                                                     {"mkdir", "d"},
                                                     {"cp", local_file("src", {1}), "f"},
                                                     {"verify", "-S", "1", "-f", "f"}}) {
            Outcome r = famfs(args);
            EXPECT_NE(r.status, 0) << args[0];
            EXPECT_TRUE(contains(r.err, reason)) << args[0] << ": " << r.err;
        }
    }
};

TEST_F(DamagedSuperblockTest, BadCrc) {
    format();
    poke(48, {0x5a});  // inside fs_uuid, covered by the CRC
    const auto before = snapshot();
    expect_refused_everywhere("CRC");
    EXPECT_DEVICE_UNCHANGED(before);
}

TEST_F(DamagedSuperblockTest, WrongVersion) {
    format();
    auto sb = read_local(dev_);
    sb.resize(omf::kSuperblockBytes);
    sb[8] = 50;  // 49 is a file system with deletes (docs/delete.md)
    const uint64_t crc = omf::crc32({sb.data(), 96});
    std::vector<uint8_t> crc_bytes(8);
    std::memcpy(crc_bytes.data(), &crc, 8);
    poke(8, {50});
    poke(96, crc_bytes);
    const auto before = snapshot();
    expect_refused_everywhere("version");
    EXPECT_DEVICE_UNCHANGED(before);
}

TEST_F(DamagedSuperblockTest, Killed) {
    format();
    ASSERT_EQ(mkfs({"-f", "-k", "--allow-small"}).status, 0);
    const auto before = snapshot();
    expect_refused_everywhere("superblock");
    EXPECT_DEVICE_UNCHANGED(before);
}

TEST_F(FsckTest, ACorruptedEntryInTheMiddleStopsReplayAndIsReported) {
    format();
    ASSERT_EQ(famfs({"creat", "-M", "a,4k", "-M", "b,4k", "-M", "c,4k", "-M", "d,4k"}).status, 0);
    poke(kEntries + 2 * omf::kEntryBytes + 60, {0xee});  // inside c's relpath
    const auto before = snapshot();
    Outcome fsck = famfs({"fsck"});
    EXPECT_GE(fsck.status, 1);
    EXPECT_TRUE(contains(fsck.out, "log entry 2 is invalid")) << fsck.out << fsck.err;
    EXPECT_TRUE(contains(fsck.out, "1 bad log entries detected")) << fsck.out;
    Outcome creat = famfs({"creat", "-s", "4k", "e"});
    EXPECT_EQ(creat.status, 1);
    EXPECT_TRUE(contains(creat.err, "index 2")) << creat.err;
    EXPECT_TRUE(contains(creat.err, "famfs creat: e: ")) << creat.err;
    Outcome cp = famfs({"cp", local_file("x", {1}), "x"});
    EXPECT_EQ(cp.status, 1);
    EXPECT_DEVICE_UNCHANGED(before);
    // Files before the bad entry are still readable; the ones after are not trusted.
    EXPECT_EQ(famfs({"getmap", "-q", "b"}).status, 0);
    EXPECT_EQ(famfs({"getmap", "-q", "d"}).status, ENOENT);
}

// Like the reference, fsck goes on past an invalid entry: the files after it
// are named with the space they claim, and a collision among them is found.
TEST_F(FsckTest, EntriesPastAnInvalidOneAreReportedWithTheirCollisions) {
    format();
    ASSERT_EQ(famfs({"creat", "-M", "a,4k", "-M", "b,4k", "-M", "c,4k"}).status, 0);
    ASSERT_EQ(famfs({"mkdir", "dir"}).status, 0);
    ASSERT_EQ(famfs({"clone", "c", "dir/d"}).status, 0);  // entry 4 claims c's unit again
    poke(kEntries + 1 * omf::kEntryBytes + 60, {0xee});   // inside b's relpath: bad CRC
    const auto before = snapshot();
    Outcome fsck = famfs({"fsck"});
    EXPECT_EQ(fsck.status, 2) << "one invalid entry, one unit claimed twice\n" << fsck.out;
    EXPECT_TRUE(fsck.err.empty()) << fsck.err;
    for (const char* line :
         {"ERROR: log entry 1 is invalid",
          "ERROR: 3 log entries after invalid entry 1 are not replayed: 2 file(s), "
          "1 directory(ies), 0 invalid; they claim 2097152 bytes that replay counts as free",
          "    log entry 2: file c, size 4096, claims 2097152 bytes\n",
          "    log entry 3: directory dir\n", "    log entry 4: file dir/d, size 4096",
          "ERROR: cross-linked: c (log entry 2, not replayed) and dir/d (log entry 4, not "
          "replayed) both claim 1 unit(s)",
          "Claimed by unreplayed:  2097152\n", "  1 bad log entries detected\n",
          "  2 files and 1 directories more past the invalid entry (not replayed)\n"}) {
        EXPECT_TRUE(contains(fsck.out, line)) << line << "\n" << fsck.out;
    }
    EXPECT_FALSE(contains(fsck.out, "No allocation errors found")) << fsck.out;
    EXPECT_DEVICE_UNCHANGED(before);
    // Replay still stops at the invalid entry: c is not a file here.
    EXPECT_EQ(famfs({"getmap", "-q", "a"}).status, 0);
    EXPECT_EQ(famfs({"getmap", "-q", "c"}).status, ENOENT);
}

// Fills a log up to `entries` with directories, fast, through the library.
void fill_log(const std::string& dev, uint64_t entries) {
    auto vol = Volume::open(dev, Access::kReadWrite);
    ASSERT_TRUE(vol.ok());
    auto lock = DeviceLock::acquire(dev, DeviceLock::Kind::kAppend, true);
    ASSERT_TRUE(lock.ok());
    for (uint64_t i = (*vol)->log().next_index(); i < entries; ++i) {
        omf::MkdirEntry d;
        d.relpath = "d" + std::to_string(i);
        ASSERT_TRUE((*vol)->log().append(omf::LogEntry{0, d}).ok()) << i;
    }
}

TEST_F(FsckTest, AFullLogFailsTheNextCreateCleanly) {
    format();
    const uint64_t capacity = omf::log_capacity(8u << 20);
    ASSERT_EQ(capacity, 15420u);
    fill_log(dev_, capacity - 2);
    ASSERT_EQ(famfs({"mkdir", "last_dir"}).status, 0);
    Outcome last = famfs({"creat", "-s", "4k", "last_file"});  // the 15 420th entry
    ASSERT_EQ(last.status, 0) << last.err;
    ASSERT_EQ(next_index(), capacity);
    const auto before = snapshot();
    Outcome full = famfs({"creat", "-s", "4k", "one_more"});
    EXPECT_EQ(full.status, 1);
    EXPECT_TRUE(contains(full.err, "famfs creat: one_more: ")) << full.err;
    EXPECT_TRUE(contains(full.err, "full")) << full.err;
    EXPECT_EQ(famfs({"mkdir", "one_more_dir"}).status, 1);
    Outcome cp = famfs({"cp", local_file("x", {1}), "x"});
    EXPECT_NE(cp.status, 0);
    EXPECT_TRUE(contains(cp.err, "full")) << cp.err;
    EXPECT_DEVICE_UNCHANGED(before);
    Outcome fsck = famfs({"fsck"});
    EXPECT_EQ(fsck.status, 0) << fsck.out << fsck.err;
    EXPECT_TRUE(contains(fsck.out, "# of log entries in use: 15420 of 15420")) << fsck.out;
}

}  // namespace
}  // namespace famfs::clitest
