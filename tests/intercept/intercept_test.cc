// The interception library against the mount, its contract: unmodified
// programs and a probe of every served call give the same results with and
// without libfamfs_intercept.so, the library really serves them (its
// report says so), and what it must not serve goes to the mount.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "fuse_fixture.h"

namespace famfs::fusetest {
namespace {

constexpr uint64_t kFileSize = 3 * omf::kMiB + 12345;  // two extents' worth of pieces, odd end

class InterceptTest : public FuseTest {
  protected:
    void SetUp() override {
        FuseTest::SetUp();
        create("f", kFileSize, 0666, 5);
        create("other", 65536, 0644, 9);
        master_ = &start_master();
    }

    // Puts the file back as created, so every run starts alike.
    void reset() { ASSERT_EQ(write_file(master_->path("f"), pattern(5, kFileSize)), 0); }

    // Runs a shell command on `h`, under the library or not; returns its
    // output, and the library's report in *report.
    std::string run(const Host& h, const std::string& command, bool library,
                    std::string* report = nullptr) {
        // Any user may append to it: some commands drop privileges.
        const std::string report_file = scratch_.dir() + "/report";
        unlink(report_file.c_str());
        close(open(report_file.c_str(), O_CREAT | O_WRONLY, 0666));
        chmod(report_file.c_str(), 0666);
        chmod(scratch_.dir().c_str(), 0755);
        std::string env;
        if (library) {
            env = "LD_PRELOAD=" FAMFS_INTERCEPT_LIB " FAMFS_INTERCEPT_REPORT=" + report_file + " ";
        }
        std::string out;
        h.run(env + command, &out);
        if (report) {
            const auto bytes = read_file(report_file);
            report->assign(bytes.begin(), bytes.end());
        }
        return out;
    }

    std::string run(const Host& h, const char* program, bool library, std::string* report) {
        return run(h, std::string(program), library, report);
    }

    std::string probe(const std::string& args, bool library, std::string* report = nullptr) {
        reset();
        if (HasFatalFailure()) return "";
        return run(*master_, std::string(FAMFS_PROBE_BIN) + " " + args, library, report);
    }

    std::string in_mount(const Host& h, const std::string& rel) const {
        return h.mountpoint() + "/" + rel;
    }

