// Compatibility with the reference famfs CLI (docs/cli.md):
// the long options and flags its scripts pass, its defaults (2 MiB chunks,
// re-randomising a file at its size, cp's mode masked with the umask), and
// its error handling (seed 0, -S with -M, exit status counts).
#include <sys/stat.h>

#include <algorithm>

#include <filesystem>

#include "cli_fixture.h"

namespace famfs::clitest {
namespace {

using CompatTest = CliTest;

uint32_t umask_now() {
    const mode_t m = ::umask(0);
    ::umask(m);
    return m;
}

// --- 1. long options and flags ----------------------------------------------

TEST_F(CompatTest, CreatTakesTheReferenceLongOptions) {
    format();
    Outcome r = famfs({"creat", "--size", "8k", "--mode", "0640", "--uid", "12", "--gid", "34",
                       "--randomize", "--seed", "7", "--verbose", "f"});
    ASSERT_EQ(r.status, 0) << r.err;
    Outcome m = famfs({"creat", "--multi", "a,4k,3", "--multi", "b,5000", "--threadct", "2"});
    ASSERT_EQ(m.status, 0) << m.err;
    // The name this tool had before still works.
    ASSERT_EQ(famfs({"creat", "--threads", "2", "-M", "c,4k,4"}).status, 0);
    const State st = load();
    const Node* f = st.ns.lookup("f");
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->file.size, 8192u);
    EXPECT_EQ(f->file.mode, 0640u & ~umask_now());
    EXPECT_EQ(f->file.uid, 12u);
    EXPECT_EQ(f->file.gid, 34u);
    EXPECT_EQ(read_file("f"), pattern_bytes(8192, 7));
    EXPECT_EQ(read_file("a"), pattern_bytes(4096, 3));
    EXPECT_EQ(st.ns.lookup("b")->file.size, 5000u);
    EXPECT_EQ(read_file("c"), pattern_bytes(4096, 4));
}

TEST_F(CompatTest, CreatTakesTheInterleaveLongOptions) {
    format("4200m");
    Outcome r = famfs(
        {"creat", "--size", "64m", "--nstrips", "2", "--nbuckets", "4", "--chunksize", "4m", "s"});
    ASSERT_EQ(r.status, 0) << r.err;
    const State st = load();
    const Node* n = st.ns.lookup("s");
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->file.ext_type, omf::ExtentType::kInterleaved);
    EXPECT_EQ(n->file.interleave.nstrips, 2u);
    EXPECT_EQ(n->file.interleave.chunk_size, 4u << 20);
}

TEST_F(CompatTest, CpTakesTheReferenceLongOptions) {
    format();
    local_file("tree/a", pattern_bytes(3000, 1));
    local_file("tree/sub/b", pattern_bytes(5000, 2));
    Outcome r = famfs({"cp", "--recursive", "--threadct", "2", "--mode", "0640", "--uid", "5",
                       "--gid", "6", "--verbose", dir_ + "/tree", "t"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "famfs cp: ")) << r.out;
    const State st = load();
    const Node* a = st.ns.lookup("t/a");
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->file.mode, 0640u & ~umask_now());
    EXPECT_EQ(a->file.uid, 5u);
    EXPECT_EQ(a->file.gid, 6u);
    EXPECT_EQ(read_file("t/sub/b"), pattern_bytes(5000, 2));
    // --threads, the name this tool had before, still works.
    const std::string one = local_file("one", pattern_bytes(100, 3));
    ASSERT_EQ(famfs({"cp", "--threads", "1", one, "one"}).status, 0);
    EXPECT_EQ(read_file("one"), pattern_bytes(100, 3));
}

TEST_F(CompatTest, CpTakesTheInterleaveLongOptions) {
    format("4200m");
    const auto data = pattern_bytes(9u << 20, 5);
    const std::string src = local_file("striped", data);
    Outcome r = famfs({"cp", "--nstrips", "2", "--nbuckets", "4", "--chunksize", "2m", src, "s"});
    ASSERT_EQ(r.status, 0) << r.err;
    const State st = load();
    EXPECT_EQ(st.ns.lookup("s")->file.ext_type, omf::ExtentType::kInterleaved);
    EXPECT_TRUE(read_file("s") == data);
}

