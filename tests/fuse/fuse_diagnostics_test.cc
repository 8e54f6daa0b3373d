// famfs_fused's own command line (--help, --version, errors), the
// reference daemon's form (-o daxdev=...,shadow=... MOUNTPOINT), and the
// per-mount state directory with its diagnostics socket, queried with curl
// over the unix socket as the reference's smoke scripts query it.
#include <sys/stat.h>
#include <sys/xattr.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "famfs_version.h"
#include "fuse_fixture.h"

namespace famfs::fusetest {
namespace {

struct Output {
    int status = -1;  // exit status
    std::string text;
};

Output run_command(const std::string& cmd) {
    Output o;
    FILE* p = popen((cmd + " 2>&1").c_str(), "r");
    if (!p) return o;
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof(buf), p)) > 0;) o.text.append(buf, n);
    const int st = pclose(p);
    o.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return o;
}

// The state directory the mount root names, as the reference's
// famfs_shadow.sh finds it.
std::string shadow_of(const Host& h) {
    char buf[4096];
    const ssize_t n = getxattr(h.path().c_str(), "user.famfs.shadow", buf, sizeof(buf));
    return n < 0 ? "" : std::string(buf, static_cast<size_t>(n));
}

struct Http {
    int curl_status = -1;
    int code = 0;      // the HTTP status
    std::string body;  // with its own last newline
};

// curl over the unix socket; `prefix` runs it as someone else.
Http query(const std::string& sock, const std::string& endpoint, const std::string& extra = "",
           const std::string& prefix = "") {
    const Output o = run_command(prefix + "curl -sS -w '\\n%{http_code}' " + extra +
                                 " --unix-socket '" + sock + "' http://localhost/" + endpoint);
    Http h;
    h.curl_status = o.status;
    const size_t nl = o.text.rfind('\n');
    if (o.status != 0 || nl == std::string::npos) {
        h.body = o.text;
        return h;
    }
    h.body = o.text.substr(0, nl);
    h.code = std::atoi(o.text.c_str() + nl + 1);
    return h;
}

mode_t mode_of(const std::string& path) {
    struct stat st {};
    return stat(path.c_str(), &st) == 0 ? st.st_mode : 0;
}

bool exists(const std::string& path) {
    struct stat st {};
    return lstat(path.c_str(), &st) == 0;
}

std::string first_mount_column(const std::string& mnt) {
    std::ifstream in("/proc/self/mounts");
    std::string dev, at, rest;
    while (in >> dev >> at && std::getline(in, rest)) {
        if (at == mnt) return dev;
    }
    return "";
}

TEST(FusedCommandLine, HelpAndVersionExitZero) {
    const Output help = run_command(fused_bin() + " --help");
    EXPECT_EQ(help.status, 0) << help.text;
    EXPECT_NE(help.text.find("usage: famfs_fused"), std::string::npos) << help.text;
    EXPECT_NE(help.text.find("-o daxdev=DEVICE"), std::string::npos) << help.text;
    EXPECT_EQ(run_command(fused_bin() + " -h").status, 0);
    const Output version = run_command(fused_bin() + " --version");
    EXPECT_EQ(version.status, 0) << version.text;
    EXPECT_EQ(version.text.rfind(std::string("famfs_fused ") + kVersion + "\n", 0), 0u)
        << version.text;
    EXPECT_NE(version.text.find("FUSE library version"), std::string::npos) << version.text;
}

TEST(FusedCommandLine, UnknownOptionsAreNamed) {
    Output o = run_command(fused_bin() + " -o daxdev=/dev/null,frobnicate /mnt");
    EXPECT_EQ(o.status, 1);
    EXPECT_NE(o.text.find("-o frobnicate: unknown option"), std::string::npos) << o.text;
    o = run_command(fused_bin() + " -o pass_yaml,daxdev=/dev/null /mnt");
    EXPECT_EQ(o.status, 1);
    EXPECT_NE(o.text.find("-o pass_yaml: not supported"), std::string::npos) << o.text;
    o = run_command(fused_bin() + " --frobnicate /dev/null /mnt");
    EXPECT_EQ(o.status, 1);
    EXPECT_NE(o.text.find("--frobnicate: unknown option"), std::string::npos) << o.text;
    o = run_command(fused_bin() + " -o daxdev=/dev/null");
    EXPECT_EQ(o.status, 1);
    EXPECT_NE(o.text.find("expected MOUNTPOINT"), std::string::npos) << o.text;
}

