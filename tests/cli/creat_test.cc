// famfs creat: logging files, the test pattern, and the bad-input list
// (each failure leaves the device byte-identical).
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_fixture.h"

namespace famfs::clitest {
namespace {

using CreatTest = CliTest;

TEST_F(CreatTest, CreatesAFile) {
    format();
    Outcome r = famfs({"creat", "-s", "8k", "-m", "0640", "-u", "12", "-g", "34", "f"});
    ASSERT_EQ(r.status, 0) << r.err;
    State st = load();
    const Node* n = st.ns.lookup("f");
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->file.size, 8192u);
    EXPECT_EQ(n->file.mode, 0640u & ~static_cast<uint32_t>(::umask(::umask(0))));
    EXPECT_EQ(n->file.uid, 12u);
    EXPECT_EQ(n->file.gid, 34u);
    EXPECT_EQ(next_index(), 1u);
    EXPECT_EQ(famfs({"fsck"}).status, 0);
}

TEST_F(CreatTest, ModeIsMaskedWithTheUmask) {
    format();
    Outcome r = run({"sh", "-c", "umask 077 && exec \"$0\" --device \"$1\" creat -s 4k -m 0666 f",
                     FAMFS_BIN, dev_});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(load().ns.lookup("f")->file.mode, 0600u);
}

TEST_F(CreatTest, SameSizeIsANoOp) {
    format();
    ASSERT_EQ(famfs({"creat", "-s", "4096", "f"}).status, 0);
    const auto before = snapshot();
    Outcome r = famfs({"creat", "-s", "4k", "f"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_DEVICE_UNCHANGED(before);
}

TEST_F(CreatTest, SameSizeWithASeedRerandomises) {
    format();
    ASSERT_EQ(famfs({"creat", "-s", "4099", "-r", "-S", "1", "f"}).status, 0);
    ASSERT_EQ(read_file("f"), pattern_bytes(4099, 1));
    Outcome r = famfs({"creat", "-s", "4099", "-r", "-S", "42", "f"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(next_index(), 1u);
    EXPECT_EQ(read_file("f"), pattern_bytes(4099, 42));
}

// -O logs a file read-only for all hosts (flags 1); this command still
// fills it, and nothing writes it afterwards, not even another creat -r.
TEST_F(CreatTest, ReadOnlyFilesAreFilledOnceAndNeverRewritten) {
    format();
    Outcome r = famfs({"creat", "-O", "-s", "5000", "-r", "-S", "3", "ro"});
    ASSERT_EQ(r.status, 0) << r.err;
    ASSERT_EQ(famfs({"creat", "--readonly", "-s", "4k", "ro2"}).status, 0);
    State st = load();
    ASSERT_NE(st.ns.lookup("ro"), nullptr);
    EXPECT_EQ(st.ns.lookup("ro")->file.flags, omf::kFileFlagsAllRO);
    EXPECT_EQ(st.ns.lookup("ro2")->file.flags, omf::kFileFlagsAllRO);
    EXPECT_EQ(read_file("ro"), pattern_bytes(5000, 3));
    const auto before = snapshot();
    Outcome again = famfs({"creat", "-s", "5000", "-r", "-S", "4", "ro"});
    EXPECT_EQ(again.status, 1);
    EXPECT_TRUE(contains(again.err,
                         "famfs creat: ro: logged read-only for all hosts (flags 1): "
                         "its data cannot be written"))
        << again.err;
    EXPECT_DEVICE_UNCHANGED(before);
    // Without a pattern it is the existing file, as it is.
    EXPECT_EQ(famfs({"creat", "-s", "5000", "ro"}).status, 0);
    // A read-write file cannot be made read-only afterwards.
    ASSERT_EQ(famfs({"creat", "-s", "4k", "rw"}).status, 0);
    const auto before_rw = snapshot();
    Outcome flip = famfs({"creat", "-O", "-s", "4k", "rw"});
    EXPECT_EQ(flip.status, 1);
    EXPECT_TRUE(contains(flip.err,
                         "famfs creat: rw: file exists read-write; a logged file's flags "
                         "cannot be changed to read-only"))
        << flip.err;
    EXPECT_DEVICE_UNCHANGED(before_rw);
    EXPECT_EQ(load().ns.lookup("rw")->file.flags, omf::kFileFlagsAllRW);
    EXPECT_EQ(famfs({"fsck"}).status, 0);
}

TEST_F(CreatTest, DifferentSizeFailsNamingBothSizes) {
    format();
    ASSERT_EQ(famfs({"creat", "-s", "4096", "x"}).status, 0);
    const auto before = snapshot();
    Outcome r = famfs({"creat", "-s", "8192", "x"});
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.err, "famfs creat: x: file exists with a different size (4096 != 8192)"))
        << r.err;
    EXPECT_DEVICE_UNCHANGED(before);
}

TEST_F(CreatTest, RelpathLongerThan79BytesIsRefused) {
    format();
    const std::string ok(79, 'p'), too_long(80, 'p');
    ASSERT_EQ(famfs({"creat", "-s", "1", ok}).status, 0);
    const auto before = snapshot();
    Outcome r = famfs({"creat", "-s", "1", too_long});
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.err, "famfs creat: " + too_long + ": ")) << r.err;
    EXPECT_TRUE(contains(r.err, "79")) << r.err;
    EXPECT_EQ(next_index(), 1u);
    EXPECT_DEVICE_UNCHANGED(before);
}

TEST_F(CreatTest, DotDotAndAbsolutePathsAreRefused) {
    format();
    ASSERT_EQ(famfs({"mkdir", "d"}).status, 0);
    const auto before = snapshot();
    for (const char* bad : {"/abs", "../up", "d/../x", "d/..", ".."}) {
        Outcome r = famfs({"creat", "-s", "4k", bad});
        EXPECT_EQ(r.status, 1) << bad;
        EXPECT_TRUE(contains(r.err, std::string("famfs creat: ") + bad + ": ")) << r.err;
        Outcome m = famfs({"mkdir", "-p", bad});
        EXPECT_EQ(m.status, 1) << bad;
        EXPECT_TRUE(contains(m.err, std::string("famfs mkdir: ") + bad + ": ")) << m.err;
        EXPECT_NE(famfs({"cp", local_file("src", {1}), bad}).status, 0) << bad;
    }
    EXPECT_DEVICE_UNCHANGED(before);
}

TEST_F(CreatTest, MissingParentIsRefused) {
    format();
    const auto before = snapshot();
    Outcome r = famfs({"creat", "-s", "4k", "nodir/f"});
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.err, "nodir")) << r.err;
    EXPECT_DEVICE_UNCHANGED(before);
}