TEST_F(CompatTest, MkdirTakesTheReferenceLongOptions) {
    format();
    Outcome r = famfs(
        {"mkdir", "--parents", "--mode", "0700", "--uid", "3", "--gid", "4", "--verbose", "a/b"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "a/b")) << r.out;
    const State st = load();
    const Node* b = st.ns.lookup("a/b");
    ASSERT_NE(b, nullptr);
    EXPECT_TRUE(b->is_dir);
    EXPECT_EQ(b->mode, 0700u & ~umask_now());
    EXPECT_EQ(b->uid, 3u);
    EXPECT_EQ(b->gid, 4u);
}

TEST_F(CompatTest, VerifyTakesTheReferenceOptionsAndAcceptsVerbose) {
    format();
    ASSERT_EQ(famfs({"creat", "-M", "f,5000,3", "-M", "g,7000,4"}).status, 0);
    Outcome single = famfs({"verify", "--seed", "3", "--filename", "f"});
    EXPECT_EQ(single.status, 0) << single.err;
    EXPECT_TRUE(contains(single.out, "Success: verified 5000 bytes in file f")) << single.out;
    Outcome quiet =
        famfs({"verify", "--quiet", "--multi", "f,3", "--multi", "g,4", "--threadct", "2"});
    EXPECT_EQ(quiet.status, 0) << quiet.err;
    EXPECT_FALSE(contains(quiet.out, "Success")) << quiet.out;
    // A reference test script passes -v.
    Outcome v = famfs({"verify", "-v", "-m", "g,4"});
    EXPECT_EQ(v.status, 0) << v.err;
    EXPECT_TRUE(contains(v.out, "Success: verified 7000 bytes in file g")) << v.out;
    EXPECT_EQ(famfs({"verify", "--verbose", "-S", "3", "-f", "f"}).status, 0);
    EXPECT_EQ(famfs({"verify", "--threads", "2", "-m", "f,3"}).status, 0);
}

TEST_F(CompatTest, FsckTakesTheReferenceOptions) {
    format();
    ASSERT_EQ(famfs({"creat", "-s", "4k", "f"}).status, 0);
    Outcome r = famfs({"fsck", "--human", "--verbose", "--nbuckets", "2"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "log_len:")) << r.out;
    EXPECT_TRUE(contains(r.out, "No allocation errors found")) << r.out;
    for (const char* flag : {"-f", "--force", "-m", "--mmap", "-r", "--read"}) {
        Outcome o = famfs({"fsck", flag});
        EXPECT_EQ(o.status, 0) << flag << ": " << o.err;
        EXPECT_TRUE(contains(o.out, "No allocation errors found")) << flag << ": " << o.out;
    }
    Outcome both = famfs({"fsck", "-m", "--read"});
    EXPECT_EQ(both.status, 1);
    EXPECT_TRUE(contains(both.err, "famfs fsck: -m/--mmap and -r/--read are mutually exclusive"))
        << both.err;
}

TEST_F(CompatTest, GetmapCheckAndCloneTakeTheReferenceFlags) {
    format();
    ASSERT_EQ(famfs({"creat", "-s", "4k", "f"}).status, 0);
    Outcome q = famfs({"getmap", "--quiet", "f"});
    EXPECT_EQ(q.status, 0) << q.err;
    EXPECT_EQ(q.out, "");
    Outcome c = famfs({"check", "--verbose"});
    EXPECT_EQ(c.status, 0) << c.err;
    EXPECT_TRUE(contains(c.out, "1 files ok, 0 bad")) << c.out;
    Outcome short_v = famfs({"clone", "-v", "f", "g"});
    EXPECT_EQ(short_v.status, 0) << short_v.err;
    Outcome long_v = famfs({"clone", "--verbose", "f", "h"});
    EXPECT_EQ(long_v.status, 0) << long_v.err;
    EXPECT_NE(load().ns.lookup("h"), nullptr);
    EXPECT_NE(famfs({"fsck"}).status, 0) << "clones are cross-links";
    EXPECT_EQ(famfs({"clone", "f"}).status, 1);
    EXPECT_EQ(famfs({"clone", "-h"}).status, 0);
}

