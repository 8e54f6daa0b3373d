// A device re-formatted by "another host" under mounted hosts (the master's
// and a client's mount on one /dev/shm device; the other host's mkfs is
// written by a helper, since this machine's mount lock refuses a local
// mkfs): every host finds out within its follow interval, serves nothing of
// the new file system through the old tree, says what changed, and a
// remount shows the new file system.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "famfs/dax.h"
#include "famfs/test_pattern.h"
#include "fuse_fixture.h"

namespace famfs::fusetest {
namespace {

constexpr uint64_t kLen = 8192;

// What one read() of a whole file gives: its bytes, or the errno.
struct ReadResult {
    int err = 0;
    std::vector<uint8_t> bytes;
};

ReadResult pread_all(int fd) {
    ReadResult r;
    r.bytes.resize(kLen);
    const ssize_t n = pread(fd, r.bytes.data(), r.bytes.size(), 0);
    if (n < 0) {
        r.err = errno;
        r.bytes.clear();
    } else {
        r.bytes.resize(static_cast<size_t>(n));
    }
    return r;
}

bool stale_errno(int err) {
    return err == ESTALE || err == EIO;
}

// The outcome of touching the first byte of `p` in a child (a failed page
// fault is a SIGBUS): its wait status.
int touch(const volatile uint8_t* p) {
    const pid_t pid = fork();
    if (pid == 0) {
        signal(SIGBUS, SIG_DFL);  // not a sanitizer's handler
        _exit(p[0] == 0 ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

class StaleTest : public FuseTest {
  protected:
    // The other host's mkfs, then its new file system: more entries than
    // the old one, and the old name "a" with other bytes.
    omf::Uuid reformat_and_fill() {
        vol_.reset();
        const omf::Uuid fresh = test::reformat_as_another_host(device(), test::host_uuid());
        auto v = Volume::open(device(), Access::kReadWrite);
        EXPECT_TRUE(v) << (v ? "" : v.error().message);
        if (!v) return fresh;
        vol_ = std::move(v.value());
        for (int i = 0; i < 5; i++) create("n" + std::to_string(i), kLen, 0644, 200 + i);
        create("a", kLen, 0644, 99);
        return fresh;
    }
};

TEST_F(StaleTest, AReformatIsFoundOnEveryHostAndNothingOfTheNewFileSystemIsServed) {
    create("a", kLen, 0644, 1);
    create("b", kLen, 0644, 2);
    mkdir("d");
    const std::string old_uuid = omf::uuid_to_string(volume().superblock().fs_uuid);
    Host& m = start_master();
    Host& c = start_client("c");
    for (Host* h : {&m, &c}) {
        EXPECT_EQ(status_field(*h, "device_stale"), "no");
        EXPECT_EQ(read_file(h->path("a")), pattern(1, kLen));
    }
    // Open before: a descriptor on each host and a mapping on the master's.
    const int fd_c = open(c.path("a").c_str(), O_RDWR);
    const int fd_m = open(m.path("a").c_str(), O_RDONLY);
    ASSERT_GE(fd_c, 0);
    ASSERT_GE(fd_m, 0);
    void* map = mmap(nullptr, kLen, PROT_READ, MAP_SHARED, fd_m, 0);
    ASSERT_NE(map, MAP_FAILED);
    const auto* mapped = static_cast<const volatile uint8_t*>(map);
    EXPECT_EQ(mapped[0], pattern(1, kLen)[0]);

    const auto t0 = std::chrono::steady_clock::now();
    const omf::Uuid fresh = reformat_and_fill();
    const std::vector<uint8_t> new_a = pattern(99, kLen);
    ASSERT_EQ(direct_read("a"), new_a);

    // Straight away, before any host may have looked: an old descriptor
    // gives an error or old bytes, never the new file system's.
    for (const int fd : {fd_c, fd_m}) {
        const ReadResult r = pread_all(fd);
        EXPECT_NE(r.bytes, new_a) << "the new file system's bytes through the old tree";
        if (r.err) {
            EXPECT_TRUE(stale_errno(r.err)) << r.err;
        }
    }
    std::vector<double> found_ms;
    for (Host* h : {&m, &c}) {
        ASSERT_TRUE(
            wait_until([&] { return status_field(*h, "device_stale").rfind("yes", 0) == 0; }, 2000))
            << status_field(*h, "device_stale");
        found_ms.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count());
    }
    std::printf("stale device found by the master after %.1f ms, by the client after %.1f ms\n",
                found_ms[0], found_ms[1]);

    for (Host* h : {&m, &c}) {
        EXPECT_EQ(status_field(*h, "fs_uuid"), old_uuid);
        EXPECT_EQ(status_field(*h, "mounted_fs_uuid"), old_uuid);
        EXPECT_EQ(status_field(*h, "new_fs_uuid"), omf::uuid_to_string(fresh));
        EXPECT_EQ(status_field(*h, "errors"), "1");
        EXPECT_EQ(status_field(*h, "entries_replayed"), "3") << "the follower applied nothing";
        EXPECT_TRUE(wait_until(
            [&] { return status_field(*h, "stale_kernel_caches").rfind("dropped", 0) == 0; }, 2000))
            << status_field(*h, "stale_kernel_caches");

        struct stat st {};
        for (const char* name : {"a", "b", "d", "n4", "n0"}) {
            errno = 0;
            EXPECT_EQ(stat(h->path(name).c_str(), &st), -1) << name;
            EXPECT_EQ(errno, ESTALE) << name;
        }
        errno = 0;
        EXPECT_EQ(open(h->path("a").c_str(), O_RDONLY), -1);
        EXPECT_EQ(errno, ESTALE);
        errno = 0;
        EXPECT_EQ(opendir(h->path("").c_str()), nullptr);
        EXPECT_EQ(errno, ESTALE);
        EXPECT_EQ(stat(h->path("").c_str(), &st), 0) << "the mount point itself still answers";
    }
    for (const int fd : {fd_c, fd_m}) {
        const ReadResult r = pread_all(fd);
        EXPECT_TRUE(stale_errno(r.err)) << r.err << ", " << r.bytes.size() << " bytes";
    }
    errno = 0;
    EXPECT_EQ(pwrite(fd_c, "x", 1, 0), -1);
    EXPECT_TRUE(stale_errno(errno)) << errno;
    EXPECT_EQ(direct_read("a"), new_a) << "the old tree wrote into the new file system";
    // The mapped page was dropped: touching it faults into a read that fails.
    const int touched = touch(mapped);
    EXPECT_TRUE(WIFSIGNALED(touched) && WTERMSIG(touched) == SIGBUS) << "wait status " << touched;
    munmap(map, kLen);
    close(fd_c);
    close(fd_m);

    // famfs status says what changed and what to do.
    std::string out;
    EXPECT_EQ(c.run(cli_bin() + " status " + c.mountpoint(), &out), 0) << out;
    EXPECT_NE(out.find("device_stale: yes"), std::string::npos) << out;
    EXPECT_NE(out.find(old_uuid + " -> " + omf::uuid_to_string(fresh)), std::string::npos) << out;
    EXPECT_NE(out.find("unmount and mount again"), std::string::npos) << out;

    // A remount shows the new file system. Its master (this process's
    // host) runs no server: it grants the new mount's slot itself.
    c.unmount();
    ASSERT_EQ(c.mount(device()), "");
    ASSERT_EQ(grant_as_master(device()), "");
    EXPECT_EQ(status_field(c, "device_stale"), "no");
    EXPECT_EQ(status_field(c, "fs_uuid"), omf::uuid_to_string(fresh));
    EXPECT_EQ(read_file(c.path("a")), new_a);
    EXPECT_EQ(read_file(c.path("n4")), pattern(204, kLen));
    EXPECT_EQ(list_dir(c.path("")).size(), 7u);  // .meta, a, n0..n4
}

TEST_F(StaleTest, AClientPausedThroughTheReformatServesNothingOfTheNewFileSystem) {
    create("a", kLen, 0644, 1);
    start_master();
    Host& c = start_client("c");
    const int fd = open(c.path("a").c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(pread_all(fd).bytes, pattern(1, kLen));

    // The client's server is frozen (its follower too) while the device is
    // re-formatted and filled; a read is queued before it runs again.
    ASSERT_EQ(kill(c.server_pid(), SIGSTOP), 0);
    const omf::Uuid fresh = reformat_and_fill();
    ReadResult first;
    const pid_t reader = fork();
    if (reader == 0) {
        const ReadResult r = pread_all(fd);
        _exit(r.err                          ? 10
              : r.bytes == pattern(99, kLen) ? 20
              : r.bytes == pattern(1, kLen)  ? 0
                                             : 30);
    }
    usleep(50 * 1000);  // the read waits in the frozen server's queue
    ASSERT_EQ(kill(c.server_pid(), SIGCONT), 0);
    int status = 0;
    ASSERT_EQ(waitpid(reader, &status, 0), reader);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_NE(WEXITSTATUS(status), 20) << "the queued read was served the new file system's bytes";
    EXPECT_NE(WEXITSTATUS(status), 30) << "the queued read got bytes of neither file system";
    if (status_field(c, "data_path").rfind("direct I/O", 0) == 0) {
        EXPECT_EQ(WEXITSTATUS(status), 10) << "a direct-I/O read reaches the server: it fails";
    }

    ASSERT_TRUE(
        wait_until([&] { return status_field(c, "device_stale").rfind("yes", 0) == 0; }, 2000));
    EXPECT_EQ(status_field(c, "new_fs_uuid"), omf::uuid_to_string(fresh));
    EXPECT_TRUE(stale_errno(pread_all(fd).err));
    close(fd);
    struct stat st {};
    EXPECT_EQ(stat(c.path("n4").c_str(), &st), -1);
    EXPECT_EQ(errno, ESTALE);
}

}  // namespace
}  // namespace famfs::fusetest
