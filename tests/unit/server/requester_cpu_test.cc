// Reading a thread's CPU from /proc/<tid>/stat.
#include "requester_cpu.h"
#include "cpus.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace famfs::fused {
namespace {

std::string stat_line_with(const std::string& comm, const std::string& cpu) {
    std::ostringstream line;
    line << "4242 (" << comm << ") S";
    for (int field = 4; field <= 52; ++field) line << ' ' << (field == 39 ? cpu : "7");
    line << '\n';
    return line.str();
}

TEST(ProcessorField, IsTheThirtyNinthField) {
    EXPECT_EQ(processor_field(stat_line_with("cat", "3")), 3);
    EXPECT_EQ(processor_field(stat_line_with("cat", "117")), 117);
}

TEST(ProcessorField, CountsFromTheLastParenthesisOfTheCommand) {
    EXPECT_EQ(processor_field(stat_line_with("a) b (c", "5")), 5);
    EXPECT_EQ(processor_field(stat_line_with(") 1 2 3 4 (", "6")), 6);
}

TEST(ProcessorField, RefusesMalformedLines) {
    EXPECT_EQ(processor_field(""), -1);
    EXPECT_EQ(processor_field("4242 cat S 1 2 3"), -1);      // no command in parentheses
    EXPECT_EQ(processor_field("4242 (cat) S 1 2 3\n"), -1);  // cut short
    EXPECT_EQ(processor_field(stat_line_with("cat", "x")), -1);
    EXPECT_EQ(processor_field(stat_line_with("cat", "-1")), -1);
}

TEST(ProcessorField, ReadsThisProcessesOwnStatFile) {
    std::ifstream in("/proc/self/stat");
    std::string line;
    std::getline(in, line);
    const int cpu = processor_field(line);
    EXPECT_GE(cpu, 0);
    EXPECT_LT(cpu, CPU_SETSIZE);
}

TEST(RequesterCpu, FollowsAThreadFromCpuToCpu) {
    const std::vector<int> cpus = allowed_cpus();
    int seen = -2;
    std::thread([&] {
        RequesterCpu lookup;
        for (int cpu : cpus) {
            ASSERT_TRUE(pin_to(cpu));
            // An answer is reused for a millisecond.
            std::this_thread::sleep_for(std::chrono::milliseconds(3));
            seen = lookup.cpu_of(gettid());
            ASSERT_EQ(seen, cpu);
        }
    }).join();
    EXPECT_GE(seen, 0);
}

TEST(RequesterCpu, UnknownThreadsHaveNoCpu) {
    RequesterCpu lookup;
    EXPECT_EQ(lookup.cpu_of(0), -1);  // a requester outside this pid namespace
    EXPECT_EQ(lookup.cpu_of(-5), -1);
    pid_t gone = 0;
    std::thread([&] { gone = gettid(); }).join();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(lookup.cpu_of(gone), -1);
    // A thread found again after an unknown one.
    EXPECT_GE(lookup.cpu_of(gettid()), 0);
}

}  // namespace
}  // namespace famfs::fused