TEST_F(CompatTest, MountTakesTheReferenceLongOptions) {
    format();
    const std::string mnt = dir_ + "/mnt";
    std::filesystem::create_directories(mnt);
    const auto before = snapshot();
    Outcome both = famfs_plain({"mount", "-m", "-r", dev_, mnt});
    EXPECT_EQ(both.status, 1);
    EXPECT_TRUE(contains(both.err, "mutually exclusive")) << both.err;
    Outcome nofuse = famfs_plain({"mount", "--nofuse", dev_, mnt});
    EXPECT_EQ(nofuse.status, ENODEV);
    EXPECT_TRUE(contains(nofuse.err, "standalone famfs kernel module not available")) << nofuse.err;
    EXPECT_DEVICE_UNCHANGED(before);
    Outcome r = famfs_plain({"mount", "--timeout", "1", "--verbose", "--nouseraccess",
                             "--nodefaultperm", "--fuse", "--mmap", dev_, mnt});
    if (r.status == 0) mnt_ = mnt;
    ASSERT_EQ(r.status, 0) << r.err;
    ASSERT_EQ(famfs_plain({"creat", "-s", "4k", mnt + "/f"}).status, 0);
    struct stat st;
    EXPECT_EQ(::stat((mnt + "/f").c_str(), &st), 0);
}

TEST_F(CompatTest, LogplayTakesTheReferenceOptionsAndAnyPathInTheMount) {
    format();
    ASSERT_EQ(famfs({"mkdir", "d"}).status, 0);
    mount();
    ASSERT_EQ(famfs({"creat", "-s", "4k", "d/late"}).status, 0);  // logged behind the mount
    Outcome dry = famfs_plain({"logplay", "--dryrun", "--verbose", mnt_ + "/d"});
    EXPECT_EQ(dry.status, 0) << dry.err;
    EXPECT_TRUE(contains(dry.out, "famfs logplay: " + mnt_ + ": would play")) << dry.out;
    Outcome r = famfs_plain({"logplay", "--client", "-m", "-v", mnt_ + "/d"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "famfs logplay: " + mnt_ + ": played")) << r.out;
    struct stat st;
    EXPECT_EQ(::stat((mnt_ + "/d/late").c_str(), &st), 0);
    EXPECT_EQ(famfs_plain({"logplay", "--read", mnt_ + "/d/late"}).status, 0);
    EXPECT_EQ(famfs_plain({"logplay", "--mmap", mnt_}).status, 0);
    Outcome both = famfs_plain({"logplay", "--mmap", "--read", mnt_});
    EXPECT_EQ(both.status, 1);
    EXPECT_TRUE(contains(both.err, "mutually exclusive")) << both.err;
    Outcome outside = famfs_plain({"logplay", dir_});
    EXPECT_EQ(outside.status, EINVAL);
    EXPECT_TRUE(contains(outside.err, "famfs logplay: " + dir_ + ": not in a famfs mount"))
        << outside.err;
}

// --- 2. -N/-B without -C: 2 MiB chunks --------------------------------------

TEST_F(CompatTest, StripesWithoutAChunkSizeUseTwoMebibyteChunks) {
    format("4200m");
    Outcome r = famfs({"creat", "-s", "64m", "-N", "2", "-B", "4", "-r", "-S", "5", "s"});
    ASSERT_EQ(r.status, 0) << r.err;
    const auto data = pattern_bytes(9u << 20, 6);
    Outcome c = famfs({"cp", "-N", "2", "-B", "4", local_file("src", data), "c"});
    ASSERT_EQ(c.status, 0) << c.err;
    const State st = load();
    for (const char* name : {"s", "c"}) {
        const Node* n = st.ns.lookup(name);
        ASSERT_NE(n, nullptr) << name;
        EXPECT_EQ(n->file.ext_type, omf::ExtentType::kInterleaved) << name;
        EXPECT_EQ(n->file.interleave.chunk_size, 2u << 20) << name;
    }
    EXPECT_EQ(famfs({"verify", "-S", "5", "-f", "s"}).status, 0);
    EXPECT_TRUE(read_file("c") == data);
}

