// The per-mount state directory: made fresh (0700) or given, and removed at
// the end only when the server made it.
#include "state_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace famfs::fused {
namespace {

mode_t mode_of(const std::string& p) {
    struct stat st {};
    return stat(p.c_str(), &st) == 0 ? st.st_mode : 0;
}

TEST(StateDir, AFreshOneIsPrivateAndGoesAtTheEnd) {
    std::string path;
    {
        auto d = StateDir::prepare("");
        ASSERT_TRUE(d) << d.error().message;
        path = d->path();
        EXPECT_EQ(path.rfind("/tmp/famfs_shadow_", 0), 0u) << path;
        EXPECT_EQ(mode_of(path), S_IFDIR | 0700);
        EXPECT_EQ(d->socket_path(), path + "/sock");
    }
    EXPECT_EQ(mode_of(path), 0u);
}

TEST(StateDir, AGivenOneIsMadeIfMissingAndKeptIfItExisted) {
    const std::string base = testing::TempDir() + "famfs_state_dir_test";
    std::filesystem::remove_all(base);
    std::filesystem::create_directories(base + "/kept");
    {
        auto made = StateDir::prepare(base + "/made/");
        ASSERT_TRUE(made) << made.error().message;
        EXPECT_EQ(made->path(), base + "/made");
        EXPECT_EQ(mode_of(base + "/made"), S_IFDIR | 0700);
        auto kept = StateDir::prepare(base + "/kept");
        ASSERT_TRUE(kept);
    }
    EXPECT_EQ(mode_of(base + "/made"), 0u);
    EXPECT_TRUE(S_ISDIR(mode_of(base + "/kept")));
    std::filesystem::remove_all(base);
}

TEST(StateDir, RefusalsNameThePathAndTheReason) {
    const std::string file = testing::TempDir() + "famfs_state_dir_file";
    std::ofstream(file) << "x";
    auto f = StateDir::prepare(file);
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().message, "state directory " + file + ": exists and is not a directory");
    std::filesystem::remove(file);
    auto m = StateDir::prepare("/nonexistent-parent-dir/state");
    ASSERT_FALSE(m);
    EXPECT_NE(m.error().message.find("/nonexistent-parent-dir/state: No such file"),
              std::string::npos)
        << m.error().message;
}

}  // namespace
}  // namespace famfs::fused
