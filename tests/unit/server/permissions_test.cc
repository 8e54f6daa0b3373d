// The server's own permission checks (famfs_fused -p), the rules that hold
// whatever the permission mode (.meta is root's, the status text names no
// file to others), and files logged read-only for all hosts.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include "famfs/volume.h"
#include "famfs_test_support.h"
#include "inodes.h"
#include "permissions.h"
#include "server.h"

namespace famfs::fused {
namespace {

Caller user(uid_t uid, gid_t gid, std::vector<gid_t> groups = {}) {
    return Caller(uid, gid, [groups] { return groups; });
}

TEST(ModeAllows, OwnerThenGroupThenOthersAsTheKernelDecides) {
    const mode_t f = S_IFREG;
    // The owner gets the owner's bits only, even when others get more.
    EXPECT_TRUE(mode_allows(user(5, 5), f | 0600, 5, 9, kMayRead | kMayWrite));
    EXPECT_FALSE(mode_allows(user(5, 5), f | 0066, 5, 9, kMayRead));
    EXPECT_FALSE(mode_allows(user(5, 5), f | 0400, 5, 9, kMayWrite));
    // A member of the group (primary or supplementary) gets the group's bits.
    EXPECT_TRUE(mode_allows(user(6, 9), f | 0640, 5, 9, kMayRead));
    EXPECT_TRUE(mode_allows(user(6, 1, {3, 9}), f | 0640, 5, 9, kMayRead));
    EXPECT_FALSE(mode_allows(user(6, 9), f | 0604, 5, 9, kMayRead));
    EXPECT_FALSE(mode_allows(user(6, 9), f | 0640, 5, 9, kMayWrite));
    // Anyone else gets the others' bits.
    EXPECT_TRUE(mode_allows(user(7, 7), f | 0604, 5, 9, kMayRead));
    EXPECT_FALSE(mode_allows(user(7, 7), f | 0640, 5, 9, kMayRead));
    EXPECT_FALSE(mode_allows(user(7, 7, {8}), f | 0660, 5, 9, kMayWrite));
    // Directories: search is the execute bit.
    EXPECT_TRUE(mode_allows(user(7, 7), S_IFDIR | 0711, 5, 9, kMayExec));
    EXPECT_FALSE(mode_allows(user(7, 7), S_IFDIR | 0744, 5, 9, kMayExec));
    EXPECT_TRUE(mode_allows(user(7, 7), S_IFDIR | 0744, 5, 9, kMayRead));
    // Nothing asked: granted.
    EXPECT_TRUE(mode_allows(user(7, 7), f | 0000, 5, 9, 0));
}

TEST(ModeAllows, RootOverridesAllButExecutingANonExecutable) {
    const Caller root = user(0, 0);
    EXPECT_TRUE(mode_allows(root, S_IFREG | 0000, 5, 9, kMayRead | kMayWrite));
    EXPECT_TRUE(mode_allows(root, S_IFDIR | 0000, 5, 9, kMayRead | kMayExec));
    EXPECT_FALSE(mode_allows(root, S_IFREG | 0644, 5, 9, kMayExec));
    EXPECT_TRUE(mode_allows(root, S_IFREG | 0001, 5, 9, kMayExec));
}

TEST(ModeAllows, GroupsAreFetchedOnlyWhenTheyDecide) {
    int fetched = 0;
    const Caller c(7, 7, [&] {
        ++fetched;
        return std::vector<gid_t>{9};
    });
    EXPECT_TRUE(mode_allows(c, S_IFREG | 0644, 5, 9, kMayRead));  // group == others
    EXPECT_EQ(fetched, 0);
    EXPECT_TRUE(mode_allows(c, S_IFREG | 0640, 5, 9, kMayRead));
    EXPECT_TRUE(mode_allows(c, S_IFREG | 0640, 5, 9, kMayRead));
    EXPECT_EQ(fetched, 1) << "fetched once, then remembered";
}

class ServerPermissionsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dev_ = std::make_unique<test::ShmFile>(64 * omf::kMiB);
        MkfsOptions mo;
        mo.allow_small = true;
        ASSERT_TRUE(mkfs(dev_->path(), mo));
        auto v = Volume::open(dev_->path(), Access::kReadWrite);
        ASSERT_TRUE(v) << v.error().message;
        vol_ = std::move(v.value());
        ASSERT_TRUE(vol_->mkdir("secret", 0700, 0, 0, false));
        ASSERT_TRUE(vol_->mkdir("pub", 0755, 0, 0, false));
        file("secret/inside", 0644, omf::kFileFlagsAllRW);
        file("pub/mine", 0600, omf::kFileFlagsAllRW, 1000);
        file("pub/frozen", 0666, omf::kFileFlagsAllRO);
    }

    void file(const std::string& relpath, uint32_t mode, uint32_t flags, uint32_t uid = 0) {
        CreateSpec spec;
        spec.relpath = relpath;
        spec.size = 4096;
        spec.mode = mode;
        spec.uid = spec.gid = uid;
        spec.flags = flags;
        auto c = vol_->create_file(spec);
        ASSERT_TRUE(c) << relpath << ": " << (c ? "" : c.error().message);
    }

    Server& server(bool server_checks) {
        ServerOptions o;
        o.device = dev_->path();
        o.mountpoint = "/nowhere";
        o.default_permissions = !server_checks;
        auto s = Server::open(o);
        EXPECT_TRUE(s) << (s ? "" : s.error().message);
        server_ = std::move(s.value());
        return *server_;
    }

