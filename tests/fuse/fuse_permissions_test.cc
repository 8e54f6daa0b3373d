// Who may do what through a mount. A mount by default leaves the checks to
// the kernel (default_permissions); famfs_fused -p makes them itself. The
// matrix runs the same accesses as several users against both kinds of
// mount of one device and wants identical answers. Files logged read-only
// for all hosts refuse writes to everyone, root included, on every host.
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "famfs/dax.h"
#include "fuse_fixture.h"

namespace famfs::fusetest {
namespace {

// 0 or the errno of a call that returned -1.
int result(int rc) {
    return rc < 0 ? errno : 0;
}

int try_open(const std::string& p, int flags) {
    const int fd = open(p.c_str(), flags);
    if (fd < 0) return errno;
    close(fd);
    return 0;
}

int try_mmap_write(const std::string& p) {
    const int fd = open(p.c_str(), O_RDWR);
    if (fd < 0) return errno;
    void* m = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    const int err = m == MAP_FAILED ? errno : 0;
    if (m != MAP_FAILED) munmap(m, 4096);
    close(fd);
    return err;
}

int try_readdir(const std::string& p) {
    return list_dir(p).empty() ? (errno ? errno : ENOENT) : 0;
}

int try_stat(const std::string& p) {
    struct stat st {};
    return result(stat(p.c_str(), &st));
}

struct Probe {
    std::string what;  // path relative to the mount, and the access
    std::function<int(const std::string& mnt)> run;
};

class PermissionMatrixTest : public FuseTest {
  protected:
    void file(const std::string& relpath, uint32_t mode, uint32_t uid, uint32_t gid,
              uint32_t flags = omf::kFileFlagsAllRW) {
        CreateSpec spec;
        spec.relpath = relpath;
        spec.size = 4096;
        spec.mode = mode;
        spec.uid = uid;
        spec.gid = gid;
        spec.flags = flags;
        auto c = volume().create_file(spec);
        ASSERT_TRUE(c) << relpath << ": " << (c ? "" : c.error().message);
        auto map = dax::FileMapping::from_entry(volume().shared_device(), c->file);
        ASSERT_TRUE(map);
        // The creator fills even a read-only file, through the memory itself.
        for (const auto& seg : map->segments()) std::fill(seg.bytes.begin(), seg.bytes.end(), 'x');
    }
    void dir(const std::string& relpath, uint32_t mode, uint32_t uid, uint32_t gid) {
        auto st = volume().mkdir(relpath, mode, uid, gid, false);
        ASSERT_TRUE(st) << relpath << ": " << (st ? "" : st.error().message);
    }
};

TEST_F(PermissionMatrixTest, MinusPGrantsExactlyWhatDefaultPermissionsGrants) {
    struct Owned {
        uint32_t mode, uid, gid;
    };
    const std::vector<Owned> dirs{{0755, 0, 0},       {0700, 0, 0},        {0711, 0, 0},
                                  {0744, 0, 0},       {0750, 0, 2000},     {0705, 1234, 1234},
                                  {0770, 1234, 2000}, {0701, 65534, 65534}};
    const std::vector<Owned> files{{0644, 0, 0},        {0600, 0, 0},       {0640, 0, 2000},
                                   {0604, 0, 0},        {0666, 0, 0},       {0400, 1234, 1234},
                                   {0200, 1234, 1234},  {0060, 1234, 2000}, {0006, 65534, 0},
                                   {0460, 65534, 2000}, {0000, 0, 0},       {0755, 0, 0},
                                   {0606, 1234, 2000}};
    std::vector<Probe> probes;
    const auto add = [&](const std::string& rel, const char* op,
                         std::function<int(const std::string&)> fn) {
        probes.push_back({rel + " " + op, [rel, fn](const std::string& mnt) {
                              errno = 0;
                              return fn(mnt + "/" + rel);
                          }});
    };
    const auto add_file_probes = [&](const std::string& rel) {
        add(rel, "stat", try_stat);
        add(rel, "open O_RDONLY", [](const std::string& p) { return try_open(p, O_RDONLY); });
        add(rel, "open O_WRONLY", [](const std::string& p) { return try_open(p, O_WRONLY); });
        add(rel, "open O_RDWR", [](const std::string& p) { return try_open(p, O_RDWR); });
        add(rel, "mmap shared writable", try_mmap_write);
        for (int mask : {R_OK, W_OK, X_OK}) {
            add(rel,
                mask == R_OK   ? "access R_OK"
                : mask == W_OK ? "access W_OK"
                               : "access X_OK",
                [mask](const std::string& p) { return result(access(p.c_str(), mask)); });
        }
    };
    for (size_t d = 0; d < dirs.size(); d++) {
        const std::string dname = "d" + std::to_string(d);
        dir(dname, dirs[d].mode, dirs[d].uid, dirs[d].gid);
        add(dname, "stat", try_stat);
        add(dname, "readdir", try_readdir);
        add(dname, "chdir", [](const std::string& p) { return result(chdir(p.c_str())); });
        for (int mask : {R_OK, W_OK, X_OK}) {
            add(dname,
                mask == R_OK   ? "access R_OK"
                : mask == W_OK ? "access W_OK"
                               : "access X_OK",
                [mask](const std::string& p) { return result(access(p.c_str(), mask)); });
        }
        for (size_t f = 0; f < files.size(); f++) {
            const std::string fname = dname + "/f" + std::to_string(f);
            file(fname, files[f].mode, files[f].uid, files[f].gid);
            add_file_probes(fname);
        }
    }
    // Logged read-only for all hosts: no writer at all, whatever the mode.
    file("d0/frozen", 0666, 0, 0, omf::kFileFlagsAllRO);
    file("d0/frozen_mine", 0600, 1234, 1234, omf::kFileFlagsAllRO);
    add_file_probes("d0/frozen");
    add_file_probes("d0/frozen_mine");
    // .meta: the log and the superblock are root's; .control takes root's
    // writes only; the status is everyone's (without file names).
    for (const char* m :
         {".meta", ".meta/.log", ".meta/.superblock", ".meta/.status", ".meta/.control"}) {
        add(m, "stat", try_stat);
    }
    add(".meta", "readdir", try_readdir);
    add(".meta/.log", "open O_RDONLY", [](const std::string& p) { return try_open(p, O_RDONLY); });
    add(".meta/.superblock", "open O_RDONLY",
        [](const std::string& p) { return try_open(p, O_RDONLY); });
    add(".meta/.status", "open O_RDONLY",
        [](const std::string& p) { return try_open(p, O_RDONLY); });
    add(".meta/.control", "open O_WRONLY",
        [](const std::string& p) { return try_open(p, O_WRONLY); });
    add("", "getxattr user.famfs.status", [](const std::string& p) {
        char buf[1];
        return result(static_cast<int>(getxattr(p.c_str(), "user.famfs.status", buf, 0)));
    });

    Host& kernel = start_master();
    Host& server = start_client("minus-p", {"-p"});
    EXPECT_EQ(status_field(kernel, "permissions").rfind("kernel", 0), 0u);
    EXPECT_EQ(status_field(server, "permissions").rfind("server", 0), 0u);

    const std::vector<Identity> users{{"uid 65534", 65534, 65534, {}},
                                      {"uid 1234 (+group 2000)", 1234, 1234, {2000}},
                                      {"uid 4321 (group 2000)", 4321, 2000, {}},
                                      {"uid 1234 (no groups)", 1234, 1234, {}},
                                      {"root", 0, 0, {}}};
    const auto run_all = [&](const std::string& mnt) {
        return [&probes, mnt] {
            std::vector<int> out;
            for (const Probe& p : probes) out.push_back(p.run(mnt));
            return out;
        };
    };
    size_t compared = 0, granted = 0;
    for (const Identity& who : users) {
        std::string failure;
        const std::vector<int> by_kernel =
            run_as(nullptr, who, run_all(kernel.mountpoint()), &failure);
        const std::vector<int> by_server =
            run_as(&server, who, run_all(server.mountpoint()), &failure);
        ASSERT_EQ(failure, "");
        ASSERT_EQ(by_kernel.size(), probes.size()) << who.name;
        ASSERT_EQ(by_server.size(), probes.size()) << who.name;
        for (size_t i = 0; i < probes.size(); i++) {
            EXPECT_EQ(by_server[i], by_kernel[i])
                << who.name << ": " << probes[i].what << ": -p says " << std::strerror(by_server[i])
                << ", default_permissions says " << std::strerror(by_kernel[i]);
            compared++;
            granted += by_kernel[i] == 0 ? 1 : 0;
        }
    }
    // Both outcomes must be well represented for the comparison to mean much.
    EXPECT_GT(granted, compared / 5);
    EXPECT_LT(granted, compared * 4 / 5);
    std::printf("permission matrix: %zu accesses compared (%zu probes x %zu users), %zu granted\n",
                compared, probes.size(), users.size(), granted);

    // Spot checks of what the matrix compared.
    const Identity nobody{"uid 65534", 65534, 65534, {}};
    std::string failure;
    const auto nobody_sees = run_as(
        &server, nobody,
        [&] {
            const std::string m = server.mountpoint();
            return std::vector<int>{
                try_open(m + "/d1/f0", O_RDONLY),          try_stat(m + "/d1/f0"),
                try_open(m + "/d0/f1", O_RDONLY),          try_open(m + "/d0/f4", O_RDWR),
                try_open(m + "/.meta/.control", O_WRONLY), try_open(m + "/.meta/.log", O_RDONLY)};
        },
        &failure);
    EXPECT_EQ(nobody_sees, (std::vector<int>{EACCES, EACCES, EACCES, 0, EACCES, EACCES}));
}

TEST_F(PermissionMatrixTest, AFileLoggedReadOnlyIsWrittenByNobodyOnAnyHost) {
    file("frozen", 0666, 0, 0, omf::kFileFlagsAllRO);
    const std::vector<uint8_t> before = direct_read("frozen");
    Host& master = start_master();
    Host& client = start_client("b");
    Host& checked = start_client("c", {"-p"});
    for (Host* h : {&master, &client, &checked}) {
        const std::string p = h->path("frozen");
        EXPECT_EQ(try_open(p, O_WRONLY), EROFS) << h->mountpoint();
        EXPECT_EQ(try_open(p, O_RDWR), EROFS) << h->mountpoint();
        EXPECT_EQ(try_open(p, O_RDONLY | O_TRUNC), EROFS) << h->mountpoint();
        EXPECT_EQ(try_mmap_write(p), EROFS) << h->mountpoint();
        EXPECT_EQ(try_open(p, O_RDONLY), 0) << h->mountpoint();
        struct stat st {};
        ASSERT_EQ(stat(p.c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 07777, 0444u) << "no write bits are shown";
        EXPECT_EQ(read_file(p), before);
    }
    // The direct-access API refuses it too.
    auto w = dax::FileMapping::open(device(), "frozen", Access::kReadWrite);
    ASSERT_FALSE(w);
    EXPECT_EQ(w.error().code, EROFS);
    EXPECT_EQ(direct_read("frozen"), before);
}

TEST_F(PermissionMatrixTest, OnlyRootControlsTheServerAndReadsFileNames) {
    dir("secret", 0700, 0, 0);
    file("secret/hidden-name", 0600, 0, 0);
    Host& master = start_master();
    const Identity nobody{"uid 65534", 65534, 65534, {}};
    constexpr const char* kHidden = "\nfile_names: hidden (shown to root only)\n";
    std::string failure;
    const auto r = run_as(
        nullptr, nobody,
        [&] {
            const std::string m = master.mountpoint();
            // notify-failure would fail every open on this host for everyone.
            const int fd = open((m + "/.meta/.control").c_str(), O_WRONLY);
            const int control = fd < 0 ? errno : 0;
            if (fd >= 0) {
                (void)!write(fd, "notify-failure by nobody", 24);
                close(fd);
            }
            const auto st = read_file(m + "/.meta/.status");
            const std::string status(st.begin(), st.end());
            char buf[16384];
            const ssize_t n = getxattr(m.c_str(), "user.famfs.status", buf, sizeof(buf));
            const std::string xattr(buf, n > 0 ? size_t(n) : 0);
            return std::vector<int>{control, status.find(kHidden) != std::string::npos,
                                    xattr.find(kHidden) != std::string::npos};
        },
        &failure);
    EXPECT_EQ(failure, "");
    EXPECT_EQ(r, (std::vector<int>{EACCES, 1, 1}));
    EXPECT_EQ(status_field(master, "device_failed"), "no");
    EXPECT_EQ(status_field(master, "file_names"), "shown (root)");
    EXPECT_EQ(try_open(master.path("secret/hidden-name"), O_RDONLY), 0) << "root still reads";
    EXPECT_EQ(write_file(master.path(".meta/.control"), {'c', 'a', 't', 'c', 'h', 'u', 'p'}), 0)
        << "root still controls";
}

}  // namespace
}  // namespace famfs::fusetest