// --- 3. re-randomising an existing file at its size -------------------------

TEST_F(CompatTest, ReRandomisesAnExistingFileAtItsSize) {
    format();
    ASSERT_EQ(famfs({"creat", "-s", "5000", "-r", "-S", "1", "f"}).status, 0);
    ASSERT_EQ(famfs({"creat", "-M", "g,7000,2"}).status, 0);
    ASSERT_EQ(next_index(), 2u);

    Outcome single = famfs({"creat", "-r", "-S", "9", "f"});
    ASSERT_EQ(single.status, 0) << single.err;
    EXPECT_EQ(read_file("f"), pattern_bytes(5000, 9));
    Outcome zero = famfs({"creat", "-s", "0", "-r", "-S", "10", "f"});
    ASSERT_EQ(zero.status, 0) << zero.err;
    EXPECT_EQ(read_file("f"), pattern_bytes(5000, 10));
    Outcome multi = famfs({"creat", "-M", "g,0,11", "-M", "f,0,12"});
    ASSERT_EQ(multi.status, 0) << multi.err;
    EXPECT_EQ(read_file("g"), pattern_bytes(7000, 11));
    EXPECT_EQ(read_file("f"), pattern_bytes(5000, 12));
    // -r alone: a seed of its own, reported.
    Outcome random = famfs({"creat", "-r", "g"});
    ASSERT_EQ(random.status, 0) << random.err;
    const std::string prefix = "famfs creat: g: filled with seed ";
    ASSERT_TRUE(contains(random.out, prefix)) << random.out;
    const std::string seed = random.out.substr(random.out.find(prefix) + prefix.size());
    EXPECT_EQ(read_file("g"), pattern_bytes(7000, std::stoull(seed)));
    EXPECT_EQ(next_index(), 2u) << "re-randomising logs nothing";
    EXPECT_EQ(load().ns.lookup("f")->file.size, 5000u);
}

TEST_F(CompatTest, ANewFileStillNeedsASize) {
    format();
    ASSERT_EQ(famfs({"mkdir", "d"}).status, 0);
    const auto before = snapshot();
    Outcome single = famfs({"creat", "-r", "-S", "3", "new"});
    EXPECT_EQ(single.status, 1);
    EXPECT_TRUE(contains(single.err, "famfs creat: new: -s SIZE (> 0) is required")) << single.err;
    EXPECT_FALSE(contains(single.out, "filled with seed")) << single.out;
    Outcome zero = famfs({"creat", "-s", "0", "-r", "-S", "3", "new"});
    EXPECT_EQ(zero.status, 1);
    EXPECT_TRUE(contains(zero.err, "famfs creat: new: -s SIZE (> 0) is required")) << zero.err;
    Outcome multi = famfs({"creat", "-M", "new,0,3", "-M", "other,0"});
    EXPECT_EQ(multi.status, 2);
    EXPECT_TRUE(contains(multi.err, "famfs creat: new: size must be > 0")) << multi.err;
    EXPECT_TRUE(contains(multi.err, "famfs creat: other: size must be > 0")) << multi.err;
    Outcome dir = famfs({"creat", "-M", "d,0,3"});
    EXPECT_EQ(dir.status, 1);
    EXPECT_TRUE(contains(dir.err, "famfs creat: d: is a directory")) << dir.err;
    // Without -r nothing is re-randomised: -s is required as before.
    Outcome plain = famfs({"creat", "new"});
    EXPECT_EQ(plain.status, 1);
    EXPECT_TRUE(contains(plain.err, "famfs creat: new: -s SIZE (> 0) is required")) << plain.err;
    EXPECT_DEVICE_UNCHANGED(before);
}

// --- 4. -S with -M -----------------------------------------------------------

