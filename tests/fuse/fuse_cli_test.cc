// The famfs CLI through the mounts: commands on paths inside a mount, and
// the mount, umount, status and logplay commands themselves.
#include <sys/mount.h>
#include <sys/stat.h>

#include <cstdio>
#include <sstream>

#include "fuse_fixture.h"

namespace famfs::fusetest {
namespace {

TEST_F(FuseTest, CliChangesOnTheMasterShowAtOnceThereAndOnClientsByFollowing) {
    Host& a = start_master();
    Host& b = start_client("b");
    std::string out;
    ASSERT_EQ(a.run(cli_bin() + " mkdir " + a.path("dir"), &out), 0) << out;
    ASSERT_EQ(a.run(cli_bin() + " creat -s 3M -r -S 5 " + a.path("dir/new"), &out), 0) << out;
    struct stat st {};
    ASSERT_EQ(stat(a.path("dir/new").c_str(), &st), 0);
    EXPECT_EQ(st.st_size, 3 * 1024 * 1024);
    EXPECT_EQ(read_file(a.path("dir/new")), pattern(5, 3 * omf::kMiB));
    EXPECT_EQ(direct_read("dir/new"), pattern(5, 3 * omf::kMiB));

    // cp from a local file: the bytes arrive exactly.
    const std::string local = scratch_.dir() + "/local.bin";
    {
        const auto bytes = pattern(77, 3 * omf::kMiB + 17);
        FILE* f = fopen(local.c_str(), "wb");
        ASSERT_NE(f, nullptr);
        ASSERT_EQ(fwrite(bytes.data(), 1, bytes.size(), f), bytes.size());
        fclose(f);
    }
    ASSERT_EQ(a.run(cli_bin() + " cp " + local + " " + a.path("dir/copied"), &out), 0) << out;
    EXPECT_EQ(read_file(a.path("dir/copied")), pattern(77, 3 * omf::kMiB + 17));
    EXPECT_EQ(direct_read("dir/copied"), pattern(77, 3 * omf::kMiB + 17));

    ASSERT_TRUE(wait_until(
        [&] {
            return list_dir(b.path()) == std::vector<std::string>{".meta", "dir"} ||
                   list_dir(b.path()) == std::vector<std::string>{"dir", ".meta"};
        },
        2000));
    EXPECT_EQ(b.run(cli_bin() + " verify -S 5 -f " + b.mountpoint() + "/dir/new", &out), 0) << out;
    EXPECT_EQ(read_file(b.path("dir/copied")), pattern(77, 3 * omf::kMiB + 17));
    // A client may not log anything.
    EXPECT_NE(b.run(cli_bin() + " creat -s 1M " + b.mountpoint() + "/dir/nope", &out), 0) << out;
    EXPECT_NE(stat(a.path("dir/nope").c_str(), &st), 0);
}

TEST_F(FuseTest, MountRefusesClashesAndExplainsWhy) {
    Host& a = start_master();
    std::string out;
    const std::string other = scratch_.dir() + "/other";
    ASSERT_EQ(a.run("mkdir -p " + other), 0);
    EXPECT_NE(a.run(cli_bin() + " mount " + device() + " " + other, &out), 0);
    EXPECT_NE(out.find("already mounted at " + a.mountpoint()), std::string::npos) << out;
    EXPECT_NE(a.run(cli_bin() + " mount " + device() + " " + a.mountpoint(), &out), 0);
    EXPECT_NE(out.find("already mounted"), std::string::npos) << out;
    EXPECT_NE(a.run(cli_bin() + " mount --nofuse " + device() + " " + other, &out), 0);
    EXPECT_NE(out.find("standalone famfs kernel module not available"), std::string::npos) << out;

    // The server holds the device's mount lock: mkfs must refuse it.
    EXPECT_NE(a.run(std::string(FAMFS_MKFS_BIN) + " -f --allow-small " + device(), &out), 0) << out;
    EXPECT_EQ(a.run(cli_bin() + " status " + a.mountpoint(), &out), 0) << out;

    test::ShmFile blank(64 * omf::kMiB);
    EXPECT_NE(a.run(cli_bin() + " mount " + blank.path() + " " + other, &out), 0);
    EXPECT_NE(out.find(blank.path()), std::string::npos) << out;
    struct stat st {
    }, parent{};
    ASSERT_EQ(stat(other.c_str(), &st), 0);
    ASSERT_EQ(stat(scratch_.dir().c_str(), &parent), 0);
    EXPECT_EQ(st.st_dev, parent.st_dev) << "nothing may be mounted on " << other;
}

TEST_F(FuseTest, StatusAndLogplayReportTheServersState) {
    create("one", 4096);
    // Without the follower, only logplay (or a lookup) brings new entries in.
    Host& a = start_master({"-n"});
    std::string out;
    ASSERT_EQ(a.run(cli_bin() + " status " + a.mountpoint(), &out), 0) << out;
    EXPECT_NE(out.find("role: master"), std::string::npos) << out;
    EXPECT_NE(out.find("device: " + device()), std::string::npos) << out;
    EXPECT_NE(out.find("entries_replayed: 1"), std::string::npos) << out;

    mkdir("later");
    create("later/two", 4096);
    ASSERT_EQ(a.run(cli_bin() + " logplay -n -v " + a.mountpoint(), &out), 0) << out;
    EXPECT_NE(out.find("would play 2 new entries (1 files, 1 directories)"), std::string::npos)
        << out;
    EXPECT_NE(out.find("would play log entry 2: file later/two (4096 bytes)"), std::string::npos)
        << out;
    EXPECT_EQ(list_dir(a.path()).size(), 2u) << "a dry run changes nothing";

    ASSERT_EQ(a.run(cli_bin() + " logplay -v " + a.mountpoint(), &out), 0) << out;
    EXPECT_NE(out.find("played 2 new entries (1 files, 1 directories); 3 entries in the log"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("played log entry 1: directory later"), std::string::npos) << out;
    EXPECT_EQ(list_dir(a.path()).size(), 3u);
    EXPECT_EQ(list_dir(a.path("later")), std::vector<std::string>{"two"});

    ASSERT_EQ(a.run(cli_bin() + " logplay " + a.mountpoint(), &out), 0) << out;
    EXPECT_NE(out.find("played 0 new entries"), std::string::npos) << out;
    EXPECT_NE(a.run(cli_bin() + " logplay " + scratch_.dir(), &out), 0);
    EXPECT_NE(out.find("not in a famfs mount"), std::string::npos) << out;
}

// DELETE entries (docs/delete.md) are named when logplay plays them.
TEST_F(FuseTest, LogplayNamesTheDeletesItPlays) {
    mkdir("d");
    create("d/f", 4096);
    // The first delete marks the superblock (version 49), which a server
    // mounted before it takes for a re-format: marked before the mount.
    create("gone", 4096);
    ASSERT_TRUE(volume().remove("gone", Volume::RemoveMode::kFile));
    Host& a = start_master({"-n"});
    std::string out;
    ASSERT_TRUE(volume().remove("d", Volume::RemoveMode::kRecursive));
    ASSERT_EQ(a.run(cli_bin() + " logplay -v " + a.mountpoint(), &out), 0) << out;
    EXPECT_NE(out.find("played 2 new entries (0 files, 0 directories, 2 deletes); 6 entries in "
                       "the log"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("played log entry 4: delete of file d/f (created by log entry 1)"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("played log entry 5: delete of directory d (created by log entry 0)"),
              std::string::npos)
        << out;
}

}  // namespace
}  // namespace famfs::fusetest

namespace famfs::fusetest {
namespace {

// The options a mount ends up with, from this namespace's mount table.
std::string mount_line(const std::string& mountpoint) {
    const auto bytes = read_file("/proc/self/mounts");
    std::istringstream in(std::string(bytes.begin(), bytes.end()));
    for (std::string line; std::getline(in, line);) {
        if (line.find(" " + mountpoint + " ") != std::string::npos) return line;
    }
    return "";
}

TEST_F(FuseTest, MountFlagsReachTheKernelAndUmountRemovesTheMount) {
    Host& a = start_master();
    const std::string line = mount_line(a.mountpoint());
    EXPECT_EQ(line.rfind(device() + " " + a.mountpoint() + " fuse.famfs ", 0), 0u) << line;
    EXPECT_NE(line.find("default_permissions"), std::string::npos) << line;
    EXPECT_NE(line.find("allow_other"), std::string::npos) << line;

    // A second device, mounted through the CLI with -u -p -t.
    test::ShmFile dev2(64 * omf::kMiB);
    MkfsOptions opt;
    opt.allow_small = true;
    ASSERT_TRUE(mkfs(dev2.path(), opt));
    const std::string mnt2 = scratch_.dir() + "/second";
    std::string out;
    ASSERT_EQ(a.run("mkdir -p " + mnt2), 0);
    struct DetachOnExit {
        std::string dir;
        ~DetachOnExit() { umount2(dir.c_str(), MNT_DETACH); }
    } cleanup{mnt2};
    ASSERT_EQ(a.run(cli_bin() + " mount -u -p -t 5 " + dev2.path() + " " + mnt2, &out), 0) << out;
    const std::string line2 = mount_line(mnt2);
    EXPECT_EQ(line2.rfind(dev2.path() + " " + mnt2 + " fuse.famfs ", 0), 0u) << line2;
    EXPECT_EQ(line2.find("default_permissions"), std::string::npos) << line2;
    EXPECT_EQ(line2.find("allow_other"), std::string::npos) << line2;
    ASSERT_EQ(a.run(cli_bin() + " status " + mnt2, &out), 0) << out;
    // Without default_permissions the server checks permissions itself.
    EXPECT_NE(out.find("permissions: server (-p"), std::string::npos) << out;
    EXPECT_NE(out.find("allow_other: no"), std::string::npos) << out;
    // Without a mountpoint, status reports every famfs mount. Its exit code
    // also answers for mounts this test does not own (a machine may hold a
    // dead one from elsewhere), so only the reports of ours are checked.
    a.run(cli_bin() + " status", &out);
    EXPECT_NE(out.find("mountpoint: " + mnt2), std::string::npos) << out;
    EXPECT_NE(out.find("permissions: kernel (default_permissions"), std::string::npos) << out;
    EXPECT_NE(out.find("mountpoint: " + a.mountpoint()), std::string::npos) << out;
    ASSERT_EQ(a.run(cli_bin() + " umount " + mnt2, &out), 0) << out;
    EXPECT_EQ(mount_line(mnt2), "");
    EXPECT_FALSE(DeviceLock::in_use(dev2.path()));
    EXPECT_NE(a.run(cli_bin() + " umount " + mnt2, &out), 0);
    EXPECT_NE(out.find("not a famfs mount point"), std::string::npos) << out;
}

}  // namespace
}  // namespace famfs::fusetest
