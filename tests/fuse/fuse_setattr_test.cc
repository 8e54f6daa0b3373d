// chmod, chown and utimes through a mount: accepted as the reference daemon
// accepts them, kept in memory on that host only (never logged, forgotten
// at remount), with the answers a native file system gives; sizes stay
// what the log says.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "fuse_fixture.h"

namespace famfs::fusetest {
namespace {

int result(int rc) {
    return rc < 0 ? errno : 0;
}

struct Seen {
    mode_t mode = 0;
    uid_t uid = 0;
    gid_t gid = 0;
    timespec atime{}, mtime{};
    off_t size = 0;
};

Seen seen(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(stat(path.c_str(), &st), 0) << path << ": " << std::strerror(errno);
    return Seen{st.st_mode, st.st_uid, st.st_gid, st.st_atim, st.st_mtim, st.st_size};
}

// Times too once both have been set (`times`), atime too (`atime`).
void expect_same(const Seen& famfs, const Seen& native, const std::string& what, bool times = true,
                 bool atime = true) {
    EXPECT_EQ(famfs.mode, native.mode) << what;
    EXPECT_EQ(famfs.uid, native.uid) << what;
    EXPECT_EQ(famfs.gid, native.gid) << what;
    if (!times) return;
    EXPECT_EQ(famfs.mtime.tv_sec, native.mtime.tv_sec) << what;
    EXPECT_EQ(famfs.mtime.tv_nsec, native.mtime.tv_nsec) << what;
    if (!atime) return;
    EXPECT_EQ(famfs.atime.tv_sec, native.atime.tv_sec) << what;
    EXPECT_EQ(famfs.atime.tv_nsec, native.atime.tv_nsec) << what;
}

// The same change applied to a famfs path and a local one.
using Change = std::function<int(const std::string& path)>;

class SetattrTest : public FuseTest {
  protected:
    void SetUp() override {
        FuseTest::SetUp();
        create("f", 3 * omf::kMiB, 0644, 21);
        mkdir("d", 0755);
        native_file_ = scratch_.dir() + "/native-f";
        native_dir_ = scratch_.dir() + "/native-d";
        std::ofstream(native_file_) << "x";
        ASSERT_EQ(chmod(native_file_.c_str(), 0644), 0);
        ASSERT_EQ(::mkdir(native_dir_.c_str(), 0755), 0);
    }
    std::string native_file_, native_dir_;
};

TEST_F(SetattrTest, ChmodChownAndUtimesAnswerAsANativeFileSystem) {
    Host& h = start_master();
    const auto before = metadata_bytes();
    const timespec explicit_times[2] = {{1000000000, 123456789}, {1200000000, 987654321}};
    const timespec only_mtime[2] = {{0, UTIME_OMIT}, {1300000000, 5}};
    const std::vector<std::pair<std::string, Change>> changes{
        {"utimensat explicit",
         [&](const std::string& p) {
             return result(utimensat(AT_FDCWD, p.c_str(), explicit_times, 0));
         }},
        {"chmod 0640", [](const std::string& p) { return result(chmod(p.c_str(), 0640)); }},
        {"chmod 04711", [](const std::string& p) { return result(chmod(p.c_str(), 04711)); }},
        {"chown 123:456", [](const std::string& p) { return result(chown(p.c_str(), 123, 456)); }},
        {"chgrp 789", [](const std::string& p) { return result(chown(p.c_str(), -1, 789)); }},
        {"utimensat mtime only",
         [&](const std::string& p) {
             return result(utimensat(AT_FDCWD, p.c_str(), only_mtime, 0));
         }},
        {"chmod 0755", [](const std::string& p) { return result(chmod(p.c_str(), 0755)); }},
    };
    for (const auto& [what, change] : changes) {
        for (const auto& [famfs, native] :
             {std::pair{h.path("f"), native_file_}, std::pair{h.path("d"), native_dir_}}) {
            EXPECT_EQ(change(famfs), change(native)) << what << " " << famfs;
            expect_same(seen(famfs), seen(native), what + " " + famfs);
        }
    }
    // Times set to "now" land between the moments around the call.
    timespec t0{}, t1{};
    clock_gettime(CLOCK_REALTIME, &t0);
    ASSERT_EQ(utimensat(AT_FDCWD, h.path("f").c_str(), nullptr, 0), 0);
    clock_gettime(CLOCK_REALTIME, &t1);
    const Seen now = seen(h.path("f"));
    EXPECT_GE(now.mtime.tv_sec, t0.tv_sec);
    EXPECT_LE(now.mtime.tv_sec, t1.tv_sec);
    // In memory only: the log and the superblock did not change.
    EXPECT_EQ(metadata_bytes(), before);
    EXPECT_EQ(read_file(h.path("f")), pattern(21, 3 * omf::kMiB));
}

TEST_F(SetattrTest, SizesStayWhatTheLogSays) {
    Host& m = start_master();
    Host& c = start_client("c");
    const auto before = metadata_bytes();
    EXPECT_EQ(result(truncate(m.path("f").c_str(), 5 * omf::kMiB)), EOPNOTSUPP);
    EXPECT_EQ(result(truncate(m.path("f").c_str(), 0)), EOPNOTSUPP);
    EXPECT_EQ(result(truncate(c.path("f").c_str(), omf::kMiB)), EROFS);
    // O_TRUNC would empty the file: refused too.
    EXPECT_EQ(result(open(m.path("f").c_str(), O_WRONLY | O_TRUNC)), EOPNOTSUPP);
    // The size it already has is no change.
    EXPECT_EQ(result(truncate(m.path("f").c_str(), 3 * omf::kMiB)), 0);
    EXPECT_EQ(seen(m.path("f")).size, 3 * static_cast<off_t>(omf::kMiB));
    EXPECT_EQ(read_file(m.path("f")), pattern(21, 3 * omf::kMiB));
    EXPECT_EQ(metadata_bytes(), before);
}

TEST_F(SetattrTest, ChangesStayOnTheirHostAndVanishOnRemount) {
    Host& m = start_master();
    Host& c = start_client("c");
    ASSERT_EQ(chmod(m.path("f").c_str(), 0600), 0);
    ASSERT_EQ(chown(m.path("f").c_str(), 42, 43), 0);
    EXPECT_EQ(seen(m.path("f")).mode, S_IFREG | 0600);
    // Another host keeps what the log says, and may change its own view.
    EXPECT_EQ(seen(c.path("f")).mode, S_IFREG | 0644);
    EXPECT_EQ(seen(c.path("f")).uid, 0u);
    ASSERT_EQ(chmod(c.path("f").c_str(), 0444), 0);
    EXPECT_EQ(seen(c.path("f")).mode, S_IFREG | 0444);
    EXPECT_EQ(seen(m.path("f")).mode, S_IFREG | 0600);

    m.unmount();
    ASSERT_EQ(m.mount(device()), "");
    const Seen again = seen(m.path("f"));
    EXPECT_EQ(again.mode, S_IFREG | 0644);
    EXPECT_EQ(again.uid, 0u);
    EXPECT_EQ(again.gid, 0u);
}

TEST_F(SetattrTest, CpPreservingAttributesAndTarExtractWork) {
    Host& h = start_master();
    std::string out;
    // cp -p's attributes onto a famfs file (its data would change its size).
    ASSERT_EQ(chmod(native_file_.c_str(), 0640), 0);
    ASSERT_EQ(chown(native_file_.c_str(), 7, 8), 0);
    const timespec t[2] = {{1500000000, 0}, {1500000001, 0}};
    ASSERT_EQ(utimensat(AT_FDCWD, native_file_.c_str(), t, 0), 0);
    ASSERT_EQ(h.run("cp --attributes-only -p " + native_file_ + " " + h.path("f"), &out), 0) << out;
    Seen f = seen(h.path("f"));
    EXPECT_EQ(f.mode, S_IFREG | 0640);
    EXPECT_EQ(f.uid, 7u);
    EXPECT_EQ(f.gid, 8u);
    EXPECT_EQ(f.mtime.tv_sec, 1500000001);
    EXPECT_EQ(f.size, 3 * static_cast<off_t>(omf::kMiB));

    // tar restores a directory's mode, owner and time over the famfs one.
    const std::string src = scratch_.dir() + "/tar-src";
    ASSERT_EQ(h.run("mkdir -p " + src + "/d && chmod 0711 " + src + "/d && chown 5:6 " + src +
                        "/d && touch -d 2018-03-03T00:00:00Z " + src + "/d && tar -C " + src +
                        " -cf " + scratch_.dir() + "/t.tar d && tar -C " + h.path() + " -xpf " +
                        scratch_.dir() + "/t.tar",
                    &out),
              0)
        << out;
    // tar sets the access time to the time of extraction.
    expect_same(seen(h.path("d")), seen(src + "/d"), "tar -xp of d", true, false);
}

// With -p the server applies POSIX's rules itself; the kernel applies them
// for a default_permissions mount. Both answer alike.
TEST_F(SetattrTest, MinusPAppliesThePosixRulesAsTheKernelDoes) {
    create("mine", omf::kMiB, 0644);
    CreateSpec spec;
    spec.relpath = "nobodys";
    spec.size = omf::kMiB;
    spec.mode = 0644;
    spec.uid = spec.gid = 65534;
    ASSERT_TRUE(volume().create_file(spec));
    create("shared", omf::kMiB, 0666);
    Host& kernel = start_master();
    Host& server = start_client("minus-p", {"-p"});
    const timespec explicit_times[2] = {{1000000000, 0}, {1000000000, 0}};
    const std::vector<std::pair<std::string, Change>> probes{
        {"chmod mine",
         [](const std::string& m) { return result(chmod((m + "/mine").c_str(), 0600)); }},
        {"chmod nobodys",
         [](const std::string& m) { return result(chmod((m + "/nobodys").c_str(), 0600)); }},
        {"chown nobodys to root",
         [](const std::string& m) { return result(chown((m + "/nobodys").c_str(), 0, -1)); }},
        {"chown nobodys to itself",
         [](const std::string& m) { return result(chown((m + "/nobodys").c_str(), 65534, -1)); }},
        {"chgrp nobodys to root's group",
         [](const std::string& m) { return result(chown((m + "/nobodys").c_str(), -1, 0)); }},
        {"chgrp nobodys to its own group",
         [](const std::string& m) { return result(chown((m + "/nobodys").c_str(), -1, 65534)); }},
        {"utimes mine explicit",
         [&](const std::string& m) {
             return result(utimensat(AT_FDCWD, (m + "/mine").c_str(), explicit_times, 0));
         }},
        {"utimes mine now",
         [](const std::string& m) {
             return result(utimensat(AT_FDCWD, (m + "/mine").c_str(), nullptr, 0));
         }},
        {"utimes shared now",
         [](const std::string& m) {
             return result(utimensat(AT_FDCWD, (m + "/shared").c_str(), nullptr, 0));
         }},
        {"utimes shared explicit",
         [&](const std::string& m) {
             return result(utimensat(AT_FDCWD, (m + "/shared").c_str(), explicit_times, 0));
         }},
    };
    const auto run_all = [&](const std::string& mnt) {
        return [&probes, mnt] {
            std::vector<int> out;
            for (const auto& p : probes) out.push_back(p.second(mnt));
            return out;
        };
    };
    const Identity nobody{"uid 65534", 65534, 65534, {}};
    std::string failure;
    const auto by_kernel = run_as(nullptr, nobody, run_all(kernel.mountpoint()), &failure);
    const auto by_server = run_as(&server, nobody, run_all(server.mountpoint()), &failure);
    ASSERT_EQ(failure, "");
    ASSERT_EQ(by_kernel.size(), probes.size());
    ASSERT_EQ(by_server.size(), probes.size());
    const std::vector<int> posix{EPERM, 0, EPERM, 0, EPERM, 0, EPERM, EACCES, 0, EPERM};
    for (size_t i = 0; i < probes.size(); i++) {
        EXPECT_EQ(by_kernel[i], posix[i]) << probes[i].first << ": " << std::strerror(by_kernel[i]);
        EXPECT_EQ(by_server[i], posix[i]) << probes[i].first << ": " << std::strerror(by_server[i]);
    }
    EXPECT_EQ(seen(server.path("nobodys")).mode, S_IFREG | 0600);
    EXPECT_EQ(seen(server.path("mine")).mode, S_IFREG | 0644);
}

}  // namespace
}  // namespace famfs::fusetest
