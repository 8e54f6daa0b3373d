// famfs verify against the test pattern, and the other read-side commands
// (getmap, flush, check) on a device.
#include "cli_fixture.h"

#include <cstdio>

namespace famfs::clitest {
namespace {

using VerifyTest = CliTest;

TEST_F(VerifyTest, ReportsSuccessAndTheFirstBadOffset) {
    format();
    ASSERT_EQ(famfs({"creat", "-s", "3m", "-r", "-S", "9", "f"}).status, 0);
    Outcome ok = famfs({"verify", "-S", "9", "-f", "f"});
    EXPECT_EQ(ok.status, 0) << ok.err;
    EXPECT_TRUE(contains(ok.out, "Success: verified 3145728 bytes in file f")) << ok.out;

    Outcome wrong = famfs({"verify", "-S", "10", "-f", "f"});
    EXPECT_EQ(wrong.status, 1);
    EXPECT_TRUE(contains(wrong.err, "Verify fail: f at offset 0 of 3145728 bytes")) << wrong.err;

    // Corrupt one byte in the second allocation unit.
    const State st = load();
    const Node* n = st.ns.lookup("f");
    ASSERT_NE(n, nullptr);
    const uint64_t at = 2u * 1024 * 1024 + 12345;
    poke(n->file.extents[0].offset + at, {static_cast<uint8_t>(~read_file("f")[at])});
    Outcome bad = famfs({"verify", "-S", "9", "-f", "f"});
    EXPECT_EQ(bad.status, 1);
    EXPECT_TRUE(
        contains(bad.err, "Verify fail: f at offset " + std::to_string(at) + " of 3145728 bytes"))
        << bad.err;
}

TEST_F(VerifyTest, SeveralFilesOnThreadsAndQuiet) {
    format();
    ASSERT_EQ(famfs({"creat", "-M", "a,5000,1", "-M", "b,7000,2", "-M", "c,9000,3"}).status, 0);
    Outcome r = famfs({"verify", "-m", "a,1", "-m", "b,2", "-m", "c,4", "-t", "3", "-q"});
    EXPECT_EQ(r.status, 1);
    EXPECT_FALSE(contains(r.out, "Success")) << r.out;
    EXPECT_TRUE(contains(r.err, "Verify fail: c at offset 0 of 9000 bytes")) << r.err;
}

TEST_F(VerifyTest, MissingFileAndUsage) {
    format();
    Outcome r = famfs({"verify", "-S", "1", "-f", "nope"});
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.err, "famfs verify: nope: ")) << r.err;
    EXPECT_EQ(famfs({"verify", "-f", "nope"}).status, 1);
    EXPECT_EQ(famfs({"verify"}).status, 1);
    EXPECT_EQ(famfs({"verify", "-h"}).status, 0);
}

using GetmapTest = CliTest;

TEST_F(GetmapTest, PrintsExtentsAndUsesTheDocumentedExitCodes) {
    format();
    ASSERT_EQ(famfs({"mkdir", "d"}).status, 0);
    ASSERT_EQ(famfs({"creat", "-s", "3m", "d/f"}).status, 0);
    const State st = load();
    const Node* n = st.ns.lookup("d/f");
    ASSERT_NE(n, nullptr);
    Outcome r = famfs({"getmap", "d/f"});
    EXPECT_EQ(r.status, 0) << r.err;
    char expect[64];
    std::snprintf(expect, sizeof expect, "0x%llx\t4194304",
                  static_cast<unsigned long long>(n->file.extents[0].offset));
    EXPECT_TRUE(contains(r.out, expect)) << r.out;
    EXPECT_TRUE(contains(r.out, "size:    3145728")) << r.out;
    EXPECT_EQ(famfs({"getmap", "-q", "d/f"}).out, "");
    EXPECT_EQ(famfs({"getmap", "d"}).status, EISDIR);
    EXPECT_EQ(famfs({"getmap", "missing"}).status, ENOENT);
    // A file that is not in any famfs mount.
    EXPECT_EQ(famfs_plain({"getmap", local_file("plain", {1, 2, 3})}).status, 1);
    EXPECT_EQ(famfs_plain({"getmap", dir_ + "/missing"}).status, ENOENT);
}

