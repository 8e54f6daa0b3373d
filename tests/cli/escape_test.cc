// Names in a hostile log (a buggy or malicious master, a corrupted device)
// may hold any byte. fsck, status, logplay, getmap and every error print
// them escaped: no control byte (newline, ESC) reaches the terminal.
#include <sys/stat.h>

#include <string>

#include "cli_fixture.h"
#include "famfs/device.h"
#include "famfs/volume.h"

namespace famfs::clitest {
namespace {

// Clears the screen and starts a fake line if printed raw.
const std::string kHostile = "evil\x1b[2J\nERROR: fake";
const std::string kShown = "evil\\x1b[2J\\x0aERROR: fake";

bool has_control_bytes(const std::string& text) {
    for (const char c : text) {
        const auto b = static_cast<unsigned char>(c);
        if ((b < 0x20 && c != '\n' && c != '\t') || b == 0x7f) return true;
    }
    return false;
}

class EscapeTest : public CliTest {
  protected:
    // Logs a directory entry with a hostile name straight through the log,
    // as a hostile master could; replay refuses it.
    void log_hostile_entry() {
        auto vol = Volume::open(dev_, Access::kReadWrite);
        ASSERT_TRUE(vol.ok()) << vol.error().message;
        auto lock = DeviceLock::acquire(dev_, DeviceLock::Kind::kAppend, true);
        ASSERT_TRUE(lock.ok());
        omf::MkdirEntry d;
        d.relpath = kHostile;
        d.mode = 0755;
        ASSERT_TRUE((*vol)->log().append(omf::LogEntry{0, d}).ok());
    }
};

TEST_F(EscapeTest, FsckPrintsARefusedHostileNameEscaped) {
    format();
    log_hostile_entry();
    Outcome r = famfs({"fsck"});
    EXPECT_NE(r.status, 0);
    EXPECT_TRUE(contains(r.out, "(" + kShown + ") refused: ")) << r.out;
    EXPECT_FALSE(has_control_bytes(r.out + r.err)) << r.out << r.err;
    EXPECT_FALSE(contains(r.out, "\nERROR: fake")) << "a forged line";
}

TEST_F(EscapeTest, StatusAndLogplayPrintAHostileNameEscaped) {
    format();
    mount();
    log_hostile_entry();
    struct stat st;
    (void)::stat((mnt_ + "/no-such-file").c_str(), &st);  // the server catches up on a miss
    Outcome status = famfs_plain({"status", mnt_});
    EXPECT_EQ(status.status, 0) << status.err;
    EXPECT_TRUE(contains(status.out, "(" + kShown + ") skipped: ")) << status.out;
    EXPECT_FALSE(has_control_bytes(status.out + status.err)) << status.out;
    Outcome meta = run({"cat", mnt_ + "/.meta/.status"});
    EXPECT_TRUE(contains(meta.out, kShown)) << meta.out;
    EXPECT_FALSE(has_control_bytes(meta.out)) << meta.out;

    Outcome play = famfs_plain({"logplay", "-v", mnt_});
    EXPECT_FALSE(has_control_bytes(play.out + play.err)) << play.out << play.err;
    Outcome dry = famfs_plain({"logplay", "-n", "-v", mnt_});
    EXPECT_FALSE(has_control_bytes(dry.out + dry.err)) << dry.out << dry.err;
}

TEST_F(EscapeTest, ErrorsNameAHostileArgumentEscaped) {
    format();
    const auto before = snapshot();
    Outcome creat = famfs({"creat", "-s", "4k", kHostile});
    EXPECT_EQ(creat.status, 1);
    EXPECT_TRUE(contains(creat.err, "famfs creat: " + kShown + ": ")) << creat.err;
    EXPECT_FALSE(has_control_bytes(creat.err)) << creat.err;
    Outcome getmap = famfs({"getmap", kHostile});
    EXPECT_NE(getmap.status, 0);
    EXPECT_TRUE(contains(getmap.err, kShown)) << getmap.err;
    EXPECT_FALSE(has_control_bytes(getmap.out + getmap.err)) << getmap.err;
    Outcome mkdir = famfs({"mkdir",
                           "a\x1b"
                           "b"});
    EXPECT_FALSE(has_control_bytes(mkdir.err)) << mkdir.err;
    Outcome verify = famfs({"verify", "-S", "1", "-f", kHostile});
    EXPECT_NE(verify.status, 0);
    EXPECT_FALSE(has_control_bytes(verify.out + verify.err)) << verify.err;
    EXPECT_DEVICE_UNCHANGED(before);
}

}  // namespace
}  // namespace famfs::clitest