TEST_F(CompatTest, SeedWithMultiIsAUsageError) {
    format();
    const auto before = snapshot();
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"creat", "-S", "5", "-M", "a,4k"},
          std::vector<std::string>{"creat", "-M", "a,4k", "-r", "-S", "5"},
          std::vector<std::string>{"creat", "-r", "-S", "5", "-s", "4k", "b", "-M", "a,4k"}}) {
        Outcome r = famfs(args);
        EXPECT_EQ(r.status, 1) << args[1];
        EXPECT_TRUE(contains(r.err, "famfs creat: -S SEED does not apply to -M files")) << r.err;
    }
    EXPECT_DEVICE_UNCHANGED(before);
}

// --- 5. cp -m is masked with the umask; 0 keeps the source's mode -------------

TEST_F(CompatTest, CpModeIsMaskedWithTheUmask) {
    format();
    const std::string src = local_file("src", pattern_bytes(100, 1));
    ASSERT_EQ(::chmod(src.c_str(), 0640), 0);
    Outcome r =
        run({"sh", "-c", "umask 077 && exec \"$0\" --device \"$1\" cp -m 0666 \"$2\" masked",
             FAMFS_BIN, dev_, src});
    ASSERT_EQ(r.status, 0) << r.err;
    ASSERT_EQ(famfs({"cp", "-m", "0", src, "zero"}).status, 0);
    ASSERT_EQ(famfs({"cp", src, "plain"}).status, 0);
    const State st = load();
    EXPECT_EQ(st.ns.lookup("masked")->file.mode, 0600u);
    EXPECT_EQ(st.ns.lookup("zero")->file.mode, 0640u) << "mode 0: as the source";
    EXPECT_EQ(st.ns.lookup("plain")->file.mode, 0640u);
}

// --- 6. verify: seed 0 refused; "Verify fail" on stderr ------------------------

TEST_F(CompatTest, VerifyRefusesSeedZero) {
    format();
    ASSERT_EQ(famfs({"creat", "-M", "f,5000,3", "-M", "g,5000,4"}).status, 0);
    Outcome single = famfs({"verify", "-S", "0", "-f", "f"});
    EXPECT_EQ(single.status, 1);
    EXPECT_TRUE(contains(single.err, "famfs verify: f: seed 0 means no pattern")) << single.err;
    EXPECT_FALSE(contains(single.out + single.err, "Success")) << single.out;
    Outcome multi = famfs({"verify", "-m", "f,0", "-m", "g,4"});
    EXPECT_EQ(multi.status, 1);
    EXPECT_TRUE(contains(multi.err, "famfs verify: f: seed 0 means no pattern")) << multi.err;
    EXPECT_TRUE(contains(multi.out, "Success: verified 5000 bytes in file g")) << multi.out;
}

TEST_F(CompatTest, VerifyFailGoesToStderr) {
    format();
    ASSERT_EQ(famfs({"creat", "-s", "5000", "-r", "-S", "3", "f"}).status, 0);
    Outcome r = famfs({"verify", "-S", "4", "-f", "f"});
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.err, "Verify fail: f at offset 0 of 5000 bytes")) << r.err;
    EXPECT_EQ(r.out, "");
}

// --- 7. cp's exit status counts a failed file once -----------------------------

TEST_F(CompatTest, CpOutOfSpaceCountsTheFileOnce) {
    format("64m");  // 54 MiB of data space
    const std::string src = local_file("big", std::vector<uint8_t>(60u << 20, 1));
    const auto before = snapshot();
    Outcome r = famfs({"cp", src, "big"});
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_TRUE(contains(r.err, "famfs cp: big: out of space")) << r.err;
    EXPECT_TRUE(contains(r.err, "copy aborted")) << r.err;
    EXPECT_DEVICE_UNCHANGED(before);
}

// --- what the reference smoke scripts run (test0.sh, test1.sh) ---------------

