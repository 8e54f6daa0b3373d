// What a new user tries first: --help and --version everywhere, the
// reference's --fuse/--nofuse mode flags, and errors that say what to do
// next.
#include <filesystem>
#include <string>
#include <vector>

#include "cli_fixture.h"
#include "famfs_version.h"

namespace famfs::clitest {
namespace {

using CommandLineTest = CliTest;

const std::vector<std::string> kCommands = {"mount",  "umount", "status", "fsck",    "check",
                                            "mkdir",  "cp",     "creat",  "verify",  "logplay",
                                            "getmap", "clone",  "flush",  "chkread", "mkmeta"};

TEST_F(CommandLineTest, FamfsHelpAndVersion) {
    Outcome help = famfs_plain({"--help"});
    EXPECT_EQ(help.status, 0) << help.err;
    EXPECT_TRUE(contains(help.out, "usage: famfs")) << help.out;
    for (const auto& c : kCommands) EXPECT_TRUE(contains(help.out, "  " + c + " ")) << c;
    Outcome version = famfs_plain({"--version"});
    EXPECT_EQ(version.status, 0) << version.err;
    EXPECT_EQ(version.out, std::string("famfs ") + kVersion + "\n");
}

TEST_F(CommandLineTest, EveryCommandTakesHelpAndVersion) {
    for (const auto& c : kCommands) {
        Outcome help = famfs_plain({c, "--help"});
        EXPECT_EQ(help.status, 0) << c << ": " << help.err;
        EXPECT_TRUE(contains(help.out, "usage: famfs " + c)) << c << ": " << help.out;
        EXPECT_EQ(help.err, "") << c;
        // Like the GNU tools: after other options and operands too.
        Outcome late = famfs_plain({c, "-v", "x", "--help"});
        EXPECT_EQ(late.status, 0) << c << ": " << late.err;
        EXPECT_TRUE(contains(late.out, "usage: famfs " + c)) << c << ": " << late.out;
        Outcome version = famfs_plain({c, "--version"});
        EXPECT_EQ(version.status, 0) << c << ": " << version.err;
        EXPECT_EQ(version.out, "famfs " + c + " " + kVersion + "\n") << c;
    }
}

TEST_F(CommandLineTest, AfterDoubleDashHelpIsAnOperand) {
    format();
    Outcome r = famfs({"creat", "-s", "4k", "--", "--help"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_NE(load().ns.lookup("--help"), nullptr);
}

TEST_F(CommandLineTest, FsckDashHKeepsMeaningHumanAndItsUsageSaysHowToGetHelp) {
    format();
    Outcome human = famfs({"fsck", "-h"});
    EXPECT_EQ(human.status, 0) << human.err;
    EXPECT_FALSE(contains(human.out, "usage:")) << human.out;
    Outcome help = famfs_plain({"fsck", "--help"});
    EXPECT_EQ(help.status, 0);
    EXPECT_TRUE(contains(help.out, "--help")) << help.out;
    EXPECT_TRUE(contains(help.out, "-h, --human")) << help.out;
    Outcome qmark = famfs_plain({"fsck", "-?"});
    EXPECT_EQ(qmark.status, 0);
    EXPECT_EQ(qmark.out, help.out);
}

TEST_F(CommandLineTest, MkfsHelpAndVersion) {
    Outcome help = run({MKFS_BIN, "--help"});
    EXPECT_EQ(help.status, 0) << help.err;
    EXPECT_TRUE(contains(help.out, "usage: mkfs.famfs")) << help.out;
    EXPECT_TRUE(contains(help.out, "--nofuse")) << help.out;
    Outcome version = run({MKFS_BIN, "--version"});
    EXPECT_EQ(version.status, 0) << version.err;
    EXPECT_EQ(version.out, std::string("mkfs.famfs ") + kVersion + "\n");
}

TEST_F(CommandLineTest, MkfsTakesTheModeFlags) {
    Outcome fuse = mkfs({"--size", "64m", "--allow-small", "--fuse"});
    EXPECT_EQ(fuse.status, 0) << fuse.err;
    EXPECT_EQ(fuse.err, "");
    for (const char* flag : {"--nofuse", "-F"}) {
        Outcome r = mkfs({"-f", "--allow-small", flag});
        EXPECT_EQ(r.status, 0) << flag << ": " << r.err;
        EXPECT_TRUE(contains(r.err, "standalone famfs kernel module not available")) << r.err;
        EXPECT_TRUE(contains(r.err, "--nofuse")) << r.err;
        ASSERT_NE(open_volume(), nullptr) << flag;
    }
}

TEST_F(CommandLineTest, FsckTakesTheModeFlags) {
    format();
    Outcome fuse = famfs({"fsck", "--fuse"});
    EXPECT_EQ(fuse.status, 0) << fuse.err;
    EXPECT_EQ(fuse.err, "");
    for (const char* flag : {"--nofuse", "-F"}) {
        Outcome r = famfs({"fsck", flag});
        EXPECT_EQ(r.status, 0) << flag << ": " << r.err;
        EXPECT_TRUE(contains(r.err, "famfs fsck: --nofuse: standalone famfs kernel module"))
            << r.err;
    }
    // The reference's -f is --force, as here; --fuse has no short form.
    Outcome both = famfs({"fsck", "-f", "-F", "--fuse"});
    EXPECT_EQ(both.status, 0) << both.err;
}

TEST_F(CommandLineTest, MkfsUnderTheMinimumSuggestsAllowSmall) {
    Outcome r = mkfs({"--size", "64m"});
    EXPECT_EQ(r.status, 2);
    EXPECT_TRUE(contains(r.err, "add --allow-small")) << r.err;
}

TEST_F(CommandLineTest, MountOnAMissingDirectorySuggestsMkdir) {
    format();
    const auto before = snapshot();
    const std::string missing = dir_ + "/no/such/mnt";
    Outcome r = famfs_plain({"mount", dev_, missing});
    EXPECT_EQ(r.status, ENOENT);
    EXPECT_TRUE(contains(r.err, "mkdir -p " + missing)) << r.err;
    EXPECT_FALSE(std::filesystem::exists(missing));
    EXPECT_DEVICE_UNCHANGED(before);
}

}  // namespace
}  // namespace famfs::clitest
