// Memory failure under the CLI and the server (issue 4): commands that read
// or write device memory report the failing file and offset instead of
// crashing, and never present unreadable bytes as data. The failure is
// injected through FAMFS_TEST_POISON, which the test builds of famfs and
// famfs_fused (build/fault-bin) honour (famfs/testing/env_faults.h): the
// named device ranges raise SIGBUS when touched, as poisoned memory does.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "cli_fixture.h"

namespace famfs::clitest {
namespace {

constexpr uint64_t kMiB = 1024 * 1024;

class PoisonTest : public CliTest {
  protected:
    void SetUp() override {
        CliTest::SetUp();
        famfs_bin_ = FAMFS_FAULT_BIN;
    }
    void TearDown() override {
        unsetenv("FAMFS_TEST_POISON");
        CliTest::TearDown();
    }
    // Device offset of a famfs file's byte.
    uint64_t device_offset(const std::string& relpath, uint64_t file_offset) const {
        const State st = load();
        const Node* n = st.ns.lookup(relpath);
        EXPECT_NE(n, nullptr);
        return n ? n->file.extents[0].offset + file_offset : 0;
    }
    static void poison(uint64_t device_offset) {
        setenv("FAMFS_TEST_POISON", (std::to_string(device_offset) + ":1").c_str(), 1);
    }
    static bool died_of_a_signal(const Outcome& r) { return r.status > 128; }
};

TEST_F(PoisonTest, VerifyReportsTheFileAndOffsetInsteadOfCrashing) {
    format();
    ASSERT_EQ(famfs({"creat", "-s", "3m", "-r", "-S", "5", "f"}).status, 0);
    poison(device_offset("f", kMiB + 4096 * 3));
    Outcome r = famfs({"verify", "-S", "5", "-f", "f"});
    EXPECT_FALSE(died_of_a_signal(r)) << r.status;
    EXPECT_NE(r.status, 0);
    EXPECT_FALSE(contains(r.out, "Success")) << r.out;
    const std::string all = r.out + r.err;
    EXPECT_TRUE(contains(all, "f")) << all;
    EXPECT_TRUE(contains(all, std::to_string(kMiB + 4096 * 3))) << "names the file offset: " << all;
}

TEST_F(PoisonTest, CpIntoFailedMemoryFailsCleanly) {
    format();
    const std::string src = local_file("src", pattern_bytes(3 * kMiB, 1));
    ASSERT_EQ(famfs({"creat", "-s", std::to_string(3 * kMiB), "dst"}).status, 0);
    poison(device_offset("dst", 2 * kMiB));
    Outcome r = famfs({"cp", src, "dst"});  // restartable: dst has exactly the right size
    EXPECT_FALSE(died_of_a_signal(r)) << r.status;
    EXPECT_NE(r.status, 0);
    EXPECT_TRUE(contains(r.err, "dst")) << r.err;
}

TEST_F(PoisonTest, FsckReportsPoisonedLogMemoryAsAnInvalidEntry) {
    format();
    ASSERT_EQ(famfs({"mkdir", "d"}).status, 0);
    for (int i = 0; i < 20; ++i)
        ASSERT_EQ(famfs({"creat", "-s", "4096", "d/f" + std::to_string(i)}).status, 0);
    poison(2 * kMiB + 8192);  // log page 2: entries 14 onwards
    Outcome r = famfs({"fsck", dev_});
    EXPECT_FALSE(died_of_a_signal(r)) << r.status;
    EXPECT_NE(r.status, 0) << r.out;
    EXPECT_TRUE(contains(r.out + r.err, "memory failure")) << r.out << r.err;
}

TEST_F(PoisonTest, TheServerAnswersEioAndStaysUp) {
    format();
    ASSERT_EQ(famfs({"creat", "-s", "3m", "-r", "-S", "3", "f"}).status, 0);
    ASSERT_EQ(famfs({"creat", "-s", "1m", "-r", "-S", "4", "g"}).status, 0);
    poison(device_offset("f", kMiB));
    mount();  // the server inherits the poisoned view of the device
    unsetenv("FAMFS_TEST_POISON");

    // Read the file through the mount to its end or its first error. Like
    // Linux on a bad page, the server may return the bytes before the
    // failed page first; every byte it returns must be the file's.
    const std::vector<uint8_t> expected = pattern_bytes(3 * kMiB, 3);
    std::vector<uint8_t> got;
    int fd = open((mnt_ + "/f").c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    int err = 0;
    for (;;) {
        std::vector<uint8_t> buf(kMiB);
        ssize_t n = pread(fd, buf.data(), buf.size(), static_cast<off_t>(got.size()));
        if (n < 0) err = errno;
        if (n <= 0) break;
        got.insert(got.end(), buf.begin(), buf.begin() + n);
    }
    close(fd);
    EXPECT_EQ(err, EIO) << "the failed page is an error, not data";
    EXPECT_LT(got.size(), kMiB + 4096) << "nothing from the failed page onwards was served";
    EXPECT_TRUE(std::equal(got.begin(), got.end(), expected.begin()))
        << "served bytes are the file's";

    // The server survived, marked the device failed and says so.
    Outcome st = famfs_plain({"status", mnt_});
    EXPECT_EQ(st.status, 0) << st.err;
    EXPECT_TRUE(contains(st.out, "memory failure")) << st.out;
    int gfd = open((mnt_ + "/g").c_str(), O_RDONLY);
    EXPECT_TRUE(gfd < 0 && errno == EIO) << "every later open of the failed device is EIO";
    if (gfd >= 0) close(gfd);
}

TEST_F(PoisonTest, OnlyTheTestBuildHonoursTheSeam) {
    format();
    ASSERT_EQ(famfs({"creat", "-s", "1m", "-r", "-S", "6", "f"}).status, 0);
    poison(device_offset("f", 0));
    EXPECT_NE(famfs({"verify", "-S", "6", "-f", "f"}).status, 0) << "the test build fails";
    famfs_bin_ = FAMFS_BIN;
    Outcome shipped = famfs({"verify", "-S", "6", "-f", "f"});
    EXPECT_EQ(shipped.status, 0) << "the shipped famfs has no fault path: " << shipped.err;
}

TEST_F(PoisonTest, ABadRangeIsRefusedNamingIt) {
    format();
    setenv("FAMFS_TEST_POISON", "4096:1,oops", 1);
    Outcome r = famfs({"fsck", dev_});
    EXPECT_NE(r.status, 0);
    EXPECT_TRUE(contains(r.err, "FAMFS_TEST_POISON: bad range 'oops'")) << r.err;
}

}  // namespace
}  // namespace famfs::clitest