TEST_F(FuseTest, ReferenceCommandLineServesTheDevice) {
    mkdir("dir");
    create("dir/file", 3 * omf::kMiB + 5, 0644, 11);
    const std::string shadow = scratch_.dir() + "/shadow";
    hosts_.push_back(Host::master(scratch_, "ref"));
    Host& h = *hosts_.back();
    // As the reference's `famfs mount` starts its daemon.
    const std::string err =
        h.mount_words({"-o",
                       "daxdev=" + device() + ",shadow=" + shadow + ",fsname=" + device() +
                           ",timeout=1.000000,allow_other,default_permissions",
                       h.mountpoint()});
    ASSERT_EQ(err, "");
    EXPECT_EQ(read_file(h.path("dir/file")), pattern(11, 3 * omf::kMiB + 5));
    EXPECT_EQ(first_mount_column(h.mountpoint()), device());
    EXPECT_EQ(status_field(h, "permissions").rfind("kernel", 0), 0u);
    EXPECT_EQ(shadow_of(h), shadow);
    EXPECT_EQ(query(shadow + "/sock", "pid").body, "pid: " + std::to_string(h.server_pid()) + "\n");
    h.unmount();
    // The directory was made by the server, and goes with it.
    EXPECT_FALSE(exists(shadow + "/sock"));
    EXPECT_FALSE(exists(shadow));
}

TEST_F(FuseTest, ReferenceSourceNamesTheDeviceOrTheShadowDirectory) {
    create("f", omf::kMiB, 0644, 12);
    const std::string shadow = scratch_.dir() + "/kept";
    ASSERT_EQ(::mkdir(shadow.c_str(), 0700), 0);
    hosts_.push_back(Host::master(scratch_, "src"));
    Host& h = *hosts_.back();
    // Without default_permissions, as the reference: the server checks.
    ASSERT_EQ(
        h.mount_words({"-s", "-o", "source=" + device(), "-o", "source=" + shadow, h.mountpoint()}),
        "");
    EXPECT_EQ(read_file(h.path("f")), pattern(12, omf::kMiB));
    EXPECT_EQ(status_field(h, "permissions").rfind("server", 0), 0u);
    EXPECT_EQ(shadow_of(h), shadow);
    EXPECT_TRUE(exists(shadow + "/sock"));
    h.unmount();
    // A directory it was given stays; only the socket goes.
    EXPECT_FALSE(exists(shadow + "/sock"));
    EXPECT_TRUE(exists(shadow));
}

