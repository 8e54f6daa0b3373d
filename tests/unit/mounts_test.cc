// Mount-table parsing and resolving paths (existing or not) to a famfs mount.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "famfs/mounts.h"

namespace famfs {
namespace {

namespace fs = std::filesystem;

TEST(MountTable, KeepsOnlyFamfsAndUnescapesNames) {
    const std::string table =
        "proc /proc proc rw,nosuid 0 0\n"
        "/dev/dax0.0 /mnt/famfs fuse.famfs rw,nosuid,nodev 0 0\n"
        "/dev/shm/my\\040dev /mnt/with\\040space\\134x fuse.famfs rw 0 0\n"
        "/dev/dax1.0 /mnt/other fuse.sshfs rw 0 0\n"
        "tmpfs /dev/shm tmpfs rw 0 0";
    const auto m = parse_famfs_mounts(table);
    ASSERT_EQ(m.size(), 2u);
    EXPECT_EQ(m[0].device, "/dev/dax0.0");
    EXPECT_EQ(m[0].mountpoint, "/mnt/famfs");
    EXPECT_EQ(m[1].device, "/dev/shm/my dev");
    EXPECT_EQ(m[1].mountpoint, "/mnt/with space\\x");
    EXPECT_TRUE(parse_famfs_mounts("").empty());
}

struct ResolveFixture : ::testing::Test {
    fs::path root = fs::temp_directory_path() / ("famfs-mounts-" + std::to_string(getpid()));
    std::vector<MountInfo> mounts;
    void SetUp() override {
        fs::create_directories(root / "mnt" / "sub" / "inner");
        fs::create_directories(root / "elsewhere");
        fs::create_symlink(root / "mnt", root / "link");
        const std::string canon = fs::canonical(root).string();
        mounts = {{"/dev/a", canon + "/mnt"}, {"/dev/b", canon + "/mnt/sub/inner"}};
    }
    void TearDown() override { fs::remove_all(root); }
    std::string rel(const std::string& path) {
        auto r = resolve_in_mount(path, mounts);
        EXPECT_TRUE(r.ok()) << path << ": " << (r.ok() ? "" : r.error().message);
        return r.ok() ? r->mount.device + ":" + r->relpath : "";
    }
};

TEST_F(ResolveFixture, ExistingAndNotYetExistingPaths) {
    const std::string r = root.string();
    EXPECT_EQ(rel(r + "/mnt"), "/dev/a:");
    EXPECT_EQ(rel(r + "/mnt/"), "/dev/a:");
    EXPECT_EQ(rel(r + "/mnt/sub"), "/dev/a:sub");
    EXPECT_EQ(rel(r + "/mnt/newfile"), "/dev/a:newfile");
    EXPECT_EQ(rel(r + "/mnt/new/dir/file"), "/dev/a:new/dir/file");
    EXPECT_EQ(rel(r + "/mnt/./sub//x"), "/dev/a:sub/x");
    EXPECT_EQ(rel(r + "/mnt/sub/../y"), "/dev/a:y");
    EXPECT_EQ(rel(r + "/mnt/nothere/../z"), "/dev/a:z");
    EXPECT_EQ(rel(r + "/link/sub/f"), "/dev/a:sub/f") << "symlinks resolve";
    EXPECT_EQ(rel(r + "/mnt/sub/inner/f"), "/dev/b:f") << "the innermost mount wins";
}

TEST_F(ResolveFixture, RelativePathsUseTheWorkingDirectory) {
    const auto cwd = fs::current_path();
    fs::current_path(root / "mnt" / "sub");
    EXPECT_EQ(rel("x"), "/dev/a:sub/x");
    EXPECT_EQ(rel("../y"), "/dev/a:y");
    fs::current_path(cwd);
}

TEST_F(ResolveFixture, OutsideEveryMountIsENOENT) {
    const std::vector<std::string> outside = {root.string() + "/elsewhere/x",
                                              root.string() + "/mntx", root.string() + "/mnt/../x"};
    for (const std::string& p : outside) {
        auto r = resolve_in_mount(p, mounts);
        ASSERT_FALSE(r.ok()) << p;
        EXPECT_EQ(r.error().code, ENOENT);
        EXPECT_NE(r.error().message.find(p), std::string::npos);
    }
    EXPECT_FALSE(resolve_in_mount("", mounts).ok());
}

}  // namespace
}  // namespace famfs
