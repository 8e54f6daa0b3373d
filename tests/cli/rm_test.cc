// famfs rm, rmdir and hosts (docs/delete.md): deletes on the master, the
// superblock mark, refusals that leave the device byte-identical, and
// clients refusing with EROFS.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "cli_fixture.h"
#include "famfs/omf.h"
#include "famfs_test_support.h"

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

// A master stopped inside the mark's write leaves the new CRC beside the
// old version and minor (they are in another cache line). The CRC vouches
// for every other byte, so commands read it as marked, and the next delete
// writes the mark whole.
TEST_F(RmTest, AMarkLeftHalfWrittenIsReadAsMarkedAndTheNextDeleteCompletesIt) {
    format();
    ASSERT_EQ(famfs({"creat", "-s", "4k", "f"}).status, 0);
    ASSERT_EQ(famfs({"creat", "-s", "4k", "g"}).status, 0);
    const auto image = snapshot();
    std::vector<uint8_t> before(image.begin(), image.begin() + omf::kSuperblockBytes);
    std::vector<uint8_t> marked = before;
    omf::mark_superblock_bytes_for_deletes(marked);
    std::vector<uint8_t> torn = before;
    std::copy_n(marked.begin() + 96, 8, torn.begin() + 96);
    ASSERT_FALSE(omf::validate_superblock(torn).ok());
    poke(0, torn);

    Outcome f = famfs({"fsck"});
    EXPECT_EQ(f.status, 0) << f.out << f.err;
    EXPECT_TRUE(contains(f.out, "OMF minor version: 3")) << f.out;
    ASSERT_EQ(famfs({"rm", "f"}).status, 0);
    const auto after = snapshot();
    EXPECT_TRUE(std::equal(marked.begin(), marked.end(), after.begin()));
    EXPECT_EQ(load().ns.lookup("f"), nullptr);
    EXPECT_NE(load().ns.lookup("g"), nullptr);
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
    EXPECT_TRUE(contains(r.out, "deleted at entry 1: reclaimable now")) << r.out;
    // No host has a slot, so none holds the file (every server takes one
    // before it replays): the next file gets its memory.
    ASSERT_EQ(famfs({"creat", "-s", "4k", "g"}).status, 0);
    State st = load();
    EXPECT_EQ(st.alloc.pending_bytes(), 0u);
    EXPECT_TRUE(st.alloc.collisions().empty());
    EXPECT_EQ(st.ns.lookup("g")->file.extents, st.ns.node_at(0)->file.extents);
}

// Puts a registered host with `watermark` into slot `slot` of the device
// file, as its host and the master would have written it.
void register_host(const std::string& device, size_t slot, uint64_t watermark) {
    std::vector<uint8_t> sb(omf::kSuperblockBytes);
    {
        std::FILE* f = std::fopen(device.c_str(), "rb");
        ASSERT_NE(f, nullptr);
        ASSERT_EQ(std::fread(sb.data(), 1, sb.size(), f), sb.size());
        std::fclose(f);
    }
    omf::HostHalf h;
    h.state = omf::HostState::kActive;
    h.system_uuid[0] = static_cast<uint8_t>(0x10 + slot);
    h.fs_uuid = omf::decode_superblock(sb).fs_uuid;
    h.nonce = 77 + slot;
    h.watermark = watermark;
    h.heartbeat = 1;
    h.name = "host" + std::to_string(slot);
    std::vector<uint8_t> bytes(omf::kHostSlotBytes);
    test::encode_granted_slot(h, bytes);
    std::FILE* f = std::fopen(device.c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(std::fseek(f, static_cast<long>(omf::host_slot_offset(slot)), SEEK_SET), 0);
    ASSERT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), f), bytes.size());
    std::fclose(f);
}

// The lines that say what each pending run waits for.
std::vector<std::string> run_lines(const std::string& out) {
    std::vector<std::string> lines;
    for (size_t at = out.find("  deleted at entry "); at != std::string::npos;
         at = out.find("  deleted at entry ", at + 1)) {
        lines.push_back(out.substr(at, out.find('\n', at) - at));
    }
    return lines;
}

// fsck lists what each run pending reclaim waits for, word for word as
// `famfs hosts` does, whatever the table says.
TEST_F(RmTest, FsckSaysWhatEachPendingRunWaitsForAsHostsDoes) {
    format();
    Outcome r = famfs({"fsck"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_FALSE(contains(r.out, "Pending reclaim, run by run")) << "nothing deleted:\n" << r.out;
    for (const char* name : {"a", "b", "c"}) {
        ASSERT_EQ(famfs({"creat", "-s", "4k", name}).status, 0);
    }
    ASSERT_EQ(famfs({"rm", "a"}).status, 0);  // entry 3
    ASSERT_EQ(famfs({"rm", "b"}).status, 0);  // entry 4
    r = famfs({"fsck"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(contains(r.out,
                         "Pending reclaim, run by run:\n"
                         "  deleted at entry 3: reclaimable now\n"
                         "  deleted at entry 4: reclaimable now\n"))
        << r.out;

    // One host past the first delete, one behind both.
    register_host(dev_, 0, 5);
    register_host(dev_, 5, 4);
    r = famfs({"fsck"});
    ASSERT_EQ(r.status, 0) << r.err;
    const Outcome hosts = famfs({"hosts"});
    ASSERT_EQ(hosts.status, 0) << hosts.err;
    const auto lines = run_lines(r.out);
    ASSERT_EQ(lines.size(), 2u) << r.out;
    EXPECT_EQ(lines, run_lines(hosts.out)) << r.out << "\n" << hosts.out;
    EXPECT_TRUE(contains(lines[0], "deleted at entry 3: reclaimable now")) << lines[0];
    EXPECT_TRUE(contains(lines[1], "deleted at entry 4: waits for slot 5 (")) << lines[1];
    EXPECT_FALSE(contains(lines[1], "slot 0")) << lines[1];
}

}  // namespace
}  // namespace famfs::clitest
