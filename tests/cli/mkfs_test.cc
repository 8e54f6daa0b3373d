// mkfs.famfs: formatting, and every refusal leaving the device as it was.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "cli_fixture.h"
#include "famfs/device.h"
#include "famfs/volume.h"

namespace famfs::clitest {
namespace {

using MkfsTest = CliTest;

TEST_F(MkfsTest, FormatsASmallDeviceWhenAllowed) {
    format("64m");
    auto vol = open_volume();
    ASSERT_NE(vol, nullptr);
    EXPECT_EQ(vol->superblock().log_len, 8u << 20);
    EXPECT_EQ(vol->superblock().dev_size, 64u << 20);
    EXPECT_EQ(vol->role(), Role::kMaster);
    EXPECT_EQ(next_index(), 0u);
}

TEST_F(MkfsTest, VerboseDescribesTheNewFileSystem) {
    Outcome r = mkfs({"--size", "64m", "--allow-small", "-v"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "log_len:")) << r.out;
}

TEST_F(MkfsTest, RefusesADeviceUnder4GiBWithoutTheFlag) {
    Outcome r = mkfs({"--size", "64m"});
    EXPECT_EQ(r.status, 2);
    EXPECT_TRUE(contains(r.err, dev_)) << r.err;
    EXPECT_TRUE(contains(r.err, "4 GiB")) << r.err;
    EXPECT_NE(Volume::open(dev_, Access::kReadOnly).ok(), true);
}

TEST_F(MkfsTest, RefusesADeviceSmallerThanTheLayout) {
    Outcome r = mkfs({"--size", "9m", "--allow-small"});
    EXPECT_EQ(r.status, 2);
    EXPECT_TRUE(contains(r.err, "smaller than")) << r.err;
}

TEST_F(MkfsTest, RefusesAnExistingSuperblockWithoutForce) {
    format();
    ASSERT_EQ(famfs({"creat", "-s", "4k", "f"}).status, 0);
    const auto before = snapshot();
    Outcome r = mkfs({"--allow-small"});
    EXPECT_EQ(r.status, 2);
    EXPECT_TRUE(contains(r.err, "-f")) << r.err;
    EXPECT_DEVICE_UNCHANGED(before);
}

TEST_F(MkfsTest, ARefusedMkfsDoesNotResizeTheDevice) {
    format("64m");
    const auto before = snapshot();
    Outcome r = mkfs({"--size", "128m", "--allow-small"});
    EXPECT_EQ(r.status, 2);
    EXPECT_TRUE(contains(r.err, "-f")) << r.err;
    EXPECT_DEVICE_UNCHANGED(before);
    Outcome forced = mkfs({"-f", "--size", "128m", "--allow-small"});
    ASSERT_EQ(forced.status, 0) << forced.err;
    EXPECT_EQ(open_volume()->superblock().dev_size, 128u << 20);
}

TEST_F(MkfsTest, ForceReformats) {
    format();
    ASSERT_EQ(famfs({"creat", "-s", "4k", "f"}).status, 0);
    ASSERT_EQ(next_index(), 1u);
    Outcome r = mkfs({"-f", "--allow-small"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(next_index(), 0u);
}

TEST_F(MkfsTest, KillInvalidatesTheSuperblock) {
    format();
    Outcome r = mkfs({"-f", "-k", "--allow-small"});
    ASSERT_EQ(r.status, 0) << r.err;
    const auto dev = read_local(dev_);
    EXPECT_EQ(dev[0] | dev[1] | dev[2] | dev[3], 0);
    const auto before = snapshot();
    Outcome fsck = famfs({"fsck"});
    EXPECT_NE(fsck.status, 0);
    EXPECT_TRUE(contains(fsck.err, "superblock")) << fsck.err;
    Outcome creat = famfs({"creat", "-s", "4k", "f"});
    EXPECT_NE(creat.status, 0);
    EXPECT_TRUE(contains(creat.err, "famfs creat: f:")) << creat.err;
    EXPECT_DEVICE_UNCHANGED(before);
    // A killed device may be formatted again without -f.
    EXPECT_EQ(mkfs({"--allow-small"}).status, 0);
}

TEST_F(MkfsTest, KillWithoutForceIsAUsageError) {
    format();
    const auto before = snapshot();
    EXPECT_EQ(mkfs({"-k", "--allow-small"}).status, 1);
    EXPECT_DEVICE_UNCHANGED(before);
}

TEST_F(MkfsTest, LogLengthMustBeAPowerOfTwoOfAtLeast8MiB) {
    for (const char* bad : {"1", "1m", "11m", "0", "x"}) {
        Outcome r = mkfs({"--size", "300m", "--allow-small", "-l", bad});
        EXPECT_EQ(r.status, 1) << bad;
        EXPECT_TRUE(contains(r.err, "log length")) << r.err;
    }
    Outcome ok = mkfs({"--size", "300m", "--allow-small", "-l", "256m"});
    ASSERT_EQ(ok.status, 0) << ok.err;
    EXPECT_EQ(open_volume()->superblock().log_len, 256u << 20);
}

TEST_F(MkfsTest, UsageErrors) {
    EXPECT_EQ(run({MKFS_BIN}).status, 1);
    EXPECT_EQ(run({MKFS_BIN, "-h"}).status, 0);
    EXPECT_EQ(run({MKFS_BIN, "--bogus", dev_}).status, 1);
    EXPECT_EQ(run({MKFS_BIN, dev_, dev_}).status, 1);
}

TEST_F(MkfsTest, RefusesNonRoot) {
    format();
    ::chmod(dir_.c_str(), 0755);
    ::chmod(dev_.c_str(), 0666);
    const auto before = snapshot();
    Outcome r = run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", MKFS_BIN, "-f",
                     "--allow-small", dev_});
    EXPECT_EQ(r.status, 2);
    EXPECT_TRUE(contains(r.err, "root")) << r.err;
    EXPECT_DEVICE_UNCHANGED(before);
}

TEST_F(MkfsTest, RefusesADeviceInUse) {
    format();
    ASSERT_EQ(famfs({"creat", "-s", "4k", "f"}).status, 0);
    const auto before = snapshot();
    auto lock = DeviceLock::acquire(dev_, DeviceLock::Kind::kMount, false);
    ASSERT_TRUE(lock.ok()) << lock.error().message;
    Outcome r = mkfs({"-f", "--allow-small"});
    EXPECT_EQ(r.status, 2);
    EXPECT_TRUE(contains(r.err, "in use")) << r.err;
    EXPECT_TRUE(contains(r.err, "by pid " + std::to_string(::getpid()))) << r.err;
    EXPECT_DEVICE_UNCHANGED(before);
}

// A famfs command that has the device open (here this test process, which
// holds a Volume) keeps mkfs away, and mkfs names it.
TEST_F(MkfsTest, RefusesADeviceAFamfsProcessHasOpen) {
    format();
    ASSERT_EQ(famfs({"creat", "-s", "4k", "f"}).status, 0);
    auto vol = Volume::open(dev_, Access::kReadOnly);
    ASSERT_TRUE(vol.ok()) << vol.error().message;
    const auto before = snapshot();
    for (const char* flags : {"-f", "-fk"}) {
        Outcome r = mkfs({flags, "--allow-small"});
        EXPECT_EQ(r.status, 2) << flags;
        EXPECT_TRUE(contains(r.err, "in use by pid " + std::to_string(::getpid()))) << r.err;
        EXPECT_DEVICE_UNCHANGED(before);
    }
    vol->reset();
    EXPECT_EQ(mkfs({"-f", "--allow-small"}).status, 0) << "free once the Volume is closed";
}

// A process in the middle of a log append (the append lock) as well.
TEST_F(MkfsTest, RefusesADeviceWhoseLogIsBeingWritten) {
    format();
    const auto before = snapshot();
    auto lock = DeviceLock::acquire(dev_, DeviceLock::Kind::kAppend, false);
    ASSERT_TRUE(lock.ok()) << lock.error().message;
    Outcome r = mkfs({"-f", "--allow-small"});
    EXPECT_EQ(r.status, 2);
    EXPECT_TRUE(contains(r.err, "in use by pid " + std::to_string(::getpid()))) << r.err;
    EXPECT_TRUE(contains(r.err, "append lock")) << r.err;
    EXPECT_DEVICE_UNCHANGED(before);
}

// While mkfs formats (it holds the use lock exclusively), famfs commands
// refuse the device instead of reading a half-written file system.
TEST_F(MkfsTest, CommandsRefuseADeviceBeingFormatted) {
    format();
    ASSERT_EQ(famfs({"creat", "-s", "4k", "f"}).status, 0);
    const auto before = snapshot();
    auto lock = DeviceLock::acquire_exclusive(dev_, DeviceLock::Kind::kUse);
    ASSERT_TRUE(lock.ok()) << lock.error().message;
    Outcome c = famfs({"creat", "-s", "4k", "g"});
    EXPECT_EQ(c.status, 1);
    EXPECT_TRUE(contains(c.err, "being formatted")) << c.err;
    Outcome f = famfs({"fsck"});
    EXPECT_NE(f.status, 0);
    EXPECT_TRUE(contains(f.err, "being formatted")) << f.err;
    EXPECT_DEVICE_UNCHANGED(before);
}

// Whether some process holds byte `at` of the device (F_OFD_GETLK: looks
// without taking anything).
bool byte_locked(const std::string& dev, off_t at) {
    const int fd = ::open(dev.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return false;
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = at;
    fl.l_len = 1;
    const bool locked = ::fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
    ::close(fd);
    return locked;
}

// The case: `famfs --device DEV creat -r` (or cp) is running when
// mkfs -f comes. mkfs fails naming it, and the command completes unharmed.
TEST_F(MkfsTest, RefusesADeviceARunningCommandUsesAndLeavesItAlone) {
    format("512m");
    constexpr off_t kUseByte = 2;
    for (int attempt = 0; attempt < 20; ++attempt) {
        const std::string name = "f" + std::to_string(attempt);
        const std::vector<std::string> argv{FAMFS_BIN, "--device", dev_, "creat", "-r",
                                            "-S",      "9",        "-s", "256m",  name};
        const pid_t pid = spawn(argv);
        // Catch it with the device open, and freeze it there.
        int status = 0;
        bool exited = false;
        while (!byte_locked(dev_, kUseByte)) {
            if (::waitpid(pid, &status, WNOHANG) == pid) {
                exited = true;
                break;
            }
        }
        if (!exited) {
            // kill() only queues the stop: wait until it has taken effect,
            // or the command could still be writing while the device is
            // compared below.
            ::kill(pid, SIGSTOP);
            if (::waitpid(pid, &status, WUNTRACED) == pid && !WIFSTOPPED(status)) exited = true;
        }
        if (exited) continue;  // it finished first: try again
        const auto before = snapshot();
        Outcome r = mkfs({"-f", "--allow-small"});
        EXPECT_DEVICE_UNCHANGED(before);
        ::kill(pid, SIGCONT);
        ::waitpid(pid, &status, 0);
        EXPECT_EQ(r.status, 2);
        EXPECT_TRUE(contains(r.err, "in use by pid " + std::to_string(pid))) << r.err;
        EXPECT_TRUE(contains(r.err, "creat -r")) << r.err;
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the command was harmed";
        EXPECT_EQ(read_file(name), pattern_bytes(256u << 20, 9));
        EXPECT_EQ(famfs({"fsck"}).status, 0);
        return;
    }
    FAIL() << "the command always finished before it could be caught";
}

}  // namespace
}  // namespace famfs::clitest
