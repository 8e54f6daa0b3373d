// Stale device detection: the comparison of what a server mounted with what
// the device holds now (stale_device.h), and a server (no mount needed) whose
// device another host re-formats: nothing of the new file system is served
// or applied, .meta/.status says what changed.
#include "stale_device.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "datapath.h"
#include "famfs/dax.h"
#include "famfs/log.h"
#include "famfs/volume.h"
#include "famfs_test_support.h"
#include "inodes.h"
#include "server.h"
#include "server_fixture.h"

namespace famfs::fused {
namespace {

// A superblock and log header as mkfs writes them, next_index set.
struct Image {
    std::vector<uint8_t> sb = std::vector<uint8_t>(omf::kSuperblockBytes);
    std::vector<uint8_t> header = std::vector<uint8_t>(omf::kLogHeaderBytes);
    omf::Superblock super;
    omf::LogHeader log;

    explicit Image(uint64_t next_index = 5, uint64_t log_len = omf::kMinLogLen) {
        super = test::make_superblock(4 * omf::kGiB, log_len, test::host_uuid());
        log = omf::make_log_header(log_len);
        log.next_index = log.next_seqnum = next_index;
        encode();
    }
    void encode() {
        omf::encode_superblock(super, sb);
        omf::encode_log_header(log, header);
    }
};

TEST(CompareIdentity, TheSameFileSystemIsNotStaleAsItsLogGrows) {
    Image mounted;
    const auto id = DeviceIdentity::from(mounted.sb, mounted.header);
    EXPECT_EQ(id.fs_uuid(), mounted.super.fs_uuid);
    EXPECT_FALSE(compare_identity(id, mounted.sb, mounted.header, 5));
    EXPECT_FALSE(compare_identity(id, mounted.sb, mounted.header, std::nullopt));
    Image later = mounted;
    later.log.next_index = later.log.next_seqnum = 9;
    later.encode();
    EXPECT_FALSE(compare_identity(id, later.sb, later.header, 5));
    EXPECT_EQ(header_next_index(later.header), 9u);
}

// The master's first delete rewrites the superblock as version 49: the same
// file system, so no mount may call it stale. Only that exact change passes.
TEST(CompareIdentity, TheFirstDeletesMarkIsNotStaleButAnyOtherVersionIs) {
    Image mounted;
    const auto id = DeviceIdentity::from(mounted.sb, mounted.header);
    Image marked = mounted;
    omf::mark_superblock_bytes_for_deletes(marked.sb);
    ASSERT_NE(marked.sb, mounted.sb);
    EXPECT_TRUE(omf::validate_superblock(marked.sb));
    EXPECT_FALSE(compare_identity(id, marked.sb, marked.header, 5));

    Image other = mounted;
    other.super.version = 50;
    other.encode();
    auto st = compare_identity(id, other.sb, other.header, 5);
    ASSERT_TRUE(st);
    EXPECT_NE(st->what.find("version 48 -> 50"), std::string::npos) << st->what;

    Image marked_and_moved = marked;  // marked, and another byte changed too
    marked_and_moved.sb[150] ^= 1;
    EXPECT_TRUE(compare_identity(id, marked_and_moved.sb, marked_and_moved.header, 5));
}

TEST(CompareIdentity, AReformatShowsTheOldAndNewFsUuid) {
    Image mounted;
    const auto id = DeviceIdentity::from(mounted.sb, mounted.header);
    Image now(0);  // a fresh mkfs: new UUIDs, empty log
    auto st = compare_identity(id, now.sb, now.header, std::nullopt);
    ASSERT_TRUE(st);
    EXPECT_EQ(st->cause, Staleness::Cause::kSuperblock);
    ASSERT_TRUE(st->new_fs_uuid);
    EXPECT_EQ(*st->new_fs_uuid, now.super.fs_uuid);
    EXPECT_NE(st->what.find("fs_uuid " + omf::uuid_to_string(mounted.super.fs_uuid) + " -> " +
                            omf::uuid_to_string(now.super.fs_uuid)),
              std::string::npos)
        << st->what;
    EXPECT_EQ(st->now, "fs_uuid " + omf::uuid_to_string(now.super.fs_uuid));
}

TEST(CompareIdentity, AReformatWithTheSameUuidButAnotherLogLengthIsStale) {
    Image mounted;
    const auto id = DeviceIdentity::from(mounted.sb, mounted.header);
    Image now(0, 2 * omf::kMinLogLen);
    now.super.fs_uuid = mounted.super.fs_uuid;
    now.super.dev_uuid = mounted.super.dev_uuid;
    now.encode();
    auto st = compare_identity(id, now.sb, now.header, std::nullopt);
    ASSERT_TRUE(st);
    EXPECT_EQ(st->cause, Staleness::Cause::kSuperblock);
    EXPECT_NE(st->what.find("log_len 8388608 -> 16777216"), std::string::npos) << st->what;
    EXPECT_NE(st->what.find("crc"), std::string::npos) << st->what;
}

TEST(CompareIdentity, AKilledOrHalfWrittenSuperblockHasNoNewUuid) {
    Image mounted;
    const auto id = DeviceIdentity::from(mounted.sb, mounted.header);
    std::vector<uint8_t> zero(omf::kSuperblockBytes, 0);  // mkfs's first step, or mkfs -k
    auto st = compare_identity(id, zero, mounted.header, std::nullopt);
    ASSERT_TRUE(st);
    EXPECT_EQ(st->cause, Staleness::Cause::kSuperblock);
    EXPECT_FALSE(st->new_fs_uuid);
    EXPECT_NE(st->now.find("no valid famfs superblock"), std::string::npos) << st->now;
    EXPECT_NE(st->what.find("magic"), std::string::npos) << st->what;

    Image flipped = mounted;  // one bit of the fs_uuid: the CRC no longer matches
    flipped.sb[50] ^= 1;
    st = compare_identity(id, flipped.sb, mounted.header, std::nullopt);
    ASSERT_TRUE(st);
    EXPECT_FALSE(st->new_fs_uuid);
    EXPECT_NE(st->now.find("CRC"), std::string::npos) << st->now;
}

TEST(CompareIdentity, ARemadeLogUnderTheSameSuperblockIsStale) {
    Image mounted;
    const auto id = DeviceIdentity::from(mounted.sb, mounted.header);
    Image now = mounted;
    now.log.log_len = 2 * omf::kMinLogLen;
    now.log.last_index = omf::log_capacity(now.log.log_len) - 1;
    now.encode();
    auto st = compare_identity(id, mounted.sb, now.header, std::nullopt);
    ASSERT_TRUE(st);
    EXPECT_EQ(st->cause, Staleness::Cause::kLogHeader);
    EXPECT_NE(st->what.find("log_len 8388608 -> 16777216"), std::string::npos) << st->what;
    ASSERT_TRUE(st->new_fs_uuid);  // the superblock is the same
    EXPECT_EQ(*st->new_fs_uuid, mounted.super.fs_uuid);

    // A header that fails its own checks under the same superblock is an
    // unreadable header (reported, recoverable), not another log.
    std::vector<uint8_t> zero(omf::kLogHeaderBytes, 0);
    EXPECT_FALSE(compare_identity(id, mounted.sb, zero, 7));
    Image corrupt = mounted;
    corrupt.header[0] ^= 0xff;
    EXPECT_FALSE(compare_identity(id, mounted.sb, corrupt.header, std::nullopt));
}

TEST(CompareIdentity, NextIndexGoingBackIsStaleOnlyAgainstTheCallersOwnReading) {
    Image mounted(7);
    const auto id = DeviceIdentity::from(mounted.sb, mounted.header);
    Image now = mounted;
    now.log.next_index = now.log.next_seqnum = 2;
    now.encode();
    auto st = compare_identity(id, now.sb, now.header, 7);
    ASSERT_TRUE(st);
    EXPECT_EQ(st->cause, Staleness::Cause::kNextIndexBack);
    EXPECT_EQ(st->what, "the log's next_index went back from 7 to 2");
    EXPECT_FALSE(compare_identity(id, now.sb, now.header, std::nullopt));
    EXPECT_FALSE(compare_identity(id, now.sb, now.header, 2));
}

// A server on a /dev/shm device that "another host" re-formats.
class StaleServerTest : public test_support::ServerFixture {
  protected:
    // Another host's mkfs, then a new file system with more entries than the
    // old one, at the old names and beyond.
    omf::Uuid reformat_with_files() {
        const omf::Uuid fresh = test::reformat_as_another_host(dev_->path(), test::host_uuid());
        open_volume();
        for (int i = 0; i < 4; i++) create("n" + std::to_string(i), 4096, 100 + i);
        create("a", 4096, 99);  // the old name, other bytes at the same place
        return fresh;
    }
    // Every byte of the superblock set to `byte`, as failing memory reads.
    void overwrite_superblock(uint8_t byte) {
        write_superblock(std::vector<uint8_t>(omf::kSuperblockBytes, byte));
    }
    void write_superblock(const std::vector<uint8_t>& bytes) {
        std::FILE* f = std::fopen(dev_->path().c_str(), "r+b");
        ASSERT_NE(f, nullptr);
        EXPECT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), f), bytes.size());
        std::fclose(f);
    }
    std::vector<uint8_t> superblock_now() {
        std::vector<uint8_t> bytes(omf::kSuperblockBytes);
        std::FILE* f = std::fopen(dev_->path().c_str(), "rb");
        EXPECT_NE(f, nullptr);
        if (f == nullptr) return bytes;
        EXPECT_EQ(std::fread(bytes.data(), 1, bytes.size(), f), bytes.size());
        std::fclose(f);
        return bytes;
    }
};