TEST_F(FuseTest, DiagnosticsSocketAnswersEveryEndpoint) {
    create("a", omf::kMiB);
    mkdir("d");
    create("d/b", omf::kMiB);
    Host& h = start_master();
    const std::string dir = shadow_of(h);
    ASSERT_EQ(dir.rfind("/tmp/famfs_shadow_", 0), 0u) << dir;
    EXPECT_EQ(mode_of(dir), S_IFDIR | 0700);
    const std::string sock = dir + "/sock";
    EXPECT_EQ(mode_of(sock), S_IFSOCK | 0600);

    // Two lookups: one found, one not.
    struct stat st {};
    ASSERT_EQ(stat(h.path("d/b").c_str(), &st), 0);
    ASSERT_NE(stat(h.path("missing").c_str(), &st), 0);
    Http r = query(sock, "icache_stats");
    ASSERT_EQ(r.code, 200) << r.body;
    EXPECT_EQ(r.body.rfind("icache_stats:\n  search_count:   ", 0), 0u) << r.body;
    const auto field = [](const std::string& body, const std::string& key) {
        const size_t at = body.find(key + ":");
        return at == std::string::npos ? -1L : std::atol(body.c_str() + at + key.size() + 1);
    };
    EXPECT_GE(field(r.body, "search_count"), 3);  // d, b, missing
    EXPECT_GE(field(r.body, "nodes_scanned"), 3);
    EXPECT_GE(field(r.body, "search_fail_ct"), 1);

    r = query(sock, "icache_dump");
    EXPECT_EQ(r.code, 200);
    EXPECT_EQ(r.body, "icache: dumping 4 inodes to syslog\n");  // root, a, d, d/b

    r = query(sock, "log_level");
    EXPECT_EQ(r.code, 200);
    EXPECT_EQ(r.body, "5\n");
    r = query(sock, "log_level", "-X POST -d 7");
    EXPECT_EQ(r.code, 200);
    EXPECT_EQ(r.body, "log level set to 7 (from 5)\n");
    EXPECT_EQ(query(sock, "log_level").body, "7\n");
    r = query(sock, "log_level", "-X PUT -d level=3");
    EXPECT_EQ(r.body, "log level set to 3 (from 7)\n");
    r = query(sock, "log_level", "-X POST -d 12");
    EXPECT_EQ(r.code, 400);
    EXPECT_NE(r.body.find("not a level"), std::string::npos) << r.body;
    EXPECT_EQ(query(sock, "log_level", "-X POST -d loud").code, 400);
    EXPECT_EQ(query(sock, "log_level").body, "3\n");
    EXPECT_EQ(query(sock, "log_level", "-X DELETE").code, 405);

    EXPECT_EQ(query(sock, "pid").body, "pid: " + std::to_string(h.server_pid()) + "\n");
    {
        FILE* f = fopen(h.path("a").c_str(), "r");  // one open file
        ASSERT_NE(f, nullptr);
        r = query(sock, "inodes");
        fclose(f);
    }
    EXPECT_EQ(r.body, "inodes:\n  total: 4\n  open: 1\n  deleted: 0\n");
    r = query(sock, "status");
    EXPECT_EQ(r.code, 200);
    EXPECT_NE(r.body.find("role: master"), std::string::npos) << r.body;
    EXPECT_EQ(query(sock, "nothing_here").code, 404);

    h.unmount();
    EXPECT_FALSE(exists(sock));
    EXPECT_FALSE(exists(dir));
}

TEST_F(FuseTest, DiagnosticsAreRootOnly) {
    const std::string dir = scratch_.dir() + "/state";
    Host& h = start_master({"--state-dir", dir});
    ASSERT_EQ(shadow_of(h), dir);
    const std::string sock = dir + "/sock";
    const std::string nobody = "setpriv --reuid=65534 --regid=65534 --clear-groups ";
    ASSERT_EQ(query(sock, "pid").code, 200);
    // The modes keep others from connecting at all...
    Http r = query(sock, "pid", "", nobody);
    EXPECT_NE(r.curl_status, 0) << r.body;
    // ...and where they would not, the server checks who connects.
    ASSERT_EQ(chmod(scratch_.dir().c_str(), 0755), 0);
    ASSERT_EQ(chmod(dir.c_str(), 0755), 0);
    ASSERT_EQ(chmod(sock.c_str(), 0666), 0);
    r = query(sock, "log_level", "-X POST -d 7", nobody);
    EXPECT_EQ(r.curl_status, 0) << r.body;
    EXPECT_EQ(r.code, 403) << r.body;
    EXPECT_EQ(query(sock, "log_level").body, "5\n");
}

TEST_F(FuseTest, AStateDirectoryThatIsAFileFailsTheMount) {
    const std::string file = scratch_.dir() + "/plain";
    std::ofstream(file) << "x";
    const Output o = run_command(fused_bin() + " -f --state-dir " + file + " " + device() + " " +
                                 scratch_.dir());
    EXPECT_EQ(o.status, 1);
    EXPECT_NE(o.text.find("state directory " + file + ": exists and is not a directory"),
              std::string::npos)
        << o.text;
}

}  // namespace
}  // namespace famfs::fusetest
