// Several hosts sharing one device through their mounts: serial sharing,
// read-only sharing, following the log, and mmap with the visibility rules
// of famfs/fused/README-datapath.md.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "../unit/server/cpus.h"
#include "famfs/cache.h"
#include "fuse_fixture.h"

namespace famfs::fusetest {
namespace {

TEST_F(FuseTest, SerialSharingAWritesBReadsThenBWritesAReads) {
    const uint64_t size = omf::kMiB + 123;
    create("shared", size, 0666);
    Host& a = start_master();
    Host& b = start_client("b");

    ASSERT_EQ(write_file(a.path("shared"), pattern(11, size)), 0);
    EXPECT_EQ(direct_read("shared"), pattern(11, size));
    EXPECT_EQ(read_file(b.path("shared")), pattern(11, size));

    ASSERT_EQ(write_file(b.path("shared"), pattern(12, size)), 0);
    EXPECT_EQ(direct_read("shared"), pattern(12, size));
    EXPECT_EQ(read_file(a.path("shared")), pattern(12, size));
}

// Runs `fn` as an unprivileged user in a child; returns its exit status.
template <class F>
int as_nobody(F fn) {
    const pid_t pid = fork();
    if (pid == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0) _exit(100);
        _exit(fn());
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(FuseTest, TheLoggedModeDecidesWhoMayWriteData) {
    create("private", 4096, 0644, 5);
    create("open", 4096, 0666, 6);
    start_master();
    Host& b = start_client("b");
    const std::string priv = b.path("private"), pub = b.path("open");
    // /proc/<pid>/root needs ptrace rights over the server; nobody lacks
    // them, so the unprivileged child opens through the master's mount too.
    const std::string mpriv = hosts_[0]->path("private"), mpub = hosts_[0]->path("open");
    EXPECT_EQ(as_nobody([&] { return open(mpriv.c_str(), O_WRONLY) < 0 ? errno : 0; }), EACCES);
    EXPECT_EQ(as_nobody([&] { return open(mpriv.c_str(), O_RDONLY) < 0 ? errno : 0; }), 0);
    EXPECT_EQ(as_nobody([&] { return write_file(mpub, pattern(7, 4096)); }), 0);
    EXPECT_EQ(read_file(pub), pattern(7, 4096));
    EXPECT_EQ(read_file(priv), pattern(5, 4096));
}

TEST_F(FuseTest, ThreeReadersVerifyTheSameFilesAtOnce) {
    mkdir("data");
    const int kFiles = 6;
    for (int i = 0; i < kFiles; i++) {
        create("data/f" + std::to_string(i), (i + 1) * 700 * 1000, 0444, 100 + i);
    }
    std::vector<Host*> readers{&start_master(), &start_client("b"), &start_client("c")};
    std::vector<int> mismatches(readers.size(), 0);
    std::vector<std::thread> threads;
    for (size_t r = 0; r < readers.size(); r++) {
        threads.emplace_back([&, r] {
            for (int round = 0; round < 3; round++) {
                for (int i = 0; i < kFiles; i++) {
                    const auto got = read_file(readers[r]->path("data/f" + std::to_string(i)));
                    if (got != pattern(100 + i, (i + 1) * 700 * 1000)) mismatches[r]++;
                }
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(mismatches, std::vector<int>(readers.size(), 0));
    // Inode numbers come from the log: the same on every host.
    struct stat s0 {
    }, s1{}, s2{};
    ASSERT_EQ(stat(readers[0]->path("data/f3").c_str(), &s0), 0);
    ASSERT_EQ(stat(readers[1]->path("data/f3").c_str(), &s1), 0);
    ASSERT_EQ(stat(readers[2]->path("data/f3").c_str(), &s2), 0);
    EXPECT_EQ(s0.st_ino, s1.st_ino);
    EXPECT_EQ(s0.st_ino, s2.st_ino);
}

TEST_F(FuseTest, NewEntriesAppearOnEveryMountWithoutACommand) {
    Host& a = start_master();
    Host& b = start_client("b");
    mkdir("late");
    create("late/file", 8192, 0644, 9);
    create("rootfile", 4096, 0644, 10);
    // readdir never catches up by itself: only the follower can show these.
    for (Host* h : {&a, &b}) {
        EXPECT_TRUE(wait_until(
            [&] {
                auto names = list_dir(h->path());
                return std::count(names.begin(), names.end(), "late") &&
                       std::count(names.begin(), names.end(), "rootfile");
            },
            2000))
            << h->mountpoint();
        EXPECT_EQ(status_field(*h, "entries_replayed"), "3");
        EXPECT_EQ(status_field(*h, "follow_lag_entries"), "0");
    }
    EXPECT_EQ(read_file(b.path("late/file")), pattern(9, 8192));
}

struct Mapping {
    int fd = -1;
    uint8_t* p = nullptr;
    size_t len = 0;
    Mapping(const std::string& path, size_t n, int prot) : len(n) {
        fd = open(path.c_str(), (prot & PROT_WRITE) ? O_RDWR : O_RDONLY);
        if (fd < 0) return;
        void* m = mmap(nullptr, n, prot, MAP_SHARED, fd, 0);
        p = m == MAP_FAILED ? nullptr : static_cast<uint8_t*>(m);
    }
    ~Mapping() {
        if (p) munmap(p, len);
        if (fd >= 0) close(fd);
    }
    std::vector<uint8_t> bytes() const { return {p, p + len}; }
};

void touch_open(const std::string& path) {
    close(open(path.c_str(), O_RDONLY));
}

// The mmap rules hold in both data paths: direct I/O with mmap through the
// page cache (the default) and page cache only (-c).
void check_mmap_rules(FuseTest& t, const std::vector<std::string>& flags) {
    const size_t size = 4 * omf::kMiB;
    t.create("m", size, 0666);
    Host& a = t.start_master(flags);
    Host& b = t.start_client("b", flags);

    Mapping wa(a.path("m"), size, PROT_READ | PROT_WRITE);
    ASSERT_NE(wa.p, nullptr) << strerror(errno);
    const auto p21 = pattern(21, size);
    std::memcpy(wa.p, p21.data(), size);
    // On the same host read() sees the stores at once.
    EXPECT_EQ(read_file(a.path("m")), p21);
    ASSERT_EQ(msync(wa.p, size, MS_SYNC), 0);
    EXPECT_EQ(t.direct_read("m"), p21);
    EXPECT_EQ(read_file(b.path("m")), p21);

    // B maps it; A writes with write(); B's mapping shows the new bytes once
    // B opens the file again (the open drops B's cached pages).
    Mapping rb(b.path("m"), size, PROT_READ);
    ASSERT_NE(rb.p, nullptr) << strerror(errno);
    EXPECT_EQ(rb.bytes(), p21);
    const auto p22 = pattern(22, size);
    ASSERT_EQ(write_file(a.path("m"), p22), 0);
    EXPECT_EQ(t.direct_read("m"), p22);
    EXPECT_EQ(wa.bytes(), p22) << "a write() shows in the writer host's mappings at once";
    touch_open(b.path("m"));
    EXPECT_EQ(rb.bytes(), p22);

    // fsync() pushes mmap stores too.
    const auto p23 = pattern(23, size);
    std::memcpy(wa.p, p23.data(), size);
    ASSERT_EQ(fsync(wa.fd), 0);
    EXPECT_EQ(t.direct_read("m"), p23);
    touch_open(b.path("m"));
    EXPECT_EQ(rb.bytes(), p23);
}

TEST_F(FuseTest, MmapStoresReachSharedMemoryOnMsyncAndOtherHostsSeeThemOnTheirNextOpen) {
    check_mmap_rules(*this, {});
    EXPECT_EQ(status_field(*hosts_[0], "data_path"), "direct I/O, mmap through the page cache");
    // Which instructions keep non-coherent memory honest on this CPU.
    EXPECT_EQ(status_field(*hosts_[0], "cpu_cache"), std::string("write-back ") +
                                                         cache::flush_method() + ", invalidate " +
                                                         cache::invalidate_method());
}

TEST_F(FuseTest, MmapRulesHoldWithCachedIoToo) {
    check_mmap_rules(*this, {"-c"});
    EXPECT_EQ(status_field(*hosts_[0], "data_path"), "page cache (refreshed on open)");
    // Read-ahead and write-back requests are not waited for: never moved.
    EXPECT_EQ(status_field(*hosts_[0], "serve_on_requester_cpu"),
              "off (files use the page cache, whose requests nobody waits for)");
    EXPECT_EQ(status_field(*hosts_[0], "yielding_replies"), "0");
}

TEST_F(FuseTest, ReadThroughAnOpenFileAlwaysReturnsWhatIsInSharedMemory) {
    const size_t size = 256 * 1024 + 5;
    create("live", size, 0666, 31);
    Host& a = start_master();
    Host& b = start_client("b");
    const int fb = open(b.path("live").c_str(), O_RDONLY);
    ASSERT_GE(fb, 0);
    auto pread_all = [&](int fd) {
        std::vector<uint8_t> out(size);
        EXPECT_EQ(pread(fd, out.data(), size, 0), ssize_t(size));
        return out;
    };
    EXPECT_EQ(pread_all(fb), pattern(31, size));
    ASSERT_EQ(write_file(a.path("live"), pattern(32, size)), 0);
    EXPECT_EQ(pread_all(fb), pattern(32, size)) << "a host's write, no reopen";
    // A store through the direct-access API, bypassing every mount.
    auto map = dax::FileMapping::open(device(), "live", Access::kReadWrite);
    ASSERT_TRUE(map);
    const auto p33 = pattern(33, size);
    ASSERT_EQ(map->write(0, p33), size);
    for (const auto& seg : map->segments()) {
        ASSERT_TRUE(volume().device().persist(seg.bytes.data(), seg.bytes.size()));
    }
    EXPECT_EQ(pread_all(fb), p33);
    close(fb);
}

// A direct-access mapping of a device this host serves keeps the mount's
// file open for its life (moved with it, closed with it), so the host's
// server counts the file in use while its memory is reached around the
// mount (docs/delete.md, the watermark).
TEST_F(FuseTest, ADirectAccessMappingOpenedThroughAMountHoldsTheFileOpen) {
    create("held", omf::kMiB, 0666, 51);
    Host& a = start_master();
    struct stat want {};
    ASSERT_EQ(stat(a.path("held").c_str(), &want), 0);
    char* real_path = realpath(a.path("held").c_str(), nullptr);
    ASSERT_NE(real_path, nullptr);
    const std::string file = real_path;
    free(real_path);
    auto refers_to_file = [&](int fd) {
        struct stat st {};
        char link[4096];
        const std::string at = "/proc/self/fd/" + std::to_string(fd);
        const ssize_t n = readlink(at.c_str(), link, sizeof link - 1);
        return fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == want.st_dev &&
               st.st_ino == want.st_ino && n > 0 && std::string(link, size_t(n)) == file;
    };
    int fd = -1;
    {
        auto opened = dax::FileMapping::open_path(a.path("held"), Access::kReadOnly);
        ASSERT_TRUE(opened) << opened.error().message;
        fd = opened->mount_fd();
        EXPECT_TRUE(refers_to_file(fd));
        dax::FileMapping moved = std::move(*opened);
        EXPECT_EQ(moved.mount_fd(), fd) << "moved with the mapping";
        EXPECT_TRUE(refers_to_file(fd));
        std::vector<uint8_t> out(omf::kMiB);
        EXPECT_EQ(moved.read(0, out), omf::kMiB);
        EXPECT_EQ(out, pattern(51, omf::kMiB));
    }
    EXPECT_EQ(fcntl(fd, F_GETFD), -1) << "closed with the last mapping";
    EXPECT_EQ(errno, EBADF);
    auto refused = dax::FileMapping::open_path(a.path("missing"), Access::kReadOnly);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("missing"), std::string::npos)
        << refused.error().message;
    // By device path: this host serves the device, so the mapping is held
    // through its mount all the same.
    const auto direct = dax::FileMapping::open(device(), "held", Access::kReadOnly);
    ASSERT_TRUE(direct) << direct.error().message;
    EXPECT_TRUE(refers_to_file(direct->mount_fd()));
    // A name that opens another file than the one mapped (deleted and made
    // again in between) is refused.
    dax::FileMapping probe = *direct;
    auto other = probe.hold_through_mount(a.path("held"), want.st_ino + 1);
    ASSERT_FALSE(other);
    EXPECT_EQ(other.error().code, EAGAIN) << other.error().message;
    EXPECT_NE(other.error().message.find("held"), std::string::npos) << other.error().message;
}

// A client streaming 1 MiB requests is served on its own CPU
// (famfs/fused/colocation.h), wherever it moves; with -a it is not. The
// bytes are the same either way.
TEST_F(FuseTest, LargeRequestsAreServedOnTheRequestersCpu) {
    constexpr size_t kChunk = omf::kMiB, kChunks = 8;
    create("stream", kChunk * kChunks, 0666, 41);
    Host& on = start_master();
    Host& off = start_client("off", {"-a"});
    const std::vector<int> cpus = fused::allowed_cpus();
    ASSERT_FALSE(cpus.empty());
    const bool several = cpus.size() > 1;
    EXPECT_EQ(status_field(on, "serve_on_requester_cpu"),
              several ? "on" : "off (the server may run on one CPU only)");
    EXPECT_EQ(status_field(off, "serve_on_requester_cpu"), "off (turned off (-a))");

    // Page-aligned, so each 1 MiB is one request.
    auto* buf = static_cast<uint8_t*>(std::aligned_alloc(4096, kChunk));
    ASSERT_NE(buf, nullptr);
    auto stream = [&](Host& h) {
        std::vector<uint8_t> all;
        std::thread([&] {
            const int fd = open(h.path("stream").c_str(), O_RDWR);
            ASSERT_GE(fd, 0);
            for (size_t i = 0; i < kChunks; ++i) {
                // A client that moves from CPU to CPU.
                ASSERT_TRUE(fused::pin_to(cpus[i % cpus.size()]));
                ASSERT_EQ(pread(fd, buf, kChunk, off_t(i * kChunk)), ssize_t(kChunk));
                all.insert(all.end(), buf, buf + kChunk);
                ASSERT_EQ(pwrite(fd, buf, kChunk, off_t(i * kChunk)), ssize_t(kChunk));
                // The requester's CPU is looked up at most once a millisecond.
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
            }
            close(fd);
        }).join();
        return all;
    };
    EXPECT_EQ(stream(on), pattern(41, kChunk * kChunks));
    EXPECT_EQ(stream(off), pattern(41, kChunk * kChunks));
    std::free(buf);
    EXPECT_EQ(direct_read("stream"), pattern(41, kChunk * kChunks));

    const auto count = [](const Host& h, const char* key) {
        return std::stoull(status_field(h, key));
    };
    if (several) {
        EXPECT_GE(count(on, "yielding_replies"), 2 * kChunks);  // every read and write
        // It moves after the client did (the scheduler may sometimes have
        // put it there first).
        EXPECT_GE(count(on, "requester_cpu_moves"), 2u);
    }
    EXPECT_EQ(count(off, "yielding_replies"), 0u);
    EXPECT_EQ(count(off, "requester_cpu_moves"), 0u);
}

TEST_F(FuseTest, MmapStoresReachSharedMemoryWhenTheFileIsClosed) {
    const size_t size = 2 * omf::kMiB;
    create("m", size, 0666);
    Host& a = start_master();
    // After the first close the kernel knows the server has no FLUSH
    // handler; the write-back on close must not depend on one.
    touch_open(a.path("m"));
    const auto p24 = pattern(24, size);
    {
        Mapping w(a.path("m"), size, PROT_READ | PROT_WRITE);
        ASSERT_NE(w.p, nullptr);
        std::memcpy(w.p, p24.data(), size);
        munmap(w.p, size);
        w.p = nullptr;
    }  // close(): the kernel writes dirty pages back
    EXPECT_EQ(direct_read("m"), p24);
}

}  // namespace
}  // namespace famfs::fusetest

namespace famfs::fusetest {
namespace {

// Without the follower (-n), readdir does not show new entries: so the
// follow test above proves the follower. A lookup miss still catches up,
// which is how the master's CLI sees its own new files at once.
TEST_F(FuseTest, WithoutFollowingOnlyALookupMissCatchesUp) {
    Host& a = start_master({"-n"});
    create("quiet", 4096, 0644, 41);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(list_dir(a.path()), std::vector<std::string>{".meta"});
    EXPECT_EQ(status_field(a, "entries_replayed"), "0");
    struct stat st {};
    ASSERT_EQ(stat(a.path("quiet").c_str(), &st), 0);
    EXPECT_EQ(st.st_size, 4096);
    auto names = list_dir(a.path());
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{".meta", "quiet"}));
    EXPECT_EQ(read_file(a.path("quiet")), pattern(41, 4096));
}

}  // namespace
}  // namespace famfs::fusetest

namespace famfs::fusetest {
namespace {

// The follower applies entries under the writer lock while FUSE threads
// read the tree: hammer both at once and check every answer.
TEST_F(FuseTest, ReadersKeepGettingRightAnswersWhileTheTreeGrows) {
    mkdir("grow");
    create("grow/seed", 8192, 0644, 61);
    start_master();
    Host& b = start_client("b");
    std::atomic<bool> done{false};
    std::atomic<int> wrong{0};
    std::vector<std::thread> readers;
    for (int t = 0; t < 3; t++) {
        readers.emplace_back([&] {
            while (!done) {
                auto names = list_dir(b.path("grow"));
                if (std::find(names.begin(), names.end(), "seed") == names.end()) wrong++;
                for (size_t i = 0; i < names.size(); i += 7) {
                    struct stat st {};
                    if (stat(b.path("grow/" + names[i]).c_str(), &st) != 0) wrong++;
                }
                if (read_file(b.path("grow/seed")) != pattern(61, 8192)) wrong++;
            }
        });
    }
    const int kFiles = 400;
    for (int i = 0; i < kFiles; i++) create("grow/f" + std::to_string(i), 4096);
    EXPECT_TRUE(wait_until([&] { return list_dir(b.path("grow")).size() == kFiles + 1; }, 5000));
    done = true;
    for (auto& t : readers) t.join();
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_EQ(status_field(b, "errors"), "0");
}

}  // namespace
}  // namespace famfs::fusetest