    // check_access on a path ("" is the root).
    int access(const Server& s, const Caller& c, const std::string& relpath, int want) {
        auto rd = s.read_tree();
        const Node* n = relpath.empty() ? &s.tree().root() : s.tree().lookup(relpath);
        EXPECT_TRUE(n) << relpath;
        return n ? check_access(s, c, Inode{n, std::nullopt}, want) : ENOENT;
    }

    std::unique_ptr<test::ShmFile> dev_;
    std::unique_ptr<Volume> vol_;
    std::unique_ptr<Server> server_;
};

TEST_F(ServerPermissionsTest, WithMinusPTheServerChecksEveryDirectoryOnTheWay) {
    const Server& s = server(true);
    EXPECT_TRUE(server_checks_permissions(s));
    const Caller nobody = user(65534, 65534), owner = user(1000, 1000), root = user(0, 0);
    EXPECT_EQ(access(s, nobody, "secret", kMayExec), EACCES);
    EXPECT_EQ(access(s, nobody, "secret/inside", 0), EACCES) << "the 0700 directory above";
    EXPECT_EQ(access(s, nobody, "secret/inside", kMayRead), EACCES);
    EXPECT_EQ(access(s, root, "secret/inside", kMayRead | kMayWrite), 0);
    EXPECT_EQ(access(s, nobody, "pub/mine", kMayRead), EACCES);
    EXPECT_EQ(access(s, owner, "pub/mine", kMayRead | kMayWrite), 0);
    EXPECT_EQ(access(s, nobody, "", kMayRead | kMayExec), 0);
    EXPECT_EQ(access(s, nobody, "", kMayWrite), EACCES);
    // .meta: the log and the superblock are root's, .control takes root's
    // writes only, .status is everyone's to read.
    auto rd = s.read_tree();
    const auto meta = [&](MetaFile m, const Caller& c, int want) {
        return check_access(s, c, Inode{nullptr, m}, want);
    };
    EXPECT_EQ(meta(MetaFile::kLog, nobody, kMayRead), EACCES);
    EXPECT_EQ(meta(MetaFile::kSuperblock, nobody, kMayRead), EACCES);
    EXPECT_EQ(meta(MetaFile::kControl, nobody, kMayWrite), EACCES);
    EXPECT_EQ(meta(MetaFile::kStatus, nobody, kMayRead), 0);
    EXPECT_EQ(meta(MetaFile::kLog, root, kMayRead), 0);
    EXPECT_EQ(meta(MetaFile::kControl, root, kMayWrite), 0);
}

TEST_F(ServerPermissionsTest, UnderDefaultPermissionsTheKernelDecides) {
    const Server& s = server(false);
    EXPECT_FALSE(server_checks_permissions(s));
    EXPECT_EQ(access(s, user(65534, 65534), "secret/inside", kMayRead), 0);
    const std::string text = s.status_text();
    EXPECT_NE(text.find("\npermissions: kernel (default_permissions"), std::string::npos) << text;
    EXPECT_NE(text.find("\nallow_other: yes\n"), std::string::npos) << text;
}

TEST_F(ServerPermissionsTest, MetaModesAndReadOnlyFilesShowNoMoreThanIsGranted) {
    const Server& s = server(true);
    auto rd = s.read_tree();
    EXPECT_EQ(attributes(s, Inode{nullptr, MetaFile::kLog}).st_mode, mode_t(S_IFREG | 0400));
    EXPECT_EQ(attributes(s, Inode{nullptr, MetaFile::kSuperblock}).st_mode, mode_t(S_IFREG | 0400));
    EXPECT_EQ(attributes(s, Inode{nullptr, MetaFile::kControl}).st_mode, mode_t(S_IFREG | 0200));
    const Node* frozen = s.tree().lookup("pub/frozen");
    ASSERT_TRUE(frozen);
    EXPECT_EQ(attributes(s, Inode{frozen, std::nullopt}).st_mode, mode_t(S_IFREG | 0444))
        << "logged 0666 but read-only for all hosts";
    const std::string text = s.status_text();
    EXPECT_NE(text.find("\npermissions: server (-p"), std::string::npos) << text;
}

TEST_F(ServerPermissionsTest, TheStatusTextNamesFilesToRootOnly) {
    Server& s = server(false);
    // Poison in a file inside the 0700 directory: root's status names it.
    uint64_t at = 0;
    {
        auto rd = s.read_tree();
        const Node* n = s.tree().lookup("secret/inside");
        ASSERT_TRUE(n);
        at = n->file.extents.at(0).offset;
    }
    s.add_poison({at, 0x40});
    const std::string root_text = s.status_text(true);
    const std::string other_text = s.status_text(false);
    EXPECT_NE(root_text.find("/secret/inside"), std::string::npos) << root_text;
    EXPECT_EQ(other_text.find("secret"), std::string::npos) << other_text;
    EXPECT_NE(other_text.find("1 file (named to root only)"), std::string::npos) << other_text;
    EXPECT_NE(other_text.find("\nfile_names: hidden (shown to root only)\n"), std::string::npos)
        << other_text;
    EXPECT_NE(root_text.find("\nfile_names: shown (root)\n"), std::string::npos) << root_text;
}

}  // namespace
}  // namespace famfs::fused
