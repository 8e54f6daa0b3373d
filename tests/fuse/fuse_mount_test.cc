// One mount, one host: what famfs_fused serves from the log, and what it
// refuses to do.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>

#include "fuse_fixture.h"

namespace famfs::fusetest {
namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

TEST_F(FuseTest, ServesTheTreeAttributesAndDataFromTheLog) {
    mkdir("a/b");
    const auto f1 = create("a/b/f1", 5000, 0640, 1);
    create("top", 3 * omf::kMiB, 0600, 2);
    Host& m = start_master();

    const auto root = list_dir(m.path());
    EXPECT_TRUE(contains(root, "a") && contains(root, "top") && contains(root, ".meta"));
    EXPECT_EQ(list_dir(m.path("a")), std::vector<std::string>{"b"});
    EXPECT_EQ(list_dir(m.path("a/b")), std::vector<std::string>{"f1"});

    struct stat st {};
    ASSERT_EQ(stat(m.path("a/b/f1").c_str(), &st), 0);
    EXPECT_EQ(st.st_size, 5000);
    EXPECT_EQ(st.st_mode, S_IFREG | 0640);
    EXPECT_EQ(st.st_uid, 0u);
    const time_t now = time(nullptr);
    EXPECT_LE(st.st_mtime, now);
    EXPECT_GT(st.st_mtime, now - 3600);
    ASSERT_EQ(stat(m.path("a/b").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode, S_IFDIR | 0755);
    EXPECT_EQ(st.st_nlink, 2u);
    ASSERT_EQ(stat(m.path("a").c_str(), &st), 0);
    EXPECT_EQ(st.st_nlink, 3u);  // ., .., b
    ASSERT_EQ(stat(m.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_nlink, 4u);  // ., .., a, .meta

    // Differential: through the mount == direct access == the pattern.
    EXPECT_EQ(read_file(m.path("a/b/f1")), pattern(1, 5000));
    EXPECT_EQ(direct_read("a/b/f1"), pattern(1, 5000));
    EXPECT_EQ(read_file(m.path("top")), pattern(2, 3 * omf::kMiB));
    EXPECT_EQ(f1.size, 5000u);
}

TEST_F(FuseTest, StatfsReportsTheAllocatorsCapacityAndFreeSpace) {
    create("big", 40 * omf::kMiB);
    Host& m = start_master();
    auto st = volume().load();
    ASSERT_TRUE(st);
    struct statvfs sv {};
    ASSERT_EQ(statvfs(m.path().c_str(), &sv), 0);
    EXPECT_EQ(sv.f_blocks * sv.f_frsize, st->alloc.capacity());
    EXPECT_EQ(sv.f_bfree * sv.f_frsize, st->alloc.free_bytes());
    EXPECT_LT(st->alloc.free_bytes(), st->alloc.capacity() - 40 * omf::kMiB);
}

TEST_F(FuseTest, MetaFilesShowTheSuperblockAndLogReadOnly) {
    create("x", 4096);
    Host& m = start_master();
    const auto& sb = volume().superblock();
    auto dev = volume().device().bytes();
    EXPECT_EQ(read_file(m.path(".meta/.superblock")),
              std::vector<uint8_t>(dev.begin(), dev.begin() + omf::kSuperblockRegion));
    EXPECT_EQ(read_file(m.path(".meta/.log")),
              std::vector<uint8_t>(dev.begin() + sb.log_offset,
                                   dev.begin() + sb.log_offset + sb.log_len));
    // Tools built on the reference famfs mmap .meta/.log read-only.
    const int lfd = open(m.path(".meta/.log").c_str(), O_RDONLY);
    ASSERT_GE(lfd, 0);
    void* lp = mmap(nullptr, sb.log_len, PROT_READ, MAP_SHARED, lfd, 0);
    ASSERT_NE(lp, MAP_FAILED) << strerror(errno);
    EXPECT_EQ(std::memcmp(lp, dev.data() + sb.log_offset, sb.log_len), 0);
    munmap(lp, sb.log_len);
    EXPECT_EQ(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, lfd, 0), MAP_FAILED);
    close(lfd);
    EXPECT_EQ(open(m.path(".meta/.log").c_str(), O_WRONLY), -1);
    EXPECT_EQ(errno, EACCES);
    EXPECT_EQ(open(m.path(".meta/.superblock").c_str(), O_RDWR), -1);
    EXPECT_EQ(errno, EACCES);

    char buf[4096];
    const ssize_t n = getxattr(m.path().c_str(), "user.famfs.status", buf, sizeof(buf));
    ASSERT_GT(n, 0);
    const std::string text(buf, size_t(n));
    EXPECT_NE(text.find("role: master"), std::string::npos) << text;
    EXPECT_NE(text.find("device: " + device()), std::string::npos) << text;
    EXPECT_EQ(status_field(m, "entries_replayed"), "1");
    EXPECT_EQ(status_field(m, "errors"), "0");
}

// Every refused operation must fail with `expected` and leave the
// superblock and log exactly as they were. (chmod, chown and utimes are
// accepted in memory: fuse_setattr_test.cc.)
void expect_metadata_ops_refused(FuseTest& t, Host& h, int expected) {
    const auto before = t.metadata_bytes();
    auto expect_errno = [&](int rc, const char* what) {
        EXPECT_EQ(rc, -1) << what;
        EXPECT_EQ(errno, expected) << what << ": " << strerror(errno);
    };
    expect_errno(open(h.path("new").c_str(), O_CREAT | O_WRONLY, 0644), "create");
    expect_errno(::mkdir(h.path("newdir").c_str(), 0755), "mkdir");
    // The master deletes through its mount (fuse_delete_test.cc).
    if (expected == EROFS) {
        expect_errno(unlink(h.path("f").c_str()), "unlink");
        expect_errno(rmdir(h.path("d").c_str()), "rmdir");
    }
    expect_errno(rename(h.path("f").c_str(), h.path("g").c_str()), "rename");
    expect_errno(link(h.path("f").c_str(), h.path("g").c_str()), "link");
    expect_errno(symlink("f", h.path("s").c_str()), "symlink");
    expect_errno(mkfifo(h.path("fifo").c_str(), 0644), "mknod");
    expect_errno(truncate(h.path("f").c_str(), 0), "truncate");
    expect_errno(truncate(h.path("f").c_str(), 3 * 4096), "truncate up");
    expect_errno(open(h.path("f").c_str(), O_WRONLY | O_TRUNC), "open O_TRUNC");
    expect_errno(setxattr(h.path("f").c_str(), "user.x", "1", 1, 0), "setxattr");
    EXPECT_EQ(t.metadata_bytes(), before);

    struct stat st {};
    ASSERT_EQ(stat(h.path("f").c_str(), &st), 0);
    EXPECT_EQ(st.st_size, 2 * 4096);
    EXPECT_EQ(st.st_mode, S_IFREG | 0666);
    EXPECT_EQ(read_file(h.path("f")), pattern(3, 2 * 4096));
}

TEST_F(FuseTest, MetadataChangesAreRefusedOnTheMasterWithEopnotsupp) {
    create("f", 2 * 4096, 0666, 3);
    mkdir("d");
    Host& m = start_master();
    expect_metadata_ops_refused(*this, m, EOPNOTSUPP);
}

TEST_F(FuseTest, MetadataChangesAreRefusedOnAClientWithErofs) {
    create("f", 2 * 4096, 0666, 3);
    mkdir("d");
    start_master();
    Host& c = start_client("client");
    expect_metadata_ops_refused(*this, c, EROFS);
}

TEST_F(FuseTest, WritesNeverChangeAFilesSize) {
    create("f", 10000, 0666, 4);
    Host& m = start_master();
    const int fd = open(m.path("f").c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    const std::vector<uint8_t> ones(500, 0xee);
    // Crossing the end: only the bytes inside the file are written.
    EXPECT_EQ(pwrite(fd, ones.data(), ones.size(), 9800), 200);
    EXPECT_EQ(pwrite(fd, ones.data(), ones.size(), 10000), -1);
    EXPECT_EQ(errno, EFBIG);
    close(fd);
    auto expected = pattern(4, 10000);
    std::fill(expected.begin() + 9800, expected.end(), 0xee);
    EXPECT_EQ(direct_read("f"), expected);
    struct stat st {};
    ASSERT_EQ(stat(m.path("f").c_str(), &st), 0);
    EXPECT_EQ(st.st_size, 10000);
}

}  // namespace
}  // namespace famfs::fusetest

namespace famfs::fusetest {
namespace {

// A striped file is many memory pieces: reads and writes through the mount
// that cross chunk and strip boundaries must agree with the direct-access
// view, byte for byte.
TEST_F(FuseTest, StripedFilesReadAndWriteAcrossChunkBoundaries) {
    CreateSpec spec;
    spec.relpath = "striped";
    spec.size = 16 * omf::kMiB + 4099;
    spec.mode = 0666;
    spec.interleave = {2, 2, 2 * omf::kMiB};
    auto c = volume().create_file(spec);
    ASSERT_TRUE(c) << c.error().message;
    ASSERT_EQ(c->file.ext_type, omf::ExtentType::kInterleaved);
    auto map = dax::FileMapping::from_entry(volume().shared_device(), c->file);
    ASSERT_TRUE(map);
    ASSERT_GT(map->segments().size(), 4u);
    const auto p1 = pattern(51, spec.size);
    ASSERT_EQ(map->write(0, p1), spec.size);
    Host& a = start_master();
    EXPECT_EQ(read_file(a.path("striped")), p1);

    // One write spanning three chunks, at an odd offset.
    const uint64_t at = 2 * omf::kMiB - 1000;
    const auto p2 = pattern(52, 5 * omf::kMiB);
    ASSERT_EQ(write_file(a.path("striped"), p2, at), 0);
    auto expected = p1;
    std::copy(p2.begin(), p2.end(), expected.begin() + at);
    EXPECT_EQ(direct_read("striped"), expected);
    EXPECT_EQ(read_file(a.path("striped")), expected);
}

}  // namespace
}  // namespace famfs::fusetest
