// Writers killed at random points (SIGKILL, as a master that dies): a new
// file is visible only with all of its data, and a file that never got
// logged leaves its space free. Each run starts on a freshly created
// (zeroed) device, so a kill that landed after the fill began but before
// the file was logged shows as written data with nothing logged.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cli_fixture.h"

namespace famfs::clitest {
namespace {

constexpr int kKills = 30;
constexpr uint64_t kFileBytes = 16ull << 20;
const std::string kDeviceSize = "32m";

int wait_status(pid_t pid) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

struct Tally {
    int absent = 0;      // nothing logged
    int mid_fill = 0;    // nothing logged, but data had been written
    int complete = 0;    // logged with all of its data
    int partial = 0;     // logged with data missing: must stay 0
    int space_lost = 0;  // nothing logged, yet less free space: must stay 0
    int fsck_dirty = 0;  // must stay 0
};

class CrashTest : public CliTest {
  protected:
    // A fresh, zeroed device with an empty file system.
    void fresh_device() {
        std::filesystem::remove(dev_);
        format(kDeviceSize);
    }

    // Whether any byte after the log has been written.
    bool data_written() const {
        const auto dev = snapshot();
        const State st = load();
        const uint64_t data = st.layout.log_offset + st.layout.log_len;
        return std::any_of(dev.begin() + static_cast<std::ptrdiff_t>(data), dev.end(),
                           [](uint8_t b) { return b != 0; });
    }

    // Runs `argv` (which writes the famfs file "f" of kFileBytes, whose
    // expected bytes are `expected`) once undisturbed to time it, then
    // kKills times killed after a random delay.
    Tally kill_at_random(const std::vector<std::string>& argv,
                         const std::vector<uint8_t>& expected) {
        fresh_device();
        const auto t0 = std::chrono::steady_clock::now();
        EXPECT_EQ(wait_status(spawn(argv)), 0);
        const auto undisturbed = std::chrono::steady_clock::now() - t0;
        EXPECT_EQ(read_file("f"), expected) << "the undisturbed run";
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(undisturbed);
        std::printf("undisturbed run: %lld us\n", static_cast<long long>(us.count()));
        const int64_t max_delay = us.count() * 11 / 10;
        std::mt19937_64 rng(std::random_device{}());
        Tally t;
        for (int i = 0; i < kKills; ++i) {
            fresh_device();
            const uint64_t free_before = load().alloc.free_bytes();
            const pid_t pid = spawn_to_kill(argv);
            std::this_thread::sleep_for(std::chrono::microseconds(
                std::uniform_int_distribution<int64_t>(0, max_delay)(rng)));
            ::kill(pid, SIGKILL);
            wait_status(pid);

            const State st = load();
            if (!st.log_is_clean() || !st.ns.problems().empty() || !st.alloc.collisions().empty())
                ++t.fsck_dirty;
            if (Outcome fsck = famfs({"fsck"}); fsck.status != 0) ++t.fsck_dirty;
            const Node* n = st.ns.lookup("f");
            if (n == nullptr) {
                ++t.absent;
                if (data_written()) ++t.mid_fill;
                if (st.alloc.free_bytes() != free_before) ++t.space_lost;
            } else if (read_file("f") == expected) {
                ++t.complete;
            } else {
                ++t.partial;
            }
        }
        std::printf(
            "%d kills: %d left nothing logged (%d of them mid-fill), %d a complete file, "
            "%d a partial file\n",
            kKills, t.absent, t.mid_fill, t.complete, t.partial);
        return t;
    }
};

void expect_atomic(const Tally& t) {
    EXPECT_EQ(t.partial, 0) << "files visible with partial data";
    EXPECT_EQ(t.space_lost, 0) << "unlogged files whose space stayed taken";
    EXPECT_EQ(t.fsck_dirty, 0);
    // Guards the test itself: some kills must have landed mid-fill.
    EXPECT_GE(t.mid_fill, 1) << "no kill landed between the start of the fill and the log entry";
}

TEST_F(CrashTest, CreatRandomizeKilledMidFillLeavesNothingVisible) {
    constexpr uint64_t kSeed = 77;
    const auto expected = pattern_bytes(kFileBytes, kSeed);
    expect_atomic(kill_at_random({FAMFS_BIN, "--device", dev_, "creat", "-r", "-S",
                                  std::to_string(kSeed), "-s", std::to_string(kFileBytes), "f"},
                                 expected));
}

TEST_F(CrashTest, CreatOfSeveralFilesKilledMidFillLeavesOnlyCompleteFiles) {
    // -M files, each logged once filled: whatever the kill, each of them
    // is absent or complete.
    fresh_device();
    constexpr int kFiles = 4;
    constexpr uint64_t kBytes = 4ull << 20;
    std::vector<std::string> argv{FAMFS_BIN, "--device", dev_, "creat", "-t", "2"};
    for (int i = 0; i < kFiles; ++i)
        argv.insert(argv.end(), {"-M", "m" + std::to_string(i) + "," + std::to_string(kBytes) +
                                           "," + std::to_string(i + 1)});
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_EQ(wait_status(spawn(argv)), 0);
    const auto max_delay = std::chrono::duration_cast<std::chrono::microseconds>(
        (std::chrono::steady_clock::now() - t0) * 11 / 10);
    std::mt19937_64 rng(std::random_device{}());
    int partial = 0, visible = 0;
    for (int k = 0; k < kKills / 3; ++k) {
        fresh_device();
        const pid_t pid = spawn_to_kill(argv);
        std::this_thread::sleep_for(std::chrono::microseconds(
            std::uniform_int_distribution<int64_t>(0, max_delay.count())(rng)));
        ::kill(pid, SIGKILL);
        wait_status(pid);
        const State st = load();
        EXPECT_TRUE(st.log_is_clean() && st.ns.problems().empty() && st.alloc.collisions().empty());
        for (int i = 0; i < kFiles; ++i) {
            const std::string name = "m" + std::to_string(i);
            if (st.ns.lookup(name) == nullptr) continue;
            ++visible;
            if (read_file(name) != pattern_bytes(kBytes, static_cast<uint64_t>(i + 1))) ++partial;
        }
    }
    std::printf("%d kills: %d files visible, %d partial\n", kKills / 3, visible, partial);
    EXPECT_EQ(partial, 0);
}

TEST_F(CrashTest, CpKilledMidCopyLeavesNothingVisible) {
    std::vector<uint8_t> bytes = pattern_bytes(kFileBytes, 5);
    const std::string src = local_file("src", bytes);
    expect_atomic(kill_at_random({FAMFS_BIN, "--device", dev_, "cp", src, "f"}, bytes));
}

}  // namespace
}  // namespace famfs::clitest
