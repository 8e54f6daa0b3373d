// famfs_fused's command line: ours, the reference daemon's -o form beside
// it, and the errors that name what they refuse.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "famfs_version.h"
#include "session.h"

namespace famfs::fused {
namespace {

Result<Command> parse(std::vector<std::string> words) {
    words.insert(words.begin(), "famfs_fused");
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    return parse_command_line(static_cast<int>(words.size()), argv.data());
}

std::string error_of(const std::vector<std::string>& words) {
    auto c = parse(words);
    return c ? "" : c.error().message;
}

TEST(Options, OursTakesDeviceAndMountPoint) {
    auto c = parse({"-f", "-t", "2.5", "/dev/dax0.0", "/mnt/famfs"});
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->action, Command::Action::kServe);
    const ServerOptions& o = c->server;
    EXPECT_EQ(o.device, "/dev/dax0.0");
    EXPECT_EQ(o.mountpoint, "/mnt/famfs");
    EXPECT_EQ(o.fsname, "/dev/dax0.0");
    EXPECT_TRUE(o.foreground);
    EXPECT_TRUE(o.allow_other);
    EXPECT_TRUE(o.default_permissions);
    EXPECT_DOUBLE_EQ(o.timeout_secs, 2.5);
    EXPECT_EQ(o.state_dir, "");  // the server makes one
    auto s = parse({"--state-dir", "/run/x", "-s", "d", "m"});
    ASSERT_TRUE(s);
    EXPECT_EQ(s->server.state_dir, "/run/x");
    EXPECT_TRUE(s->server.single_thread);
}

TEST(Options, HelpAndVersionWinOverEverythingElse) {
    EXPECT_EQ(parse({"--help"})->action, Command::Action::kHelp);
    EXPECT_EQ(parse({"-h", "x"})->action, Command::Action::kHelp);
    EXPECT_EQ(parse({"-f", "--version"})->action, Command::Action::kVersion);
    EXPECT_EQ(parse({"-V"})->action, Command::Action::kVersion);
    EXPECT_NE(std::string(version_text()).find(kVersion), std::string::npos);
}

TEST(Options, TheReferenceFormAsItsMountStartsIt) {
    auto c = parse({"-s", "-d", "-o",
                    "daxdev=/dev/dax1.0,shadow=/tmp/famfs_shadow_ab,fsname=/dev/dax1.0,"
                    "timeout=30.000000,allow_other,default_permissions",
                    "/mnt/famfs"});
    ASSERT_TRUE(c) << c.error().message;
    const ServerOptions& o = c->server;
    EXPECT_EQ(o.device, "/dev/dax1.0");
    EXPECT_EQ(o.mountpoint, "/mnt/famfs");
    EXPECT_EQ(o.state_dir, "/tmp/famfs_shadow_ab");
    EXPECT_EQ(o.fsname, "/dev/dax1.0");
    EXPECT_TRUE(o.allow_other);
    EXPECT_TRUE(o.default_permissions);
    EXPECT_DOUBLE_EQ(o.timeout_secs, 30);
    EXPECT_TRUE(o.debug && o.single_thread && o.foreground);
}

TEST(Options, TheReferenceDefaultsHoldForWhatItLeavesOut) {
    auto c = parse({"-o", "daxdev=/dev/dax0.0", "/m"});
    ASSERT_TRUE(c);
    EXPECT_FALSE(c->server.allow_other);
    EXPECT_FALSE(c->server.default_permissions);
    EXPECT_DOUBLE_EQ(c->server.timeout_secs, 0);  // the server checks every walk
    auto k = parse({"-o", "daxdev=/d,default_permissions,cache=always", "/m"});
    ASSERT_TRUE(k);
    EXPECT_DOUBLE_EQ(k->server.timeout_secs, 86400);
    // timeout= wins over cache=, in either order.
    auto t = parse({"-o", "timeout=3,cache=never,default_permissions", "-o", "daxdev=/d", "/m"});
    ASSERT_TRUE(t);
    EXPECT_DOUBLE_EQ(t->server.timeout_secs, 3);
}

TEST(Options, SourceIsTheShadowDirectoryOrTheDevice) {
    const std::string dir = testing::TempDir() + "famfs_options_source";
    std::filesystem::create_directories(dir);
    auto c = parse({"-o", "source=" + dir + ",source=/dev/dax0.0", "/m"});
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->server.state_dir, dir);
    EXPECT_EQ(c->server.device, "/dev/dax0.0");
    std::filesystem::remove_all(dir);
    // A comma inside a value is escaped, as libfuse reads it.
    auto e = parse({"-o", "daxdev=/dev/a\\,b", "/m"});
    ASSERT_TRUE(e);
    EXPECT_EQ(e->server.device, "/dev/a,b");
}

TEST(Options, NoEffectOptionsAreAccepted) {
    EXPECT_TRUE(parse({"-o", "daxdev=/d,flock,no_flock,readdirplus,no_readdirplus,debug=1", "/m"}));
}

TEST(Options, RefusalsNameTheOption) {
    EXPECT_EQ(error_of({"-o", "daxdev=/d,bogus=1", "/m"}),
              "-o bogus=1: unknown option (famfs_fused --help lists the -o options)");
    EXPECT_NE(error_of({"-o", "pass_yaml", "d", "m"}).find("-o pass_yaml: not supported"),
              std::string::npos);
    EXPECT_NE(
        error_of({"-o", "cache=sometimes", "d", "m"}).find("-o cache=sometimes: cache must be"),
        std::string::npos);
    EXPECT_NE(error_of({"-o", "timeout=-1", "d", "m"}).find("-o timeout=-1: timeout must be"),
              std::string::npos);
    EXPECT_NE(error_of({"-o", "debug=x", "d", "m"}).find("-o debug=x"), std::string::npos);
    EXPECT_NE(error_of({"-o", "daxdev=/a,daxdev=/b", "m"}).find("a second device (/a"),
              std::string::npos);
    EXPECT_NE(error_of({"-q", "d", "m"}).find("-q: unknown option"), std::string::npos);
    EXPECT_NE(error_of({"--bogus", "d", "m"}).find("--bogus: unknown option"), std::string::npos);
    EXPECT_NE(error_of({"-o", "daxdev=/d", "x", "m"}).find("expected MOUNTPOINT"),
              std::string::npos);
    EXPECT_NE(error_of({"only-one"}).find("expected DEVICE MOUNTPOINT"), std::string::npos);
}

}  // namespace
}  // namespace famfs::fused
