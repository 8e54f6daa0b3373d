// famfs rm, rmdir and hosts (docs/delete.md): deletes on the master, the
// superblock mark, refusals that leave the device byte-identical, and
// clients refusing with EROFS.
#include <algorithm>
#include <cstring>

#include "cli_fixture.h"

namespace famfs::clitest {
namespace {

using RmTest = CliTest;

uint64_t superblock_version(const std::vector<uint8_t>& device) {
    uint64_t v;
    std::memcpy(&v, device.data() + 8, sizeof v);
    return v;
}

TEST_F(RmTest, RemovesAFileAndMarksTheSuperblock) {
    format();
    ASSERT_EQ(famfs({"creat", "-s", "3m", "f"}).status, 0);
    ASSERT_EQ(famfs({"mkdir", "d"}).status, 0);
    EXPECT_EQ(superblock_version(snapshot()), 48u) << "no delete yet: still OMF 2.2";
    Outcome r = famfs({"rm", "-v", "f"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "removed f")) << r.out;
    EXPECT_EQ(superblock_version(snapshot()), 49u);
    State st = load();
    EXPECT_EQ(st.ns.lookup("f"), nullptr);
    EXPECT_NE(st.ns.lookup("d"), nullptr);
    EXPECT_EQ(st.alloc.pending_bytes(), 4u << 20);

    Outcome f = famfs({"fsck"});
    EXPECT_EQ(f.status, 0) << f.out << f.err;
    EXPECT_TRUE(contains(f.out, "Pending reclaim:        4194304")) << f.out;
    EXPECT_TRUE(contains(f.out, "OMF minor version: 3")) << f.out;
}

// The reference famfs accepts only superblock version 48: the mark changes
// the version (and the OMF minor, and so the CRC), and no other byte of
// the superblock a reference tool reads.
TEST_F(RmTest, TheMarkChangesOnlyTheVersionMinorAndCrc) {
    format();
    ASSERT_EQ(famfs({"creat", "-s", "4k", "f"}).status, 0);
    const auto before = snapshot();
    ASSERT_EQ(famfs({"rm", "f"}).status, 0);
    const auto after = snapshot();
    for (size_t i = 0; i < omf::kSuperblockBytes; ++i) {
        const bool marked = (i >= 8 && i < 16) || (i >= 44 && i < 48) || (i >= 96 && i < 104);
        if (!marked) {
            EXPECT_EQ(before[i], after[i]) << "superblock byte " << i;
        }
    }
    EXPECT_EQ(superblock_version(after), 49u);
    EXPECT_EQ(after[44], 3);
    std::vector<uint8_t> sb(after.begin(), after.begin() + omf::kSuperblockBytes);
    EXPECT_TRUE(omf::validate_superblock(sb).ok());
    // A second delete leaves the superblock alone.
    ASSERT_EQ(famfs({"creat", "-s", "4k", "g"}).status, 0);
    ASSERT_EQ(famfs({"rm", "g"}).status, 0);
    const auto again = snapshot();
    EXPECT_TRUE(std::equal(after.begin(), after.begin() + omf::kSuperblockBytes, again.begin()));
}

TEST_F(RmTest, FailuresNameTheObjectAndChangeNothing) {
    format();
    ASSERT_EQ(famfs({"mkdir", "d"}).status, 0);
    ASSERT_EQ(famfs({"creat", "-s", "4k", "d/f"}).status, 0);
    const auto before = snapshot();
    struct Case {
        std::vector<std::string> args;
        const char* message;
    };
    for (const Case& c :
         {Case{{"rm", "nope"}, "nope: no such file or directory"},
          Case{{"rm", "d"}, "d: is a directory"}, Case{{"rmdir", "d"}, "d: directory not empty"},
          Case{{"rmdir", "d/f"}, "d/f: is not a directory"},
          Case{{"rm", ""}, "the root directory cannot be removed"}}) {
        Outcome r = famfs(c.args);
        EXPECT_EQ(r.status, 1) << c.args[0] << " " << c.args[1];
        EXPECT_TRUE(contains(r.err, c.message)) << r.err;
        EXPECT_DEVICE_UNCHANGED(before);
    }
    EXPECT_EQ(famfs({"rm"}).status, 1) << "no operand is a usage error";
}

TEST_F(RmTest, RecursiveAndRmdir) {
    format();
    ASSERT_EQ(famfs({"mkdir", "-p", "d/e"}).status, 0);
    ASSERT_EQ(famfs({"creat", "-s", "4k", "d/e/f"}).status, 0);
    ASSERT_EQ(famfs({"mkdir", "empty"}).status, 0);
    Outcome r = famfs({"rmdir", "empty"});
    ASSERT_EQ(r.status, 0) << r.err;
    r = famfs({"rm", "-r", "d"});
    ASSERT_EQ(r.status, 0) << r.err;
    State st = load();
    EXPECT_EQ(st.ns.files() + st.ns.dirs(), 0u);
    EXPECT_TRUE(st.ns.problems().empty());
    EXPECT_EQ(famfs({"fsck"}).status, 0);
    // The names are free again.
    ASSERT_EQ(famfs({"mkdir", "d"}).status, 0);
    ASSERT_EQ(famfs({"creat", "-s", "4k", "d/f"}).status, 0);
}

TEST_F(RmTest, EveryOperandIsTriedAndFailuresCounted) {
    format();
    ASSERT_EQ(famfs({"creat", "-s", "4k", "a"}).status, 0);
    ASSERT_EQ(famfs({"creat", "-s", "4k", "b"}).status, 0);
    Outcome r = famfs({"rm", "a", "nope", "b"});
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.err, "nope")) << r.err;
    State st = load();
    EXPECT_EQ(st.ns.files(), 0u);
}