using FlushTest = CliTest;

TEST_F(FlushTest, FlushesFiles) {
    format();
    ASSERT_EQ(famfs({"creat", "-M", "a,4k,1", "-M", "b,8k,2"}).status, 0);
    Outcome r = famfs({"flush", "-v", "a", "b"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "a: 4096 bytes")) << r.out;
    EXPECT_EQ(famfs({"verify", "-m", "a,1", "-m", "b,2"}).status, 0);
    Outcome bad = famfs({"flush", "a", "nope"});
    EXPECT_EQ(bad.status, 1);
    EXPECT_TRUE(contains(bad.err, "famfs flush: nope: ")) << bad.err;
}

using CheckTest = CliTest;

TEST_F(CheckTest, EveryLoggedFileHasAValidMap) {
    format();
    ASSERT_EQ(famfs({"creat", "-M", "a,4k", "-M", "b,3m"}).status, 0);
    Outcome r = famfs({"check", "-v"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "2 files ok, 0 bad")) << r.out;
}

using MkdirTest = CliTest;

TEST_F(MkdirTest, MakesDirectoriesAndParents) {
    format();
    ASSERT_EQ(famfs({"mkdir", "a"}).status, 0);
    Outcome exists = famfs({"mkdir", "a"});
    EXPECT_EQ(exists.status, 1);
    EXPECT_TRUE(contains(exists.err, "famfs mkdir: a: ")) << exists.err;
    Outcome noparent = famfs({"mkdir", "x/y"});
    EXPECT_EQ(noparent.status, 1);
    ASSERT_EQ(famfs({"mkdir", "-p", "-m", "0700", "-u", "5", "-g", "6", "a/b/c"}).status, 0);
    ASSERT_EQ(famfs({"mkdir", "-p", "a/b"}).status, 0);
    State st = load();
    const Node* c = st.ns.lookup("a/b/c");
    ASSERT_NE(c, nullptr);
    EXPECT_TRUE(c->is_dir);
    EXPECT_EQ(c->mode, 0700u);
    EXPECT_EQ(c->uid, 5u);
    EXPECT_EQ(next_index(), 3u);
    ASSERT_EQ(famfs({"creat", "-s", "4k", "a/f"}).status, 0);
    const auto before = snapshot();
    EXPECT_EQ(famfs({"mkdir", "-p", "a/f/g"}).status, 1);
    EXPECT_EQ(famfs({"mkdir", std::string(80, 'd')}).status, 1);
    EXPECT_DEVICE_UNCHANGED(before);
}

using DispatchTest = CliTest;

TEST_F(DispatchTest, GlobalBehaviour) {
    Outcome none = famfs_plain({});
    EXPECT_EQ(none.status, 1);
    EXPECT_TRUE(contains(none.err, "usage")) << none.err;
    Outcome unknown = famfs_plain({"frobnicate"});
    EXPECT_EQ(unknown.status, 3);
    EXPECT_TRUE(contains(unknown.err, "frobnicate")) << unknown.err;
    EXPECT_EQ(famfs_plain({"-h"}).status, 0);
    EXPECT_EQ(famfs_plain({"-?"}).status, 0);
    for (const char* cmd :
         {"creat", "cp", "mkdir", "verify", "check", "getmap", "clone", "flush", "chkread"}) {
        EXPECT_EQ(famfs_plain({cmd, "-h"}).status, 0) << cmd;
    }
    EXPECT_EQ(famfs_plain({"fsck", "-?"}).status, 0);
}

TEST_F(DispatchTest, DryRunChangesNothing) {
    format();
    const auto before = snapshot();
    Outcome r = run({FAMFS_BIN, "--dryrun", "--device", dev_, "creat", "-s", "4k", "f"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_DEVICE_UNCHANGED(before);
}

}  // namespace
}  // namespace famfs::clitest
