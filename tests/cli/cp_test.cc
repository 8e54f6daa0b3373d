// famfs cp: files, trees, restarts, skips and aborts.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include "cli_fixture.h"

namespace famfs::clitest {
namespace {

using CpTest = CliTest;

TEST_F(CpTest, CopiesAFile) {
    format();
    const auto data = pattern_bytes(3 * 1024 * 1024 + 17, 77);
    const std::string src = local_file("src/big", data);
    Outcome r = famfs({"cp", src, "big"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(read_file("big"), data);
    EXPECT_EQ(famfs({"fsck"}).status, 0);
}

TEST_F(CpTest, CopiesATreeRecursively) {
    format("128m");
    std::map<std::string, std::vector<uint8_t>> files;
    for (int i = 0; i < 12; ++i) {
        const std::string rel = "tree/d" + std::to_string(i % 3) + "/f" + std::to_string(i);
        files[rel] = pattern_bytes(1000 + 777 * i, i + 1);
        local_file(rel, files[rel]);
    }
    files["tree/top"] = pattern_bytes(5, 99);
    local_file("tree/top", files["tree/top"]);
    ASSERT_EQ(famfs({"mkdir", "dst"}).status, 0);
    Outcome r = famfs({"cp", "-r", "-t", "3", dir_ + "/tree", "dst"});
    ASSERT_EQ(r.status, 0) << r.err;
    for (const auto& [rel, bytes] : files) EXPECT_EQ(read_file("dst/" + rel), bytes) << rel;
    State st = load();
    EXPECT_TRUE(st.ns.lookup("dst/tree/d1")->is_dir);
    EXPECT_EQ(famfs({"fsck"}).status, 0);
}

TEST_F(CpTest, CopiesATreeToANewName) {
    format();
    local_file("t/a", pattern_bytes(10, 1));
    local_file("t/sub/b", pattern_bytes(20, 2));
    ASSERT_EQ(famfs({"cp", "-r", dir_ + "/t", "copy"}).status, 0);
    EXPECT_EQ(read_file("copy/a"), pattern_bytes(10, 1));
    EXPECT_EQ(read_file("copy/sub/b"), pattern_bytes(20, 2));
}

TEST_F(CpTest, SeveralSourcesNeedADirectory) {
    format();
    const std::string a = local_file("a", {1}), b = local_file("b", {2});
    ASSERT_EQ(famfs({"creat", "-s", "1", "file"}).status, 0);
    const auto before = snapshot();
    Outcome r = famfs({"cp", a, b, "file"});
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.err, "famfs cp: file: not a directory")) << r.err;
    EXPECT_EQ(famfs({"cp", a, b, "nodir"}).status, 1);
    EXPECT_DEVICE_UNCHANGED(before);
    ASSERT_EQ(famfs({"mkdir", "d"}).status, 0);
    ASSERT_EQ(famfs({"cp", a, b, "d"}).status, 0);
    EXPECT_EQ(read_file("d/a"), std::vector<uint8_t>{1});
    EXPECT_EQ(read_file("d/b"), std::vector<uint8_t>{2});
}

TEST_F(CpTest, ZeroLengthAndNonRegularSourcesAreSkipped) {
    format();
    const std::string empty = local_file("empty", {});
    const std::string fifo = dir_ + "/fifo";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    const std::string good = local_file("good", {7, 7, 7});
    ASSERT_EQ(famfs({"mkdir", "d"}).status, 0);
    Outcome r = famfs({"cp", empty, fifo, good, "d"});
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_TRUE(contains(r.err, "famfs cp: " + empty + ": zero-length")) << r.err;
    EXPECT_TRUE(contains(r.err, "famfs cp: " + fifo + ": named pipe (FIFO), skipped")) << r.err;
    EXPECT_EQ(read_file("d/good"), (std::vector<uint8_t>{7, 7, 7}));
    EXPECT_EQ(load().ns.lookup("d/empty"), nullptr);
    Outcome dir_without_r = famfs({"cp", dir_, "x"});
    EXPECT_EQ(dir_without_r.status, 1);
    EXPECT_TRUE(contains(dir_without_r.err, "-r")) << dir_without_r.err;
}

TEST_F(CpTest, AnExistingDestinationMustHaveTheSameSize) {
    format();
    const auto data = pattern_bytes(5000, 3);
    const std::string src = local_file("s", data);
    ASSERT_EQ(famfs({"creat", "-s", "5000", "same"}).status, 0);
    ASSERT_EQ(famfs({"creat", "-s", "6000", "other"}).status, 0);
    const auto before = snapshot();
    Outcome bad = famfs({"cp", src, "other"});
    EXPECT_EQ(bad.status, 1);
    EXPECT_TRUE(
        contains(bad.err, "famfs cp: other: file exists with a different size (6000 != 5000)"))
        << bad.err;
    EXPECT_DEVICE_UNCHANGED(before);
    // The restart case: the same size is copied into again.
    ASSERT_EQ(famfs({"cp", src, "same"}).status, 0);
    EXPECT_EQ(read_file("same"), data);
    EXPECT_EQ(next_index(), 2u);
}

// cp -O logs the copies read-only for all hosts; a restart cannot copy
// into such a file again (it may compare it, with -c).
TEST_F(CpTest, ReadOnlyCopiesAreNeverRewritten) {
    format();
    const auto data = pattern_bytes(5000, 8);
    const std::string src = local_file("s", data);
    Outcome r = famfs({"cp", "-O", src, "ro"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(load().ns.lookup("ro")->file.flags, omf::kFileFlagsAllRO);
    EXPECT_EQ(read_file("ro"), data);
    const std::string other = local_file("o", pattern_bytes(5000, 9));
    const auto before = snapshot();
    Outcome again = famfs({"cp", other, "ro"});
    EXPECT_EQ(again.status, 1);
    EXPECT_TRUE(contains(again.err,
                         "famfs cp: ro: logged read-only for all hosts (flags 1): its "
                         "data cannot be written"))
        << again.err;
    EXPECT_DEVICE_UNCHANGED(before);
    Outcome compare = famfs({"cp", "-c", src, "ro"});
    EXPECT_EQ(compare.status, 0) << compare.err;
    EXPECT_EQ(famfs({"cp", "-c", other, "ro"}).status, 1) << "compared, and it differs";
    EXPECT_EQ(read_file("ro"), data);
    // Without -O, copies are read-write as ever.
    ASSERT_EQ(famfs({"cp", src, "rw"}).status, 0);
    EXPECT_EQ(load().ns.lookup("rw")->file.flags, omf::kFileFlagsAllRW);
}

TEST_F(CpTest, ExpandsWildcardsTheShellLeftAlone) {
    format();
    local_file("g/one.txt", {1});
    local_file("g/two.txt", {2});
    local_file("g/three.bin", {3});
    ASSERT_EQ(famfs({"mkdir", "d"}).status, 0);
    Outcome r = famfs({"cp", dir_ + "/g/*.txt", "d"});
    ASSERT_EQ(r.status, 0) << r.err;
    State st = load();
    EXPECT_NE(st.ns.lookup("d/one.txt"), nullptr);
    EXPECT_NE(st.ns.lookup("d/two.txt"), nullptr);
    EXPECT_EQ(st.ns.lookup("d/three.bin"), nullptr);
    Outcome none = famfs({"cp", dir_ + "/g/*.none", "d"});
    EXPECT_EQ(none.status, 1);
}

TEST_F(CpTest, RunningOutOfSpaceAbortsWithAClearMessage) {
    format("64m");  // 27 allocation units of data
    for (int i = 0; i < 40; ++i) local_file("many/f" + std::to_string(100 + i), {1, 2, 3});
    Outcome r = famfs({"cp", "-r", dir_ + "/many", "m"});
    EXPECT_NE(r.status, 0);
    EXPECT_TRUE(contains(r.err, "out of space")) << r.err;
    EXPECT_TRUE(contains(r.err, "copy aborted")) << r.err;
    Outcome fsck = famfs({"fsck"});
    EXPECT_EQ(fsck.status, 0) << fsck.out;
    // What was logged was also copied.
    EXPECT_EQ(read_file("m/f100"), (std::vector<uint8_t>{1, 2, 3}));
}

TEST_F(CpTest, BigFileOnSeveralThreads) {
    format("512m");
    const auto data = pattern_bytes(200u << 20, 11);
    const std::string src = local_file("huge", data);
    Outcome r = famfs({"cp", "-t", "4", src, "huge"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(read_file("huge") == data);
}

// Without -t a copy this big is spread over the CPUs in several pieces per
// thread; an odd size leaves a short last piece.
TEST_F(CpTest, BigFileWithoutThreadCount) {
    format("512m");
    const auto data = pattern_bytes((300u << 20) + 4097, 12);
    const std::string src = local_file("huge", data);
    Outcome r = famfs({"cp", src, "huge"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(read_file("huge") == data);
    EXPECT_EQ(famfs({"fsck"}).status, 0);
}

TEST_F(CpTest, StripedCopyKeepsTheBytesInOrder) {
    format("4200m");
    const auto data = pattern_bytes(40u << 20, 21);
    const std::string src = local_file("striped", data);
    Outcome r = famfs({"cp", "-t", "2", "-N", "4", "-B", "4", "-C", "2m", src, "s"});
    ASSERT_EQ(r.status, 0) << r.err;
    const State st = load();
    const Node* n = st.ns.lookup("s");
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->file.ext_type, omf::ExtentType::kInterleaved);
    EXPECT_TRUE(read_file("s") == data);
}

// Several cp processes at once: each one's cached state catches up with
// the others' entries under the append lock, so nothing collides.
TEST_F(CpTest, ConcurrentCopiesNeverCollide) {
    format("256m");
    constexpr int kProcs = 4, kFiles = 20;
    for (int p = 0; p < kProcs; ++p) {
        for (int f = 0; f < kFiles; ++f) {
            local_file("src" + std::to_string(p) + "/f" + std::to_string(f),
                       pattern_bytes(100 + f, p * 100 + f + 1));
        }
    }
    std::vector<pid_t> pids;
    for (int p = 0; p < kProcs; ++p) {
        const pid_t pid = ::fork();
        if (pid == 0) {
            const std::string src = dir_ + "/src" + std::to_string(p);
            ::execl(FAMFS_BIN, FAMFS_BIN, "--device", dev_.c_str(), "cp", "-r", src.c_str(),
                    ("d" + std::to_string(p)).c_str(), static_cast<char*>(nullptr));
            ::_exit(126);
        }
        pids.push_back(pid);
    }
    for (pid_t pid : pids) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    EXPECT_EQ(next_index(), static_cast<uint64_t>(kProcs * (kFiles + 1)));
    Outcome fsck = famfs({"fsck"});
    EXPECT_EQ(fsck.status, 0) << fsck.out;
    EXPECT_TRUE(contains(fsck.out, "No allocation errors found")) << fsck.out;
    for (int p = 0; p < kProcs; ++p) {
        for (int f = 0; f < kFiles; ++f) {
            const std::string rel = "d" + std::to_string(p) + "/f" + std::to_string(f);
            EXPECT_EQ(read_file(rel), pattern_bytes(100 + f, p * 100 + f + 1)) << rel;
        }
    }
}

TEST_F(CpTest, ClientCannotCopy) {
    format();
    const std::string src = local_file("s", {1});
    become_other_host();
    const auto before = snapshot();
    Outcome r = famfs({"cp", src, "s"});
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.err, "this host is not the master (client)")) << r.err;
    EXPECT_DEVICE_UNCHANGED(before);
}

}  // namespace
}  // namespace famfs::clitest