// One command keeps one view of the device: each operand sees the deletes
// of the operands before it.
TEST_F(RmTest, EachOperandSeesTheDeletesBeforeIt) {
    format();
    ASSERT_EQ(famfs({"mkdir", "-p", "d/e/g"}).status, 0);
    ASSERT_EQ(famfs({"creat", "-s", "4k", "d/f"}).status, 0);
    Outcome r = famfs({"rmdir", "d/e/g", "d/e"});
    ASSERT_EQ(r.status, 0) << r.err;
    r = famfs({"rm", "-r", "d/f", "d", "d/f"});
    EXPECT_EQ(r.status, 1) << "the last operand is gone with d";
    EXPECT_TRUE(contains(r.err, "d/f")) << r.err;
    State st = load();
    EXPECT_EQ(st.ns.files() + st.ns.dirs(), 0u);
    EXPECT_TRUE(st.ns.problems().empty());
}

TEST_F(RmTest, ClientsRefuseWithEROFS) {
    format();
    ASSERT_EQ(famfs({"creat", "-s", "4k", "f"}).status, 0);
    become_other_host();
    const auto before = snapshot();
    for (const auto& args : {std::vector<std::string>{"rm", "f"}, {"rmdir", "f"}}) {
        Outcome r = famfs(args);
        EXPECT_EQ(r.status, 1);
        EXPECT_TRUE(contains(r.err, "f: read-only file system")) << r.err;
        EXPECT_DEVICE_UNCHANGED(before);
    }
}

TEST_F(RmTest, HostsShowsTheTableAndThePendingSpace) {
    format();
    Outcome r = famfs({"hosts"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "no hosts in the table")) << r.out;
    EXPECT_TRUE(contains(r.out, "pending reclaim: 0 bytes")) << r.out;
    ASSERT_EQ(famfs({"creat", "-s", "4k", "f"}).status, 0);
    ASSERT_EQ(famfs({"rm", "f"}).status, 0);
    r = famfs({"hosts"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "pending reclaim: 2097152 bytes")) << r.out;
    EXPECT_TRUE(contains(r.out, "deleted at entry 1: waits for a host to register")) << r.out;
    // No host has registered: the table says nothing about the mounts that
    // exist, so a new file gets other memory.
    ASSERT_EQ(famfs({"creat", "-s", "4k", "g"}).status, 0);
    State st = load();
    EXPECT_EQ(st.alloc.pending_bytes(), 2u << 20);
    EXPECT_TRUE(st.alloc.collisions().empty());
}

}  // namespace
}  // namespace famfs::clitest
