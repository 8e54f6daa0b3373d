// What famfs cp tells people: the closing summary, a line per item with -v,
// what it skipped and why, and progress on a terminal (never in a pipe).
#include <errno.h>
#include <pty.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "cli_fixture.h"
#include "famfs/sizes.h"

namespace famfs::clitest {
namespace {

// Runs argv with stdout and stderr on a fresh pseudo-terminal; `out` is
// everything the terminal received.
Outcome run_on_terminal(const std::vector<std::string>& argv) {
    int master = -1, terminal = -1;
    Outcome r;
    if (::openpty(&master, &terminal, nullptr, nullptr, nullptr) != 0) return r;
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::close(master);
        ::setsid();
        ::dup2(terminal, 1);
        ::dup2(terminal, 2);
        ::close(terminal);
        ::execv(args[0], args.data());
        ::_exit(126);
    }
    ::close(terminal);
    char buf[4096];
    for (;;) {  // read() fails with EIO once the child's side is closed
        const ssize_t n = ::read(master, buf, sizeof buf);
        if (n > 0) {
            r.out.append(buf, static_cast<size_t>(n));
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            break;
        }
    }
    ::close(master);
    int status = 0;
    ::waitpid(pid, &status, 0);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return r;
}

class CpReportTest : public CliTest {
  protected:
    // The summary's closing part, from the device as it is now.
    std::string room_left() const {
        const State st = load();
        const uint64_t entries = omf::log_capacity(st.layout.log_len) - st.next_index;
        return human_size(st.alloc.free_bytes()) + " and " + std::to_string(entries) +
               " log entries free\n";
    }
    // A tree of two files, a directory, an empty file, a symlink and a FIFO.
    std::string make_tree() {
        local_file("tree/a", {1, 2, 3});
        local_file("tree/sub/b", std::vector<uint8_t>(5000, 9));
        local_file("tree/empty", {});
        const std::string tree = dir_ + "/tree";
        EXPECT_EQ(::symlink("a", (tree + "/link").c_str()), 0);
        EXPECT_EQ(::mkfifo((tree + "/fifo").c_str(), 0600), 0);
        return tree;
    }
};

TEST_F(CpReportTest, SummaryCountsWhatWasCopiedAndWhatWasSkipped) {
    format();
    const std::string tree = make_tree();
    Outcome r = famfs({"cp", "-r", tree, "dest"});
    EXPECT_EQ(r.status, 3) << "each source not copied counts, as in the reference\n" << r.err;
    EXPECT_EQ(r.out,
              "famfs cp: copied 2 files (4.89 KiB) and 2 directories; skipped 3 (1 named pipe "
              "(FIFO), 1 symbolic link, 1 zero-length file); " +
                  room_left());
    EXPECT_TRUE(contains(r.err, "famfs cp: " + tree + "/link: symbolic link, skipped")) << r.err;
    EXPECT_TRUE(contains(r.err, "famfs cp: " + tree + "/fifo: named pipe (FIFO), skipped"))
        << r.err;
    EXPECT_TRUE(contains(r.err, "famfs cp: " + tree + "/empty: zero-length file, skipped"))
        << r.err;
    EXPECT_EQ(read_file("dest/sub/b"), std::vector<uint8_t>(5000, 9));
    EXPECT_EQ(load().ns.lookup("dest/link"), nullptr);
}

TEST_F(CpReportTest, ACleanCopySaysNothingWasSkipped) {
    format();
    const std::string src = local_file("one", {5});
    Outcome r = famfs({"cp", src, "one"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(r.err.empty()) << r.err;
    EXPECT_EQ(r.out,
              "famfs cp: copied 1 file (1 B) and 0 directories; nothing skipped; " + room_left());
}

TEST_F(CpReportTest, SpecialFilesOnTheCommandLineAreNamedToo) {
    format();
    const std::string fifo = dir_ + "/pipe";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    const std::string dangling = dir_ + "/dangling";
    ASSERT_EQ(::symlink("nowhere", dangling.c_str()), 0);
    ASSERT_EQ(famfs({"mkdir", "d"}).status, 0);
    Outcome r = famfs({"cp", fifo, dangling, "d"});
    EXPECT_EQ(r.status, 2);
    EXPECT_TRUE(contains(r.err, "famfs cp: " + fifo + ": named pipe (FIFO), skipped")) << r.err;
    EXPECT_TRUE(contains(r.err, "famfs cp: " + dangling + ": No such file or directory, skipped"))
        << r.err;
    EXPECT_TRUE(contains(r.out, "skipped 2 (1 named pipe (FIFO), 1 unreadable source)")) << r.out;
}

TEST_F(CpReportTest, VerboseIsALinePerFileAndDirectory) {
    format();
    const std::string tree = make_tree();
    Outcome r = famfs({"cp", "-r", "-v", tree, "dest"});
    EXPECT_EQ(r.status, 3);
    for (const std::string& line :
         {"famfs cp: " + tree + " -> dest (directory)\n",
          "famfs cp: " + tree + "/sub -> dest/sub (directory)\n",
          "famfs cp: " + tree + "/a -> dest/a\n", "famfs cp: " + tree + "/sub/b -> dest/sub/b\n"}) {
        EXPECT_TRUE(contains(r.out, line)) << line << r.out;
    }
    EXPECT_TRUE(contains(r.out, "\nfamfs cp: copied 2 files")) << "the summary comes last\n"
                                                               << r.out;
}

TEST_F(CpReportTest, ProgressOnlyOnATerminalAndOnlyForLongCopies) {
    format("256m");  // two copies of 70 MiB
    const std::string big = local_file("big", pattern_bytes(70u << 20, 4));
    Outcome piped = famfs({"cp", big, "piped"});
    ASSERT_EQ(piped.status, 0) << piped.err;
    EXPECT_TRUE(piped.err.empty()) << "no progress into a pipe: " << piped.err;

    Outcome tty = run_on_terminal({FAMFS_BIN, "--device", dev_, "cp", big, "on-terminal"});
    ASSERT_EQ(tty.status, 0) << tty.out;
    EXPECT_TRUE(contains(tty.out, "\rfamfs cp: 70.00 MiB of 70.00 MiB (100%), 1 of 1 files"))
        << tty.out;
    EXPECT_TRUE(contains(tty.out, "\r\033[Kfamfs cp: copied 1 file (70.00 MiB)"))
        << "the progress line is erased before the summary\n"
        << tty.out;
    EXPECT_EQ(read_file("on-terminal"), read_local(big));

    const std::string small = local_file("small", {1});
    Outcome short_copy = run_on_terminal({FAMFS_BIN, "--device", dev_, "cp", small, "small"});
    ASSERT_EQ(short_copy.status, 0) << short_copy.out;
    EXPECT_FALSE(contains(short_copy.out, "%)")) << short_copy.out;
}

}  // namespace
}  // namespace famfs::clitest