using test_support::pattern;

std::string field(const std::string& text, const std::string& key) {
    const std::string k = "\n" + key + ": ";
    const size_t at = text.find(k);
    if (at == std::string::npos) return "";
    const size_t start = at + k.size();
    return text.substr(start, text.find('\n', start) - start);
}

TEST_F(StaleServerTest, AReformatFailsEveryDataRequestAndAppliesNothing) {
    create("a", 4096, 1);
    create("b", 4096, 2);
    Server& s = server();
    const std::string old_uuid = omf::uuid_to_string(vol_->superblock().fs_uuid);
    auto fa = open("a", /*writable=*/true);
    ASSERT_TRUE(fa);
    std::vector<uint8_t> bytes;
    EXPECT_EQ(read_all(*fa, bytes), 0);
    EXPECT_EQ(bytes, pattern(1, 4096));
    EXPECT_EQ(field(s.status_text(), "device_stale"), "no");
    EXPECT_EQ(s.device_errno("an open"), 0);

    const omf::Uuid fresh = reformat_with_files();
    // No follower: the read itself re-validates before serving a byte.
    EXPECT_FALSE(s.stale());
    EXPECT_EQ(read_all(*fa, bytes), ESTALE);
    EXPECT_TRUE(bytes.empty());
    EXPECT_TRUE(s.stale());
    uint64_t written = 0;
    EXPECT_EQ(store_write(s, *fa, 0, "x", 1, written), ESTALE);
    EXPECT_EQ(persist_all(s, *fa), ESTALE);
    EXPECT_EQ(s.device_errno("an open"), ESTALE);
    // The new file at the old name kept its bytes: the write never landed.
    auto map = dax::FileMapping::open(dev_->path(), "a", Access::kReadOnly);
    ASSERT_TRUE(map);
    std::vector<uint8_t> now(4096);
    EXPECT_EQ(map->read(0, now), 4096u);
    EXPECT_EQ(now, pattern(99, 4096));

    // The new log has more entries than the old: none joins the old tree.
    const CatchUp c = s.apply_new_entries();
    EXPECT_EQ(c.after, c.before);
    {
        auto rd = s.read_tree();
        EXPECT_EQ(s.tree().lookup("n3"), nullptr);
        EXPECT_EQ(s.tree().files(), 2u);
    }
    const std::string text = s.status_text();
    EXPECT_EQ(field(text, "device_stale").substr(0, 16), "yes (found by a ") << text;
    EXPECT_EQ(field(text, "mounted_fs_uuid"), old_uuid) << text;
    EXPECT_EQ(field(text, "new_fs_uuid"), omf::uuid_to_string(fresh)) << text;
    EXPECT_EQ(field(text, "fs_uuid"), old_uuid) << text;
    EXPECT_EQ(field(text, "errors"), "1") << text;
    EXPECT_NE(text.find("unmount and mount again"), std::string::npos) << text;
    EXPECT_NE(field(text, "device_change").find(old_uuid + " -> " + omf::uuid_to_string(fresh)),
              std::string::npos)
        << text;
}