TEST_F(CreatTest, OutOfSpaceFailsCleanly) {
    format("64m");  // 54 MiB of data space
    ASSERT_EQ(famfs({"creat", "-s", "40m", "a"}).status, 0);
    const auto before = snapshot();
    Outcome r = famfs({"creat", "-s", "20m", "b"});
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.err, "famfs creat: b: out of space")) << r.err;
    EXPECT_DEVICE_UNCHANGED(before);
    EXPECT_EQ(famfs({"fsck"}).status, 0);
}

TEST_F(CreatTest, UsageErrorsChangeNothing) {
    format();
    const auto before = snapshot();
    EXPECT_EQ(famfs({"creat", "f"}).status, 1);                         // no size
    EXPECT_EQ(famfs({"creat", "-s", "0", "f"}).status, 1);              // size 0
    EXPECT_EQ(famfs({"creat", "-s", "4q", "f"}).status, 1);             // bad suffix
    EXPECT_EQ(famfs({"creat", "-s", "4k", "-S", "3", "f"}).status, 1);  // -S without -r
    EXPECT_EQ(famfs({"creat", "-s", "4k"}).status, 1);                  // no file
    EXPECT_EQ(famfs({"creat", "-Z", "f"}).status, 1);                   // unknown option
    EXPECT_EQ(famfs({"creat", "-h"}).status, 0);
    EXPECT_DEVICE_UNCHANGED(before);
}

TEST_F(CreatTest, SizeSuffixes) {
    format("256m");
    ASSERT_EQ(famfs({"creat", "-s", "3k", "k"}).status, 0);
    ASSERT_EQ(famfs({"creat", "-s", "3M", "m"}).status, 0);
    ASSERT_EQ(famfs({"creat", "-s", "1g", "g"}).status, 1);  // does not fit: still parsed
    State st = load();
    EXPECT_EQ(st.ns.lookup("k")->file.size, 3u << 10);
    EXPECT_EQ(st.ns.lookup("m")->file.size, 3u << 20);
}