// test0.sh mounts with --bouncedax: the server then copies read replies
// through its buffer on a regular-file device too.
TEST_F(CompatTest, MountWithBouncedaxServesReadsThroughTheBuffer) {
    format();
    ASSERT_EQ(famfs({"creat", "-s", "3m", "-r", "-S", "5", "f"}).status, 0);
    for (const char* flag : {"--bouncedax", "-b", ""}) {
        const std::string mnt = dir_ + "/mnt";
        std::filesystem::create_directories(mnt);
        std::vector<std::string> args{"mount", dev_, mnt};
        if (*flag) args.insert(args.begin() + 1, flag);
        Outcome r = famfs_plain(args);
        ASSERT_EQ(r.status, 0) << flag << ": " << r.err;
        mnt_ = mnt;
        const std::string status = famfs_plain({"status", mnt}).out;
        EXPECT_TRUE(contains(status, *flag ? "read_replies: copied through a buffer"
                                           : "read_replies: from the mapping"))
            << flag << ": " << status;
        EXPECT_EQ(read_local(mnt + "/f"), pattern_bytes(3 << 20, 5)) << flag;
        ASSERT_EQ(famfs_plain({"umount", mnt}).status, 0);
        mnt_.clear();
    }
}

// test0.sh: thread counts outside 0..256 are refused before anything runs.
TEST_F(CompatTest, ThreadCountsOutOfRangeAreRefused) {
    format();
    ASSERT_EQ(famfs({"creat", "-M", "a,4k,1", "-M", "b,4k,2"}).status, 0);
    const auto before = snapshot();
    for (const char* n : {"257", "999", "-1"}) {
        Outcome v = famfs({"verify", "--threadct", n, "--multi", "a,1", "--multi", "b,2"});
        EXPECT_EQ(v.status, 1) << n << ": " << v.out;
        EXPECT_FALSE(contains(v.out, "Success")) << n;
        Outcome c = famfs({"creat", "-t", n, "-M", "c,4k,3"});
        EXPECT_EQ(c.status, 1) << n;
    }
    EXPECT_TRUE(contains(famfs({"verify", "-t", "1000", "-m", "a,1"}).err,
                         "thread count 1000 is out of range (0..256)"));
    EXPECT_DEVICE_UNCHANGED(before);
    EXPECT_EQ(famfs({"verify", "-t", "256", "-m", "a,1", "-m", "b,2"}).status, 0);
}

// test0.sh still calls the standalone module's mkmeta.
TEST_F(CompatTest, MkmetaChecksTheDevice) {
    format();
    EXPECT_EQ(famfs_plain({"mkmeta"}).status, 1);
    EXPECT_EQ(famfs_plain({"mkmeta", "-h"}).status, 0);
    EXPECT_NE(famfs_plain({"mkmeta", dir_ + "/nonexistent"}).status, 0);
    const auto before = snapshot();
    Outcome ok = famfs_plain({"mkmeta", dev_});
    EXPECT_EQ(ok.status, 0) << ok.err;
    EXPECT_TRUE(contains(ok.out, "famfs mount serves its .meta files")) << ok.out;
    EXPECT_DEVICE_UNCHANGED(before);
    const std::string blank = local_file("blank", std::vector<uint8_t>(4 << 20, 0));
    EXPECT_NE(famfs_plain({"mkmeta", blank}).status, 0);
}

// test1.sh: "fsck by dev when mounted should succeed if forced".
TEST_F(CompatTest, FsckForceChecksAMountedDevice) {
    format();
    mount();
    ASSERT_EQ(famfs_plain({"creat", "-s", "4k", mnt_ + "/f"}).status, 0);
    EXPECT_EQ(famfs_plain({"fsck", dev_}).status, EBUSY);
    for (const char* flag : {"--force", "-f"}) {
        Outcome r = famfs_plain({"fsck", flag, dev_});
        EXPECT_EQ(r.status, 0) << flag << ": " << r.err;
        EXPECT_TRUE(contains(r.out, "# of log entries in use: 1 of 15420")) << r.out;
    }
}