TEST_F(StaleServerTest, TheFollowerFindsAReformatAndDropsTheKernelsCaches) {
    create("a", 4096, 1);
    ASSERT_TRUE(vol_->mkdir("d", 0755, 0, 0, false));
    create("d/b", 4096, 2);
    std::mutex mu;
    std::set<uint64_t> dropped;
    std::set<std::string> names;
    Server& s = server();
    Server::KernelCache cache;
    cache.inode = [&](uint64_t ino) {
        std::lock_guard lk(mu);
        dropped.insert(ino);
        return 0;
    };
    cache.entry = [&](uint64_t parent, const std::string& name) {
        std::lock_guard lk(mu);
        names.insert(std::to_string(parent) + "/" + name);
        return 0;
    };
    s.set_kernel_cache(std::move(cache));
    s.start_following();
    std::set<uint64_t> files;
    uint64_t d = 0;
    {
        auto rd = s.read_tree();
        for (const char* p : {"a", "d", "d/b"}) files.insert(s.tree().lookup(p)->ino);
        d = s.tree().lookup("d")->ino;
    }
    // The last step of another host's mkfs, alone: a new superblock (the
    // log is left as it was, so only the superblock can give it away).
    auto other = open_device(dev_->path(), Access::kReadWrite);
    ASSERT_TRUE(other);
    const omf::Superblock fresh =
        test::make_superblock((*other)->size(), omf::kMinLogLen, test::host_uuid());
    const auto t0 = std::chrono::steady_clock::now();
    omf::encode_superblock(fresh, (*other)->range(0, omf::kSuperblockBytes));
    while (!s.stale() && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5)) {
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(s.stale());
    std::printf("the follower (1 ms poll) found the new superblock after %.2f ms\n", ms);
    EXPECT_LT(ms, 1000.0);
    EXPECT_NE(field(s.status_text(), "device_stale").find("the follower"), std::string::npos)
        << s.status_text();
    for (int i = 0; i < 500; i++) {
        if (field(s.status_text(), "stale_kernel_caches").substr(0, 7) == "dropped") break;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::lock_guard lk(mu);
    for (uint64_t ino : files) EXPECT_TRUE(dropped.count(ino)) << ino;
    EXPECT_TRUE(dropped.count(meta_ino(MetaFile::kLog)));
    EXPECT_EQ(names, (std::set<std::string>{"1/a", "1/d", std::to_string(d) + "/b"}));
    EXPECT_EQ(field(s.status_text(), "stale_kernel_caches"),
              "dropped (6 inodes and 3 names the kernel knew)")
        << s.status_text();
}

TEST_F(StaleServerTest, ALogRemadeUnderTheSameSuperblockIsFoundByNextIndexGoingBack) {
    create("a", 4096, 1);
    create("b", 4096, 2);
    Server& s = server(/*follow=*/true);
    // Only next_index (and next_seqnum) fall back to 0: the header's fixed
    // bytes are written again as they were.
    omf::encode_log_header(omf::make_log_header(vol_->superblock().log_len),
                           vol_->log().header_bytes());
    for (int i = 0; i < 2000 && !s.stale(); i++) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_TRUE(s.stale());
    const std::string text = s.status_text();
    EXPECT_EQ(field(text, "device_change"), "the log's next_index went back from 2 to 0") << text;
    EXPECT_EQ(field(text, "new_fs_uuid"), field(text, "mounted_fs_uuid")) << text;
}

TEST_F(StaleServerTest, AHealthyLogNeverLooksStale) {
    Server& s = server(/*follow=*/true);
    for (int i = 0; i < 40; i++)
        create("f" + std::to_string(i), 4096, static_cast<uint64_t>(i) + 1);
    for (int i = 0; i < 2000 && field(s.status_text(), "entries_replayed") != "40"; i++) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_EQ(field(s.status_text(), "entries_replayed"), "40");
    EXPECT_FALSE(s.stale());
    EXPECT_EQ(s.device_errno("an open"), 0);
    EXPECT_EQ(field(s.status_text(), "device_stale"), "no");
}

// The master's first delete rewrites the version and minor (first cache
// line) and the CRC (second): a host that reads the superblock while that
// write is under way, or was paused by its hypervisor in the middle of its
// own read, sees some fields of each. That is the mounted file system.
TEST_F(StaleServerTest, AReadAcrossTheDeleteMarkIsNotAReformat) {
    create("a", 4096, 1);
    Server& s = server();
    const std::vector<uint8_t> before = superblock_now();
    std::vector<uint8_t> marked = before;
    omf::mark_superblock_bytes_for_deletes(marked);
    constexpr size_t kVersion = 8, kMinor = 44, kCrc = 96;
    std::vector<uint8_t> old_fields_new_crc = before;  // read line 0, paused, read line 1
    std::copy_n(marked.begin() + kCrc, 8, old_fields_new_crc.begin() + kCrc);
    std::vector<uint8_t> new_fields_old_crc = marked;
    std::copy_n(before.begin() + kCrc, 8, new_fields_old_crc.begin() + kCrc);
    std::vector<uint8_t> new_version_only = before;
    std::copy_n(marked.begin() + kVersion, 8, new_version_only.begin() + kVersion);
    std::vector<uint8_t> new_minor_only = before;
    std::copy_n(marked.begin() + kMinor, 4, new_minor_only.begin() + kMinor);
    for (const auto* torn :
         {&old_fields_new_crc, &new_fields_old_crc, &new_version_only, &new_minor_only}) {
        ASSERT_FALSE(omf::validate_superblock(*torn).ok());
        write_superblock(*torn);
        EXPECT_EQ(s.device_errno("an open"), 0);
        const CatchUp c = s.apply_new_entries();
        EXPECT_EQ(c.after, c.before);
        ASSERT_FALSE(s.stale()) << s.status_text();
    }
    write_superblock(marked);
    EXPECT_EQ(s.device_errno("an open"), 0);
    EXPECT_FALSE(s.stale());

    // Torn the same way but another byte under the CRC changed too: not a
    // mark in progress.
    std::vector<uint8_t> moved = old_fields_new_crc;
    moved[70] ^= 1;  // in dev_uuid
    write_superblock(moved);
    EXPECT_EQ(s.device_errno("an open"), ESTALE);
    EXPECT_TRUE(s.stale());
}

TEST_F(StaleServerTest, MemoryThatReadsAsAllOnesIsAFailureNotAReformat) {
    create("a", 4096, 1);
    Server& s = server();
    auto fa = open("a");
    ASSERT_TRUE(fa);
    // What a CXL device reads as once CXL.mem is disabled or its link is down.
    overwrite_superblock(0xff);
    std::vector<uint8_t> bytes;
    EXPECT_EQ(read_all(*fa, bytes), EIO);
    EXPECT_FALSE(s.stale());
    EXPECT_TRUE(s.failed());
    EXPECT_EQ(s.device_errno("an open"), EIO);
    EXPECT_NE(s.status_text().find("reads as all ones"), std::string::npos) << s.status_text();
}

// A CXL device taken away by an uncorrectable error reads as all ones, then
// as zeros once its decoder is reset: the second is no re-format either.
TEST_F(StaleServerTest, FailedMemoryThatLaterReadsAsZerosStaysFailedNotStale) {
    create("a", 4096, 1);
    Server& s = server();
    auto fa = open("a");
    ASSERT_TRUE(fa);
    overwrite_superblock(0xff);
    std::vector<uint8_t> bytes;
    EXPECT_EQ(read_all(*fa, bytes), EIO);
    ASSERT_TRUE(s.failed());
    overwrite_superblock(0x00);
    const CatchUp c = s.apply_new_entries();
    EXPECT_EQ(c.after, c.before);
    EXPECT_FALSE(s.device_changed("a test"));
    EXPECT_FALSE(s.stale());
    EXPECT_FALSE(s.answers_stale());
    EXPECT_EQ(s.device_errno("an open"), EIO);
    EXPECT_EQ(field(s.status_text(), "device_stale"), "no");
}

// A host told its device failed (notify-failure, poison elsewhere) still
// follows the log: its metadata stays served, only file data answers EIO.
TEST_F(StaleServerTest, AFailedDeviceStillFollowsTheLog) {
    create("a", 4096, 1);
    Server& s = server();
    s.mark_failed("a test failure");
    create("b", 4096, 2);
    const CatchUp c = s.apply_new_entries();
    EXPECT_EQ(c.after, c.before + 1);
    EXPECT_FALSE(s.stale());
    EXPECT_EQ(s.device_errno("an open"), EIO);
}

// A device found changed first and failed after: failure wins the answers.
TEST_F(StaleServerTest, AStaleDeviceThatFailsAnswersEio) {
    create("a", 4096, 1);
    Server& s = server();
    overwrite_superblock(0x00);
    ASSERT_TRUE(s.device_changed("a test"));
    EXPECT_TRUE(s.answers_stale());
    EXPECT_EQ(s.device_errno("an open"), ESTALE);
    s.mark_failed("a test failure");
    EXPECT_TRUE(s.stale());
    EXPECT_FALSE(s.answers_stale());
    EXPECT_EQ(s.device_errno("an open"), EIO);
}

}  // namespace
}  // namespace famfs::fused
