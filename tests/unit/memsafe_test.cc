// Poison-safe access: a SIGBUS from poisoned memory becomes an error naming
// the offset, never a crash and never silently wrong data.
#include "famfs/memsafe.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <vector>

#include "famfs/testing/faulty_device.h"

namespace famfs {
namespace {

constexpr uint64_t kDevSize = 1 << 20;
constexpr uint64_t kPage = 4096;

std::unique_ptr<testing::FaultyDevice> make_device() {
    auto d = testing::FaultyDevice::create(kDevSize);
    EXPECT_TRUE(d.ok());
    for (uint64_t i = 0; i < kDevSize; ++i) (*d)->base()[i] = static_cast<uint8_t>(i * 7);
    return std::move(d.value());
}

TEST(Memsafe, CopyWithoutPoisonCopiesEverything) {
    auto dev = make_device();
    std::vector<uint8_t> out(64 * 1024);
    ASSERT_TRUE(memsafe::copy(out.data(), dev->base() + 100, out.size()).ok());
    EXPECT_EQ(0, std::memcmp(out.data(), dev->base() + 100, out.size()));
}

TEST(Memsafe, PoisonedSourceIsAnErrorWithItsOffset) {
    auto dev = make_device();
    ASSERT_TRUE(dev->poison(5 * kPage, 1).ok());
    std::vector<uint8_t> out(16 * kPage, 0xee);
    Status s = memsafe::copy(out.data(), dev->base() + 2 * kPage, out.size());
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(EIO, s.error().code);
    EXPECT_EQ(3 * kPage, memsafe::last_fault().offset);  // poison starts 3 pages into the source
    EXPECT_NE(std::string::npos, s.error().message.find("copy source"));
    // Nothing past the fault was made up: the tail still holds the fill.
    EXPECT_EQ(0xee, out.back());
}

TEST(Memsafe, PoisonedDestinationIsReportedRelativeToIt) {
    auto dev = make_device();
    ASSERT_TRUE(dev->poison(8 * kPage, kPage).ok());
    std::vector<uint8_t> in(4 * kPage, 1);
    Status s = memsafe::copy(dev->base() + 7 * kPage, in.data(), in.size());
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(kPage, memsafe::last_fault().offset);
    EXPECT_NE(std::string::npos, s.error().message.find("copy destination"));
}

TEST(Memsafe, GuardedRunsTheFunctionAndCatchesFaultsInItsRange) {
    auto dev = make_device();
    ASSERT_TRUE(dev->poison(3 * kPage, kPage).ok());
    volatile uint64_t sum = 0;
    Status ok = memsafe::guarded(dev->base(), 3 * kPage, [&] {
        for (uint64_t i = 0; i < 3 * kPage; ++i) sum = sum + dev->base()[i];
    });
    EXPECT_TRUE(ok.ok());
    Status bad =
        memsafe::guarded(dev->base(), kDevSize, [&] { sum = sum + dev->base()[3 * kPage + 10]; });
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(3 * kPage, memsafe::last_fault().offset);  // the failed page's start
}

TEST(Memsafe, AfterAFaultTheSameThreadCanCopyAgain) {
    auto dev = make_device();
    ASSERT_TRUE(dev->poison(0, kPage).ok());
    std::vector<uint8_t> out(kPage);
    EXPECT_FALSE(memsafe::copy(out.data(), dev->base(), kPage).ok());
    EXPECT_TRUE(memsafe::copy(out.data(), dev->base() + kPage, kPage).ok());
    ASSERT_TRUE(dev->unpoison_all().ok());
    EXPECT_TRUE(memsafe::copy(out.data(), dev->base(), kPage).ok());
}

TEST(Memsafe, GuardsNestAndTheOuterGuardStillCatchesAfterTheInnerEnds) {
    auto dev = make_device();
    ASSERT_TRUE(dev->poison(6 * kPage, kPage).ok());
    volatile uint8_t sink = 0;
    bool inner_failed = false;
    std::vector<uint8_t> buf(kPage);  // owned outside: a guarded body is abandoned at a fault
    Status outer = memsafe::guarded(dev->base(), kDevSize, [&] {
        inner_failed = !memsafe::copy(buf.data(), dev->base() + 6 * kPage, kPage).ok();
        sink = dev->base()[6 * kPage + 1];  // the outer guard must catch this one
    });
    (void)sink;
    EXPECT_TRUE(inner_failed);
    ASSERT_FALSE(outer.ok());
    EXPECT_EQ(6 * kPage, memsafe::last_fault().offset);
}

TEST(MemsafeDeathTest, UnguardedPoisonStillKills) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    auto dev = make_device();
    ASSERT_TRUE(dev->poison(0, kPage).ok());
    ASSERT_TRUE(memsafe::copy(nullptr, nullptr, 0).ok());  // installs the handler
    // The process still dies of it: by SIGBUS normally, or through the
    // previous handler's own report (ASan's, in the sanitizer build).
    EXPECT_DEATH(
        {
            volatile uint8_t x = dev->base()[1];
            (void)x;
        },
        "");
}

std::atomic<const void*> g_async_addr{nullptr};

TEST(Memsafe, ActionOptionalFailureGoesToTheCallback) {
    memsafe::on_async_failure([](const void* addr, int) { g_async_addr.store(addr); });
    siginfo_t si{};
    si.si_signo = SIGBUS;
    si.si_code = BUS_MCEERR_AO;
    si.si_addr = reinterpret_cast<void*>(0x1234000);
    ASSERT_EQ(0, syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), SIGBUS, &si));
    EXPECT_EQ(reinterpret_cast<void*>(0x1234000), g_async_addr.load());
    memsafe::on_async_failure(nullptr);
}

}  // namespace
}  // namespace famfs