TEST_F(CreatTest, MultipleFilesExitWithTheFailureCount) {
    format();
    ASSERT_EQ(famfs({"creat", "-s", "4k", "taken"}).status, 0);
    Outcome r = famfs({"creat", "-M", "a,4k", "-M", "b,8k,7", "-M", "taken,8k", "-M", "../c,4k"});
    EXPECT_EQ(r.status, 2) << r.err;
    State st = load();
    ASSERT_NE(st.ns.lookup("a"), nullptr);
    ASSERT_NE(st.ns.lookup("b"), nullptr);
    EXPECT_EQ(read_file("b"), pattern_bytes(8192, 7));
    EXPECT_EQ(next_index(), 3u);
}

TEST_F(CreatTest, ExitStatusIsCappedAt127) {
    format();
    std::vector<std::string> args{"creat"};
    for (int i = 0; i < 130; ++i)
        args.insert(args.end(), {"-M", "/abs" + std::to_string(i) + ",4k"});
    EXPECT_EQ(famfs(args).status, 127);
}

TEST_F(CreatTest, PatternMatchesTheGoldenFiles) {
    format();
    for (const char* seed : {"1", "42", "4294967295", "12345678901"}) {
        const std::string name = std::string("p") + seed;
        Outcome r = famfs({"creat", "-s", "4099", "-r", "-S", seed, name});
        ASSERT_EQ(r.status, 0) << r.err;
        const auto golden =
            read_local(std::string(GOLDEN_DIR) + "/test-pattern/seed-" + seed + "-4099.bin");
        ASSERT_EQ(golden.size(), 4099u);
        EXPECT_EQ(read_file(name), golden) << "seed " << seed;
        Outcome v = famfs({"verify", "-S", seed, "-f", name});
        EXPECT_EQ(v.status, 0) << v.err;
        EXPECT_TRUE(contains(v.out, "Success: verified 4099 bytes in file " + name)) << v.out;
    }
}

TEST_F(CreatTest, RandomizeWithoutASeedReportsTheSeedItUsed) {
    format();
    Outcome r = famfs({"creat", "-s", "10000", "-r", "f"});
    ASSERT_EQ(r.status, 0) << r.err;
    const std::string prefix = "famfs creat: f: filled with seed ";
    ASSERT_TRUE(contains(r.out, prefix)) << r.out;
    const std::string seed = r.out.substr(r.out.find(prefix) + prefix.size());
    EXPECT_EQ(read_file("f"), pattern_bytes(10000, std::stoull(seed)));
}

TEST_F(CreatTest, StripedFileIsInterleaved) {
    format("4200m");
    Outcome r =
        famfs({"creat", "-s", "64m", "-N", "2", "-B", "4", "-C", "2m", "-r", "-S", "5", "s"});
    ASSERT_EQ(r.status, 0) << r.err;
    const State st = load();
    const Node* n = st.ns.lookup("s");
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->file.ext_type, omf::ExtentType::kInterleaved);
    EXPECT_EQ(n->file.interleave.nstrips, 2u);
    EXPECT_EQ(famfs({"verify", "-S", "5", "-f", "s"}).status, 0);
}

TEST_F(CreatTest, AClientHostCannotCreate) {
    format();
    become_other_host();
    const auto before = snapshot();
    Outcome r = famfs({"creat", "-s", "4k", "f"});
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.err, "famfs creat: f: this host is not the master (client)")) << r.err;
    Outcome m = famfs({"mkdir", "d"});
    EXPECT_EQ(m.status, 1);
    EXPECT_TRUE(contains(m.err, "not the master")) << m.err;
    EXPECT_DEVICE_UNCHANGED(before);
    // Reading is fine on a client.
    EXPECT_EQ(famfs({"fsck"}).status, 0);
}

TEST_F(CreatTest, NonRootCannotCreate) {
    format();
    const auto before = snapshot();
    Outcome r = run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", FAMFS_BIN,
                     "--device", dev_, "creat", "-s", "4k", "f"});
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.err, "famfs creat: f: ")) << r.err;
    EXPECT_DEVICE_UNCHANGED(before);
}

