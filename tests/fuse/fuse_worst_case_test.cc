// Issue 16: one hostile log entry (16 extents over the whole device, 4 KiB
// allocation units) took a server to 1.48 GB, and under a 1 GB memory
// cgroup `famfs mount` failed. A server, master or client, must replay a
// full log of such entries in little more memory than an empty log needs.
// The limit is on address space (RLIMIT_AS on the server): it needs no
// cgroup, and what the server maps for an empty log is measured first, so
// the limit is that plus a margin.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

#include "famfs/system_uuid.h"
#include "famfs_test_support.h"
#include "fuse_hosts.h"
#include "worst_case_log.h"

namespace famfs::fusetest {
namespace {

// What the server may map beyond an empty log's peak: the benchmark's
// 64 MiB target, and as much again for threads and malloc arenas a busy
// server may add. The old allocator needed 1.4 GB for one entry of 15 420.
constexpr uint64_t kMargin = 128 * omf::kMiB;
constexpr uint64_t kTiB = 1024 * omf::kGiB;

// A "VmPeak:"-style field of /proc/PID/status, in bytes (0 when missing).
uint64_t proc_status_bytes(pid_t pid, const std::string& key) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);)
        if (line.rfind(key + ":", 0) == 0) return std::stoull(line.substr(key.size() + 1)) * 1024;
    return 0;
}

test::WorstCaseSpec spec_of(test::WorstCase shape, uint64_t entries) {
    test::WorstCaseSpec spec;
    spec.shape = shape;
    spec.entries = entries;
    auto me = local_system_uuid();  // the master is this process's host
    if (me) spec.system_uuid = *me;
    return spec;
}

// Mounts, looks around as a user would, and returns the server's peak
// address space.
uint64_t serve_and_measure(Host& h, const std::string& device, uint64_t entries) {
    const std::string err = h.mount(device);
    EXPECT_EQ(err, "");
    if (!err.empty()) return 0;
    // The master's mount is gone when the client mounts: this process (the
    // master's host) grants the client's slot, so that it may open files.
    EXPECT_EQ(grant_as_master(device), "");
    uint64_t listed = 0;
    for (const std::string& name : list_dir(h.path())) listed += name[0] == 'w';
    EXPECT_EQ(listed, entries);
    struct stat st {};
    if (entries > 0) {
        EXPECT_EQ(stat(h.path(test::worst_case_relpath(entries - 1)).c_str(), &st), 0);
        // The first page only: the file spans the device.
        const int fd = open(h.path(test::worst_case_relpath(0)).c_str(), O_RDONLY);
        EXPECT_GE(fd, 0);
        char page[4096];
        EXPECT_EQ(pread(fd, page, sizeof page, 0), static_cast<ssize_t>(sizeof page));
        close(fd);
    }
    const uint64_t peak = proc_status_bytes(h.server_pid(), "VmPeak");
    std::printf("    server peak: %llu MiB mapped, %llu MiB resident (%llu entries)\n",
                static_cast<unsigned long long>(peak >> 20),
                static_cast<unsigned long long>(proc_status_bytes(h.server_pid(), "VmHWM") >> 20),
                static_cast<unsigned long long>(entries));
    h.unmount();
    return peak;
}

void check_under_limit(test::WorstCase shape) {
    Scratch s;
    test::ShmFile empty(8 * omf::kGiB), worst(8 * omf::kGiB);
    const test::WorstCaseSpec none = spec_of(shape, 0), full = spec_of(shape, ~uint64_t{0});
    ASSERT_TRUE(test::write_worst_case_image(empty.path(), none).ok());
    ASSERT_TRUE(test::write_worst_case_image(worst.path(), full).ok());
    auto probe = Host::master(s, "probe");
    const uint64_t empty_peak = serve_and_measure(*probe, empty.path(), 0);
    ASSERT_GT(empty_peak, 0u);
    if (empty_peak > kTiB)
        GTEST_SKIP() << "the server maps " << (empty_peak >> 30)
                     << " GiB for an empty log (a sanitizer's shadow memory): an address-space "
                        "limit cannot measure it";
    auto master = Host::master(s, "master");
    auto client = Host::client(s, "client");
    for (Host* h : {master.get(), client.get()}) {
        h->limit_address_space(empty_peak + kMargin);
        const uint64_t peak = serve_and_measure(*h, worst.path(), full.count());
        EXPECT_LE(peak, empty_peak + kMargin) << h->server_log();
    }
}

TEST(FuseWorstCase, ServersReplayAFullLogOfWholeDeviceEntriesUnderAMemoryLimit) {
    check_under_limit(test::WorstCase::kWholeDevice);
}

TEST(FuseWorstCase, ServersReplayAFullLogOverFragmentedClaimsUnderAMemoryLimit) {
    check_under_limit(test::WorstCase::kFragmented);
}

}  // namespace
}  // namespace famfs::fusetest