    Host* master_ = nullptr;
};

// What the report lists as served, e.g. "read 3, pread 1".
std::string served(const std::string& report) {
    const std::string key = "served from memory: ";
    const auto at = report.find(key);
    if (at == std::string::npos) return "";
    return report.substr(at + key.size(), report.find('\n', at) - at - key.size());
}

bool serves(const std::string& report, const std::string& call) {
    const std::string s = ", " + served(report);
    const auto at = s.find(", " + call + " ");
    return at != std::string::npos && s[at + call.size() + 3] != '0';
}

TEST_F(InterceptTest, EveryServedCallAnswersAsTheMountDoes) {
    const std::string f = in_mount(*master_, "f");
    const std::string other = scratch_.dir() + "/not-famfs";
    ASSERT_EQ(system(("head -c 4096 /dev/urandom > " + other).c_str()), 0);
    struct Case {
        std::string args;
        std::vector<std::string> calls;  // the report must show these served
    };
    const std::vector<Case> cases = {
        {"io " + f,
         {"pread", "read", "write", "pwrite", "preadv", "readv", "pwritev", "writev", "lseek",
          "fstat", "fsync", "fdatasync"}},
        {"modes " + f, {"open"}},
        {"sharing " + f, {"read"}},
        {"mapping " + f, {"mmap", "msync", "munmap", "mprotect", "pread"}},
        // The library leaves with exec (its report of the reads before goes too).
        {"exec " + f, {}},
        {"exec-keep " + f, {"read"}},
        {"closed-behind " + f + " " + other, {"read"}},
    };
    for (const auto& c : cases) {
        const std::string through_mount = probe(c.args, false);
        std::string report;
        const std::string under_library = probe(c.args, true, &report);
        EXPECT_EQ(under_library, through_mount) << c.args << "\nreport:\n" << report;
        for (const auto& call : c.calls) {
            EXPECT_TRUE(serves(report, call)) << c.args << ": " << call << " not served\n"
                                              << report;
        }
    }
}

// Poisoned memory raises SIGBUS; the library turns it into EIO, as the
// server does. The library runs first: afterwards the server has marked the
// device failed, and a mount answers EIO without touching memory.
TEST_F(InterceptTest, MemoryThatFailsUnderAnOpenFileGivesEioNotACrash) {
    const auto f = volume().load()->ns.lookup("f")->file;
    const std::string args = "failing " + in_mount(*master_, "f") + " " + device() + " " +
                             std::to_string(f.extents.at(0).offset);
    std::string report;
    const std::string under_library = probe(args, true, &report);
    EXPECT_NE(under_library.find("read after: -1 EIO"), std::string::npos) << under_library;
    EXPECT_NE(under_library.find("write after: -1 EIO"), std::string::npos) << under_library;
    EXPECT_NE(under_library.find("touch the mapping: killed by BUS"), std::string::npos)
        << under_library;
    EXPECT_TRUE(serves(report, "pread")) << report;
    EXPECT_EQ(probe(args, false), under_library) << "the mount answers alike";
}

// The dynamic loader never sees the library in a static program: it runs
// through the mount, with the same results.
TEST_F(InterceptTest, StaticallyLinkedProgramsRunThroughTheMount) {
    const std::string args = " io " + in_mount(*master_, "f");
    reset();
    const std::string plain = run(*master_, FAMFS_STATIC_PROBE_BIN + args, false);
    reset();
    std::string report;
    EXPECT_EQ(run(*master_, FAMFS_STATIC_PROBE_BIN + args, true, &report), plain);
    EXPECT_EQ(report, "") << "the library was loaded into a static program";
    EXPECT_EQ(probe(args, false), plain) << "the static probe answers as the dynamic one";
}

// docs/delete.md: the host's server may let a deleted file's memory go only
// when no process holds the file open or mapped. A mount's mapping keeps
// the kernel's file open; a mapping the library serves from the device
// must keep the file's open file description on the mount alive as well,
// after the program closed its descriptor and until the last piece of the
// mapping (in the parent and a forked child) is gone.
TEST_F(InterceptTest, AServedMappingKeepsTheFileOpenUntilItIsUnmapped) {
    const std::string args = "held " + in_mount(*master_, "f");
    const std::string through_mount = probe(args, false);
    std::string report;
    const std::string under_library = probe(args, true, &report);
    EXPECT_TRUE(serves(report, "mmap")) << report;
    EXPECT_TRUE(serves(report, "munmap")) << report;
    for (const std::string& out : {through_mount, under_library}) {
        for (const char* line :
             {"held after close: 1\n", "held after closing every descriptor of it: 1\n",
              "held with a piece left: 1\n", "parent: held after munmap: 0\n", "child: held: 1\n",
              "child: held after munmap: 0\n"}) {
            EXPECT_NE(out.find(line), std::string::npos) << line << "in\n" << out;
        }
    }
    EXPECT_EQ(under_library, through_mount) << report;
}

TEST_F(InterceptTest, MappingsAndPrivateMappingsFallBackWhereTheyMust) {
    std::string report;
    probe("mapping " + in_mount(*master_, "f"), true, &report);
    EXPECT_NE(report.find("a MAP_PRIVATE mapping"), std::string::npos) << report;
    probe("modes " + in_mount(*master_, "f"), true, &report);
    EXPECT_NE(report.find("O_APPEND"), std::string::npos) << report;
}

TEST_F(InterceptTest, UnmodifiedProgramsGiveTheSameResults) {
    const std::string f = in_mount(*master_, "f");
    const std::string out = scratch_.dir() + "/copy";
    const std::vector<std::string> commands = {
        "dd if=" + f + " bs=64k status=none | md5sum",
        "dd if=" + f + " of=" + out + " bs=1M status=none && md5sum < " + out,
        "md5sum < " + f,
        "cmp " + f + " " + in_mount(*master_, "other") + "; echo $?",
        "python3 -c \"import mmap,os,hashlib; fd=os.open(\\\"" + f +
            "\\\", os.O_RDONLY); m=mmap.mmap(fd, 0, prot=mmap.PROT_READ); "
            "print(hashlib.md5(m[:]).hexdigest(), len(m))\"",
    };
    for (const auto& cmd : commands) {
        std::string report;
        const std::string plain = run(*master_, cmd, false);
        EXPECT_EQ(run(*master_, cmd, true, &report), plain) << cmd;
        if (cmd.rfind("dd", 0) == 0 || cmd.rfind("cmp", 0) == 0) {
            EXPECT_TRUE(serves(report, "read")) << cmd << "\n" << report;
        }
        if (cmd.rfind("python3", 0) == 0) {
            EXPECT_TRUE(serves(report, "mmap")) << report;
        }
    }
    // dd writing into the file under the library: the mount reads it back.
    const std::string src = scratch_.dir() + "/src";
    ASSERT_EQ(system(("head -c 100000 /dev/urandom > " + src).c_str()), 0);
    std::string report;
    run(*master_, "dd if=" + src + " of=" + f + " bs=4k conv=notrunc status=none", true, &report);
    EXPECT_TRUE(serves(report, "write")) << report;
    const auto written = read_file(master_->path("f"));
    const auto expect = read_file(src);
    ASSERT_GE(written.size(), expect.size());
    EXPECT_TRUE(std::equal(expect.begin(), expect.end(), written.begin()));
}

TEST_F(InterceptTest, TwoHostsSeeEachOthersDataThroughLibraryAndMount) {
    Host& client = start_client("c1");
    const std::string digest = "dd bs=1M status=none if=";
    // The client writes under the library; the master reads through its mount.
    const auto bytes = pattern(77, kFileSize);
    const std::string src = scratch_.dir() + "/p77";
    {
        FILE* out = fopen(src.c_str(), "w");
        ASSERT_NE(out, nullptr);
        fwrite(bytes.data(), 1, bytes.size(), out);
        fclose(out);
    }
    std::string report;
    run(client, "dd if=" + src + " of=" + in_mount(client, "f") + " bs=1M conv=notrunc status=none",
        true, &report);
    EXPECT_TRUE(serves(report, "write")) << report;
    EXPECT_EQ(read_file(master_->path("f")), bytes);
    // The master writes through the mount; the client reads under the library.
    ASSERT_EQ(write_file(master_->path("f"), pattern(78, kFileSize)), 0);
    const std::string plain = run(*master_, digest + in_mount(*master_, "f") + " | md5sum", false);
    EXPECT_EQ(run(client, digest + in_mount(client, "f") + " | md5sum", true, &report), plain);
    EXPECT_TRUE(serves(report, "read")) << report;
}

TEST_F(InterceptTest, WhatTheLibraryMayNotServeGoesToTheMount) {
    std::string report;
    // The server's generated text has no memory behind it.
    const std::string status = run(*master_, "cat " + in_mount(*master_, ".meta/.status"), true);
    EXPECT_NE(status.find("role"), std::string::npos) << status;
    run(*master_, "dd status=none if=" + in_mount(*master_, ".meta/.status"), true, &report);
    EXPECT_NE(report.find("the server gives no map"), std::string::npos) << report;
    // A process that may not open the device node reads through the mount.
    const std::string cmd =
        "setpriv --reuid=65534 --regid=65534 --clear-groups dd status=none "
        "bs=1M if=" +
        in_mount(*master_, "other") + " | md5sum";
    const std::string plain = run(*master_, cmd, false);
    EXPECT_EQ(run(*master_, cmd, true, &report), plain);
    EXPECT_NE(report.find("Permission denied"), std::string::npos) << report;
    EXPECT_FALSE(serves(report, "read")) << report;
}

}  // namespace
}  // namespace famfs::fusetest