TEST_F(CreatTest, ConcurrentCreatorsNeverInterleave) {
    format("256m");
    constexpr int kProcs = 8, kFiles = 12;
    std::vector<pid_t> pids;
    for (int p = 0; p < kProcs; ++p) {
        std::vector<std::string> argv{FAMFS_BIN, "--device", dev_, "creat"};
        for (int f = 0; f < kFiles; ++f) {
            argv.insert(argv.end(), {"-M", "p" + std::to_string(p) + "f" + std::to_string(f) +
                                               ",4k," + std::to_string(p * 100 + f + 1)});
        }
        const pid_t pid = ::fork();
        if (pid == 0) {
            std::vector<char*> args;
            for (auto& a : argv) args.push_back(a.data());
            args.push_back(nullptr);
            ::execv(args[0], args.data());
            ::_exit(126);
        }
        pids.push_back(pid);
    }
    for (pid_t pid : pids) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    EXPECT_EQ(next_index(), static_cast<uint64_t>(kProcs * kFiles));
    Outcome fsck = famfs({"fsck"});
    EXPECT_EQ(fsck.status, 0) << fsck.out << fsck.err;
    EXPECT_TRUE(contains(fsck.out, "No allocation errors found")) << fsck.out;
    for (int p = 0; p < kProcs; ++p) {
        for (int f = 0; f < kFiles; ++f) {
            const std::string name = "p" + std::to_string(p) + "f" + std::to_string(f);
            EXPECT_EQ(read_file(name), pattern_bytes(4096, p * 100 + f + 1)) << name;
        }
    }
}

// Re-filling an existing file of the same size rewrites it where it is:
// nothing new is logged and its extents stay.
TEST_F(CreatTest, RefillingAnExistingFileStaysInPlace) {
    format();
    ASSERT_EQ(famfs({"creat", "-s", "1m", "-r", "-S", "1", "f"}).status, 0);
    const auto extents = load().ns.lookup("f")->file.extents;
    Outcome r = famfs({"creat", "-r", "-S", "2", "-v", "f"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "famfs creat: f: exists with this size")) << r.out;
    EXPECT_EQ(next_index(), 1u);
    EXPECT_EQ(load().ns.lookup("f")->file.extents, extents);
    EXPECT_EQ(read_file("f"), pattern_bytes(1u << 20, 2));
}

// Filled and unfilled -M files in one command: each logged once, filled
// ones with their pattern.
TEST_F(CreatTest, FilledAndEmptyFilesTogether) {
    format();
    Outcome r = famfs({"creat", "-v", "-t", "2", "-M", "a,4k", "-M", "b,8k,3", "-M", "c,5000,4"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "famfs creat: b: created (8192 bytes)")) << r.out;
    EXPECT_EQ(next_index(), 3u);
    EXPECT_EQ(read_file("b"), pattern_bytes(8192, 3));
    EXPECT_EQ(read_file("c"), pattern_bytes(5000, 4));
    EXPECT_EQ(famfs({"fsck"}).status, 0);
}

// A new name filled twice in one command would be reserved twice: the
// second is refused, the first created.
TEST_F(CreatTest, ANewNameGivenTwiceIsCreatedOnce) {
    format();
    Outcome r = famfs({"creat", "-M", "a,4k,1", "-M", "a,4k,2"});
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.err, "famfs creat: a: named more than once")) << r.err;
    EXPECT_EQ(next_index(), 1u);
    EXPECT_EQ(read_file("a"), pattern_bytes(4096, 1));
    Outcome fsck = famfs({"fsck"});
    EXPECT_EQ(fsck.status, 0) << fsck.out;
}

// A fill that cannot start (no space for the second file) logs nothing for
// it; the first file is complete.
TEST_F(CreatTest, AFileThatCannotBeReservedLeavesTheOthers) {
    format();
    Outcome r = famfs({"creat", "-M", "a,16m,1", "-M", "b,200m,2"});
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.err, "famfs creat: b: ")) << r.err;
    EXPECT_EQ(next_index(), 1u);
    EXPECT_EQ(read_file("a"), pattern_bytes(16u << 20, 1));
}

}  // namespace
}  // namespace famfs::clitest
