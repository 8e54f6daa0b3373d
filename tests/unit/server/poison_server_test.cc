// A server that knows of poisoned device ranges (no mount needed): files
// with bytes in them fail with EIO before any load, every other file is
// served, .meta/.status names the files, and poison in the log fails the
// device.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "datapath.h"
#include "famfs/dax.h"
#include "famfs/volume.h"
#include "server.h"
#include "server_fixture.h"

namespace famfs::fused {
namespace {

std::string hex(uint64_t v) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

using test_support::pattern;
using PoisonServerTest = test_support::ServerFixture;

TEST_F(PoisonServerTest, AFileWithPoisonedBytesFailsAndItsNeighbourIsServed) {
    const auto a = create("a", 4096, 1);
    const auto b = create("b", 8192, 2);
    auto fa = open("a", true);
    auto fb = open("b", true);  // open before the poison is known
    ASSERT_TRUE(fa && fb);
    std::vector<uint8_t> bytes;
    EXPECT_EQ(read_all(*fb, bytes), 0);
    EXPECT_EQ(bytes, pattern(2, 8192));
    EXPECT_EQ(status().find("poisoned:"), std::string::npos);
    EXPECT_NE(status().find("\npoisoned_ranges: 0\n"), std::string::npos);

    const uint64_t at = b.extents.at(0).offset + 4096;
    server().add_poison({at, 0x40});
    EXPECT_FALSE(hits_poison(server(), *fa));
    EXPECT_TRUE(hits_poison(server(), *fb));
    uint64_t written = 0;
    EXPECT_EQ(read_all(*fb, bytes), EIO);
    EXPECT_EQ(store_write(server(), *fb, 0, "x", 1, written), EIO);
    EXPECT_EQ(persist_all(server(), *fb), EIO);
    EXPECT_TRUE(hits_poison(server(), *open("b"))) << "a fresh open checks too";

    EXPECT_EQ(read_all(*fa, bytes), 0);
    EXPECT_EQ(bytes, pattern(1, 4096));
    EXPECT_EQ(store_write(server(), *fa, 0, "x", 1, written), 0);
    EXPECT_EQ(written, 1u);
    EXPECT_FALSE(server().failed());

    const std::string text = status();
    EXPECT_NE(text.find("\npoisoned_ranges: 1\n"), std::string::npos) << text;
    EXPECT_NE(text.find("\npoisoned: device offset " + hex(at) + " (+0x40): /b\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("\ndevice_failed: no\n"), std::string::npos) << text;
    EXPECT_NE(text.find("\npoison_watch: off (not started)\n"), std::string::npos) << text;
    (void)a;
}

TEST_F(PoisonServerTest, OnlyTheStripedFilesPoisonedChunkCountsAndTheLineNamesEveryFileHit) {
    constexpr uint64_t kChunk = 2 * omf::kMiB;
    ASSERT_TRUE(vol_->mkdir("dir", 0755, 0, 0, /*parents=*/false));
    const auto s = create("dir/striped", 4 * kChunk, 3, InterleaveParams{2, 2, kChunk});
    ASSERT_EQ(s.ext_type, omf::ExtentType::kInterleaved);
    const auto other = create("other", 4096, 4);
    // The last chunk is the second chunk of strip 1.
    const auto& strip1 = s.interleave.strips.at(1);
    const uint64_t at = strip1.offset + kChunk + 100;
    server().add_poison({at, 0x40});
    EXPECT_TRUE(hits_poison(server(), *open("dir/striped")));
    EXPECT_FALSE(hits_poison(server(), *open("other")));

    // One range over two files' bytes (other and a new one allocated right
    // after it), one in free space.
    const auto next = create("we,ird", 4096, 5);
    const uint64_t a_end = other.extents.at(0).offset + 4096;
    ASSERT_EQ(next.extents.at(0).offset, other.extents.at(0).offset + omf::kAllocUnit);
    const DeviceRange both{a_end - 0x40, next.extents.at(0).offset - a_end + 0x80};
    server().apply_new_entries();
    server().add_poison(both);
    const uint64_t free_at = kDeviceSize - omf::kAllocUnit;
    server().add_poison({free_at, 0x40});
    const std::string text = status();
    EXPECT_NE(text.find("\npoisoned_ranges: 3\n"), std::string::npos) << text;
    EXPECT_NE(text.find("\npoisoned: device offset " + hex(at) + " (+0x40): /dir/striped\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("\npoisoned: device offset " + hex(both.offset) + " (+" + hex(both.len) +
                        "): /other, /we\\x2cird\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("\npoisoned: device offset " + hex(free_at) + " (+0x40): no file\n"),
              std::string::npos)
        << text;
    EXPECT_TRUE(hits_poison(server(), *open("other")));
}

TEST_F(PoisonServerTest, PoisonInTheLogFailsTheDeviceAndStopsReadingTheLog) {
    create("a", 4096, 1);
    Server& s = server();
    const auto log = omf::log_extent(vol_->superblock());
    const uint64_t at = log.offset + 4096;
    s.add_poison({at, 0x40});
    EXPECT_TRUE(s.failed());
    const std::string text = status();
    EXPECT_NE(text.find("\ndevice_failed: yes (poison in the log at device offset " + hex(at) +
                        " (+0x40))\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("\npoisoned: device offset " + hex(at) + " (+0x40): /.meta/.log\n"),
              std::string::npos)
        << text;
    std::vector<uint8_t> bytes;
    EXPECT_EQ(read_all(*open("a"), bytes), EIO);
    create("b", 4096, 2);
    const CatchUp c = s.apply_new_entries();
    EXPECT_EQ(c.after, c.before) << "the poisoned log is not read again";
}

TEST_F(PoisonServerTest, PoisonInTheSuperblockFailsItsMetaFileOnly) {
    create("a", 4096, 1);
    Server& s = server();
    s.add_poison({0x40, 0x40});
    EXPECT_FALSE(s.failed());
    EXPECT_NE(status().find("\npoisoned: device offset 0x40 (+0x40): /.meta/.superblock\n"),
              std::string::npos)
        << status();
    std::vector<uint8_t> bytes;
    EXPECT_EQ(read_all(*open("a"), bytes), 0);
}

TEST_F(PoisonServerTest, OnADeviceFileTheWatcherIsOffAndSaysWhy) {
    Server& s = server();
    s.start_poison_watch();
    EXPECT_NE(status().find("\npoison_watch: off (not a devdax device)\n"), std::string::npos)
        << status();
    s.stop_poison_watch();
}

}  // namespace
}  // namespace famfs::fused
