// Bad log content and dead servers: the server reports and carries on; a
// killed server's mount can be cleaned and replaced.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <thread>

#include "famfs/device.h"
#include "fuse_fixture.h"

namespace famfs::fusetest {
namespace {

// Appends an entry the way a buggy or malicious writer would: through the
// log directly, bypassing every check of Volume.
void append_raw(Volume& vol, const omf::LogEntry& e) {
    auto lock = DeviceLock::acquire(vol.device().path(), DeviceLock::Kind::kAppend, true);
    ASSERT_TRUE(lock);
    auto st = vol.log().append(e);
    ASSERT_TRUE(st) << st.error().message;
}

// Makes the slot at next_index garbage and advances next_index over it.
void append_bad_crc(Volume& vol) {
    auto lock = DeviceLock::acquire(vol.device().path(), DeviceLock::Kind::kAppend, true);
    ASSERT_TRUE(lock);
    auto h = vol.log().header();
    ASSERT_TRUE(h);
    omf::LogEntry e;
    e.seqnum = h->next_seqnum;
    e.payload = omf::MkdirEntry{0, 0, 0755, "garbage"};
    auto slot = vol.log().slot(h->next_index);
    ASSERT_TRUE(omf::encode_entry(e, slot));
    slot[100] ^= 0x5a;  // the CRC no longer matches
    ASSERT_TRUE(vol.device().persist(slot.data(), slot.size()));
    omf::LogHeader next = *h;
    next.next_index++;
    next.next_seqnum++;
    omf::encode_log_header(next, vol.log().header_bytes());
    ASSERT_TRUE(vol.device().persist(vol.log().header_bytes().data(), omf::kLogHeaderBytes));
}

TEST_F(FuseTest, AnEntryWithBadContentIsReportedAndSkipped) {
    create("before", 4096, 0644, 1);
    Host& a = start_master();
    Host& b = start_client("b");
    omf::LogEntry evil;
    evil.payload = omf::MkdirEntry{0, 0, 0755, "x/../../escape"};
    append_raw(volume(), evil);
    create("after", 4096, 0644, 2);
    for (Host* h : {&a, &b}) {
        ASSERT_TRUE(wait_until([&] { return status_field(*h, "entries_replayed") == "3"; }, 2000));
        EXPECT_EQ(status_field(*h, "errors"), "1");
        const auto bytes = read_file(h->path(".meta/.status"));
        const std::string text(bytes.begin(), bytes.end());
        EXPECT_NE(text.find("error: log entry 1 (x/../../escape) skipped"), std::string::npos)
            << text;
        EXPECT_EQ(read_file(h->path("after")), pattern(2, 4096));
        EXPECT_TRUE(h->server_alive());
        struct stat st {};
        EXPECT_NE(stat(h->path("escape").c_str(), &st), 0);
    }
}

TEST_F(FuseTest, AnEntryWithABadCrcStopsReplayWithoutHurtingTheServer) {
    create("before", 4096, 0644, 1);
    Host& a = start_master();
    Host& b = start_client("b");
    append_bad_crc(volume());
    for (Host* h : {&a, &b}) {
        ASSERT_TRUE(wait_until([&] { return status_field(*h, "errors") == "1"; }, 2000))
            << status_field(*h, "errors");
        const auto bytes = read_file(h->path(".meta/.status"));
        const std::string text(bytes.begin(), bytes.end());
        EXPECT_NE(text.find("error: log entry 1 is invalid, replay stops there"), std::string::npos)
            << text;
        EXPECT_EQ(status_field(*h, "log_next_index"), "2");
        EXPECT_EQ(status_field(*h, "follow_lag_entries"), "1");
        EXPECT_EQ(read_file(h->path("before")), pattern(1, 4096));
        EXPECT_TRUE(h->server_alive());
    }
}

// A daemon is not our child: gone, or a zombie waiting for init.
bool exited(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    if (!std::getline(stat, text)) return true;
    return text.find(") Z") != std::string::npos;
}

TEST_F(FuseTest, AKilledServerLeavesADeadMountThatAFreshServerReplaces) {
    create("f", 8192, 0644, 3);
    Host& a = start_master();
    a.kill_server(SIGKILL);
    struct stat st {};
    EXPECT_EQ(stat(a.path("f").c_str(), &st), -1);
    EXPECT_EQ(errno, ENOTCONN);
    std::string out;
    EXPECT_EQ(a.run(cli_bin() + " mount " + device() + " " + a.mountpoint(), &out), 0) << out;
    EXPECT_EQ(read_file(a.path("f")), pattern(3, 8192));
    EXPECT_EQ(status_field(a, "role"), "master");
    const pid_t daemon = std::stoi(status_field(a, "pid"));
    EXPECT_EQ(a.run(cli_bin() + " umount " + a.mountpoint(), &out), 0) << out;
    EXPECT_TRUE(exited(daemon)) << "the server must have exited when umount returned";
    EXPECT_FALSE(DeviceLock::in_use(device()));

    // Killed again: famfs umount cleans the dead mount.
    EXPECT_EQ(a.run(cli_bin() + " mount " + device() + " " + a.mountpoint(), &out), 0) << out;
    const pid_t second = std::stoi(status_field(a, "pid"));
    kill(second, SIGKILL);
    ASSERT_TRUE(wait_until([&] { return exited(second); }, 2000));
    EXPECT_EQ(a.run(cli_bin() + " umount " + a.mountpoint(), &out), 0) << out;
    EXPECT_EQ(stat(a.path("f").c_str(), &st), -1);
    EXPECT_EQ(errno, ENOENT);
}

// SIGTERM, SIGINT and SIGHUP end the session: every server thread finishes,
// the mount goes, and the server exits 0, also while a client streams reads
// (the exit must not wait for a thread that holds the reader role).
TEST_F(FuseTest, ASignalStopsTheServerWhileAClientReadsAndTheMountGoes) {
    constexpr size_t kMiB = 1 << 20;
    create("f", 4 * kMiB, 0644, 5);
    for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
        Host& a = start_master();
        const int fd = open(a.path("f").c_str(), O_RDONLY);
        ASSERT_GE(fd, 0);
        std::atomic<long> reads{0};
        std::thread client([&] {
            std::vector<char> buf(kMiB);
            while (pread(fd, buf.data(), kMiB, 0) == static_cast<ssize_t>(kMiB)) ++reads;
        });
        ASSERT_TRUE(wait_until([&] { return reads > 10; }, 10000));
        const int status = a.kill_server(sig);
        client.join();
        close(fd);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
            << strsignal(sig) << ": wait status " << status
            << (status == -1 ? " (still running 10 s later)" : "");
        struct stat st {};
        EXPECT_EQ(stat(a.path("f").c_str(), &st), -1) << strsignal(sig);
        EXPECT_EQ(errno, ENOENT) << strsignal(sig) << ": the mount is still there";
        hosts_.clear();
    }
}

}  // namespace
}  // namespace famfs::fusetest