// test1.sh: cp -c compares the copies with their sources; a destination
// that is already there is compared, not copied again.
TEST_F(CompatTest, CpCompareFindsADefacedCopy) {
    format();
    local_file("src/a", pattern_bytes(5000, 1));
    local_file("src/b", pattern_bytes(3 << 20, 2));
    ASSERT_EQ(famfs({"mkdir", "dst"}).status, 0);
    Outcome first = famfs({"cp", "-c", "-rv", dir_ + "/src/*", "dst"});
    ASSERT_EQ(first.status, 0) << first.err;
    EXPECT_TRUE(contains(first.out, "famfs cp: dst/b matches " + dir_ + "/src/b")) << first.out;
    Outcome again = famfs({"cp", "-c", "-r", dir_ + "/src/*", "dst"});
    EXPECT_EQ(again.status, 0) << again.err;

    const State st = load();
    const Node* b = st.ns.lookup("dst/b");
    ASSERT_NE(b, nullptr);
    const uint64_t at = (1 << 20) + 7;
    poke(b->file.extents[0].offset + at, {static_cast<uint8_t>(~read_file("dst/b")[at])});
    const auto before = snapshot();
    Outcome bad = famfs({"cp", "--compare", "-r", dir_ + "/src/*", "dst"});
    EXPECT_EQ(bad.status, 1);
    EXPECT_TRUE(contains(bad.err, "famfs cp: dst/b: differs from " + dir_ + "/src/b at offset " +
                                      std::to_string(at)))
        << bad.err;
    EXPECT_DEVICE_UNCHANGED(before);
    // Without -c the existing copy is rewritten, as before.
    ASSERT_EQ(famfs({"cp", "-r", dir_ + "/src/*", "dst"}).status, 0);
    EXPECT_EQ(read_file("dst/b"), pattern_bytes(3 << 20, 2));
}

// test1.sh: "cp -r to bogus path should fail", "cp -r to file", "cp -r to
// path that uses file as dir".
TEST_F(CompatTest, CpRecursiveNeedsAnExistingParentDirectory) {
    format();
    local_file("A/x", pattern_bytes(100, 1));
    ASSERT_EQ(famfs({"creat", "-s", "4k", "file"}).status, 0);
    const auto before = snapshot();
    Outcome bogus = famfs({"cp", "-r", dir_ + "/A", "bar/foo"});
    EXPECT_NE(bogus.status, 0);
    EXPECT_TRUE(contains(bogus.err, "bar/foo: parent directory does not exist")) << bogus.err;
    Outcome to_file = famfs({"cp", "-r", dir_ + "/A", "file"});
    EXPECT_NE(to_file.status, 0);
    EXPECT_TRUE(contains(to_file.err, "file: not a directory")) << to_file.err;
    EXPECT_EQ(std::count(to_file.err.begin(), to_file.err.end(), '\n'), 1) << to_file.err;
    Outcome through_file = famfs({"cp", "-r", dir_ + "/A", "file/foo"});
    EXPECT_NE(through_file.status, 0);
    EXPECT_TRUE(contains(through_file.err, "parent is not a directory")) << through_file.err;
    EXPECT_DEVICE_UNCHANGED(before);
    EXPECT_EQ(famfs({"cp", "-r", dir_ + "/A", "A2"}).status, 0);
    EXPECT_EQ(read_file("A2/x"), pattern_bytes(100, 1));
}

// The reference getmap takes several files and, with -c, goes on after one
// that is not a mapped famfs file.
TEST_F(CompatTest, GetmapTakesSeveralFilesAndContinuesWithC) {
    format();
    ASSERT_EQ(famfs({"creat", "-s", "4k", "a"}).status, 0);
    ASSERT_EQ(famfs({"creat", "-s", "8k", "b"}).status, 0);
    Outcome both = famfs({"getmap", "a", "b"});
    EXPECT_EQ(both.status, 0) << both.err;
    EXPECT_TRUE(contains(both.out, "File:     a")) << both.out;
    EXPECT_TRUE(contains(both.out, "File:     b")) << both.out;

    Outcome stops = famfs({"getmap", "a", "missing", "b"});
    EXPECT_EQ(stops.status, ENOENT);
    EXPECT_TRUE(contains(stops.out, "File:     a")) << stops.out;
    EXPECT_FALSE(contains(stops.out, "File:     b")) << stops.out;

    Outcome goes_on = famfs({"getmap", "-c", "a", "missing", "b"});
    EXPECT_EQ(goes_on.status, ENOENT);
    EXPECT_TRUE(contains(goes_on.out, "File:     b")) << goes_on.out;
    EXPECT_TRUE(contains(goes_on.err, "missing")) << goes_on.err;
}

}  // namespace
}  // namespace famfs::clitest