namespace famfs::fusetest {
namespace {

TEST_F(FuseTest, NotifyFailureMakesEveryLaterOpenReadAndWriteFail) {
    create("f", 8192, 0666, 4);
    Host& a = start_master();
    const int fd = open(a.path("f").c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    const std::string control = a.path(".meta/.control");
    const int cfd = open(control.c_str(), O_WRONLY);
    ASSERT_GE(cfd, 0);
    EXPECT_EQ(write(cfd, "bogus", 5), -1);
    EXPECT_EQ(errno, EINVAL);
    const std::string cmd = "notify-failure test poison";
    EXPECT_EQ(write(cfd, cmd.data(), cmd.size()), ssize_t(cmd.size()));
    close(cfd);

    char buf[16];
    EXPECT_EQ(pread(fd, buf, sizeof(buf), 0), -1);
    EXPECT_EQ(errno, EIO);
    EXPECT_EQ(pwrite(fd, buf, sizeof(buf), 0), -1);
    EXPECT_EQ(errno, EIO);
    close(fd);
    EXPECT_EQ(open(a.path("f").c_str(), O_RDONLY), -1);
    EXPECT_EQ(errno, EIO);
    EXPECT_EQ(status_field(a, "device_failed"), "yes (test poison)");
    EXPECT_EQ(direct_read("f"), pattern(4, 8192)) << "the failure must not touch the data";
}

}  // namespace
}  // namespace famfs::fusetest

namespace famfs::fusetest {
namespace {

TEST_F(FuseTest, ACorruptLogHeaderIsReportedWithoutSpinningAndRecovers) {
    create("f", 4096, 0644, 5);
    Host& a = start_master();
    auto header = volume().log().header_bytes();
    const std::vector<uint8_t> good(header.begin(), header.end());
    std::vector<uint8_t> bad = good;
    bad[0] ^= 0xff;  // magic
    bad[40] = 0x77;  // next_index: the follower sees a change
    std::memcpy(header.data(), bad.data(), bad.size());
    ASSERT_TRUE(volume().device().persist(header.data(), header.size()));
    ASSERT_TRUE(wait_until([&] { return status_field(a, "errors") == "1"; }, 2000));
    const auto bytes = read_file(a.path(".meta/.status"));
    EXPECT_NE(std::string(bytes.begin(), bytes.end()).find("error: log header:"),
              std::string::npos);
    const uint64_t before = std::stoull(status_field(a, "catch_ups"));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const uint64_t after = std::stoull(status_field(a, "catch_ups"));
    EXPECT_LT(after - before, 20u) << "the follower must not spin on a bad header";
    EXPECT_EQ(read_file(a.path("f")), pattern(5, 4096));

    std::memcpy(header.data(), good.data(), good.size());
    ASSERT_TRUE(volume().device().persist(header.data(), header.size()));
    ASSERT_TRUE(wait_until([&] { return status_field(a, "errors") == "0"; }, 2000));
    create("g", 4096, 0644, 6);
    EXPECT_TRUE(wait_until([&] { return list_dir(a.path()).size() == 3; }, 2000));
    EXPECT_TRUE(a.server_alive());
}

}  // namespace
}  // namespace famfs::fusetest

namespace famfs::fusetest {
namespace {

// Memory that vanishes under the server (here: the device file truncated
// below a file's extent) raises SIGBUS in the server; it must answer EIO,
// say why, and keep serving what it can.
TEST_F(FuseTest, MemoryThatFailsUnderTheServerGivesEioNotACrash) {
    const auto file = create("far", 4 * omf::kMiB, 0666, 8);
    Host& a = start_master();
    const int fd = open(a.path("far").c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    std::vector<uint8_t> buf(4096);
    ASSERT_EQ(pread(fd, buf.data(), buf.size(), 0), 4096);
    const uint64_t extent = file.extents.at(0).offset;
    ASSERT_EQ(truncate(device().c_str(), off_t(extent)), 0);

    EXPECT_EQ(pread(fd, buf.data(), buf.size(), 8192), -1);
    EXPECT_EQ(errno, EIO);
    EXPECT_EQ(pwrite(fd, buf.data(), buf.size(), 0), -1);
    EXPECT_EQ(errno, EIO);
    close(fd);
    EXPECT_TRUE(a.server_alive()) << a.server_log();
    const std::string failed = status_field(a, "device_failed");
    EXPECT_EQ(failed.rfind("yes (memory failure (SIGBUS) at device offset ", 0), 0u) << failed;
    struct stat st {};
    EXPECT_EQ(stat(a.path("far").c_str(), &st), 0) << "metadata is still served";
    ASSERT_EQ(truncate(device().c_str(), off_t(kDeviceSize)), 0);
}

}  // namespace
}  // namespace famfs::fusetest
