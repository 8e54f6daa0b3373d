// `famfs logplay --shadow`: the reference's shadow tree (a directory per
// famfs directory, a YAML file per famfs file) written from a device or a
// mount, --shadowtest, the reference's -S/-s/--daxdev forms, and the error
// cases of the reference's test_shadow_yaml.sh.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli_fixture.h"
#include "famfs/shadow_yaml.h"

namespace famfs::clitest {
namespace {

class ShadowTest : public CliTest {
  protected:
    // A file system with directories, files with logged owners and modes,
    // and a striped file; and an empty shadow directory with its root/.
    void SetUp() override {
        CliTest::SetUp();
        format("4200m");  // -B 4 needs buckets of 1 GiB
        for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
                 {"mkdir", "-m", "0750", "-u", "5", "-g", "6", "d"},
                 {"mkdir", "d/e"},
                 {"creat", "-s", "1m", "d/f"},
                 {"creat", "-s", "3m", "-m", "0600", "-u", "1000", "-g", "100", "d/e/g"},
                 {"creat", "-s", "8m", "-N", "2", "-B", "4", "-C", "2m", "s"}}) {
            Outcome r = famfs(args);
            ASSERT_EQ(r.status, 0) << args[0] << ": " << r.err;
        }
        shadow_ = dir_ + "/shadow";
        std::filesystem::create_directories(shadow_ + "/root");
    }

    Outcome logplay(std::vector<std::string> args) {
        args.insert(args.begin(), "logplay");
        return famfs_plain(args);
    }

    static std::string text_of(const std::string& path) {
        std::ifstream in(path);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }

    // Every famfs file's shadow file parses back to its log entry, and every
    // directory has its logged mode and owner.
    void expect_tree_matches_log(const std::string& root, int want_files = 3) {
        const State st = load();
        int files = 0;
        st.ns.for_each([&](const Node& n) {
            if (&n == &st.ns.root()) return;
            const std::string path = root + "/" + n.relpath();
            struct stat sb {};
            ASSERT_EQ(::lstat(path.c_str(), &sb), 0) << path;
            if (n.is_dir) {
                EXPECT_TRUE(S_ISDIR(sb.st_mode)) << path;
                EXPECT_EQ(sb.st_mode & 07777, n.mode) << path;
                EXPECT_EQ(sb.st_uid, n.uid) << path;
                EXPECT_EQ(sb.st_gid, n.gid) << path;
                return;
            }
            files++;
            ASSERT_TRUE(S_ISREG(sb.st_mode)) << path;
            auto f = shadow::from_yaml(text_of(path), path);
            ASSERT_TRUE(f.ok()) << f.error().message;
            EXPECT_EQ(*f, n.file) << path;
        });
        EXPECT_EQ(files, want_files);
        // And nothing more: no shadow of an object the log deleted.
        size_t on_disk = 0;
        for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
            (void)e;
            on_disk++;
        }
        EXPECT_EQ(on_disk, st.ns.files() + st.ns.dirs());
    }

    // The superblock and the log: what a command that wrote metadata
    // would have changed (the whole 4 GiB device is too big to compare).
    std::vector<uint8_t> metadata() const {
        std::ifstream in(dev_, std::ios::binary);
        std::vector<uint8_t> bytes(omf::kLogOffset + omf::kMinLogLen);
        in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        EXPECT_TRUE(in.good());
        return bytes;
    }

    std::string shadow_;
};

TEST_F(ShadowTest, WritesTheReferencesTreeFromTheDevice) {
    const auto before = metadata();
    Outcome r = logplay({"--shadow", shadow_, "--daxdev", dev_});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "famfs logplay: shadow tree " + shadow_ +
                                    "/root: 5 log entries; 3 files (3 created, 0 updated, 0 "
                                    "unchanged); 2 directories (2 created, 0 existing); 0 "
                                    "entries refused; 0 errors"))
        << r.out;
    expect_tree_matches_log(shadow_ + "/root");
    EXPECT_TRUE(metadata() == before);

    // The striped file's shadow file has the reference's striped layout.
    const std::string s = text_of(shadow_ + "/root/s");
    EXPECT_TRUE(contains(s,
                         "  nextents: 1\n  striped_ext_list:\n    - nstrips: 2\n"
                         "      chunk_size: 0x200000\n      simple_ext_list:\n"))
        << s;
    const std::string g = text_of(shadow_ + "/root/d/e/g");
    EXPECT_TRUE(contains(g,
                         "file:\n  path: d/e/g\n  size: 3145728\n  flags: 2\n  mode: 0600\n"
                         "  uid: 1000\n  gid: 100\n  nextents: 1\n  simple_ext_list:\n"))
        << g;
}

TEST_F(ShadowTest, ReplayingAgainChangesNothingAndRewritesStaleFiles) {
    ASSERT_EQ(logplay({"--shadow", shadow_, "--daxdev", dev_}).status, 0);
    Outcome again = logplay({"--shadow", shadow_, "--daxdev", dev_, "-v"});
    ASSERT_EQ(again.status, 0) << again.err;
    EXPECT_TRUE(contains(again.out,
                         "3 files (0 created, 0 updated, 3 unchanged); 2 directories "
                         "(0 created, 2 existing)"))
        << again.out;
    EXPECT_TRUE(contains(again.out, "shadow: unchanged file " + shadow_ + "/root/d/f"))
        << again.out;

    // A shadow file of an older entry (another size) is brought up to date.
    const std::string f = shadow_ + "/root/d/f";
    std::string stale = text_of(f);
    stale.replace(stale.find("size: 1048576"), 13, "size: 4096");
    std::ofstream(f) << stale;
    Outcome upd = logplay({"--shadow", shadow_, "--daxdev", dev_});
    ASSERT_EQ(upd.status, 0) << upd.err;
    EXPECT_TRUE(contains(upd.out, "3 files (0 created, 1 updated, 2 unchanged)")) << upd.out;
    expect_tree_matches_log(shadow_ + "/root");
}

TEST_F(ShadowTest, ShadowtestReadsEveryFileBack) {
    Outcome r = logplay({"--shadow", shadow_, "--shadowtest", "--daxdev", dev_, "-vv"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(contains(r.out,
                         "famfs logplay: shadowtest: 3 shadow files read back, 0 "
                         "mismatches"))
        << r.out;
    EXPECT_TRUE(contains(r.out, "shadowtest: " + shadow_ + "/root/s matches the log")) << r.out;
    EXPECT_TRUE(contains(r.out, "---\nfile:\n  path: d/f\n")) << "-vv prints the YAML";
}

// A log with DELETE entries (docs/delete.md): what it deleted is not in
// the tree, whether written afresh or brought up to date, and a name
// deleted and created again (of the same kind or another) shows the new
// object.
TEST_F(ShadowTest, DeletedObjectsLeaveTheTreeAndNamesCreatedAgainShowTheNewOnes) {
    ASSERT_EQ(logplay({"--shadow", shadow_, "--daxdev", dev_}).status, 0);
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"rm", "d/f"},
             {"rm", "-r", "d/e"},
             {"rm", "s"},
             {"mkdir", "d/f"},               // a file's name, now a directory
             {"creat", "-s", "2m", "d/e"},   // a directory's name, now a file
             {"creat", "-s", "4k", "s"}}) {  // a file's name, a new file
        Outcome r = famfs(args);
        ASSERT_EQ(r.status, 0) << args[0] << ": " << r.err;
    }
    const std::string root = shadow_ + "/root";

    Outcome dry = logplay({"-n", "-v", "--shadow", shadow_, "--daxdev", dev_});
    ASSERT_EQ(dry.status, 0) << dry.out << dry.err;
    EXPECT_TRUE(contains(dry.out, "shadow: would remove file " + root + "/d/f")) << dry.out;
    EXPECT_TRUE(contains(dry.out, "shadow: would create directory " + root + "/d/f")) << dry.out;
    EXPECT_TRUE(contains(dry.out, "shadow: would create file " + root + "/d/e")) << dry.out;
    EXPECT_TRUE(contains(dry.out, "shadow: would remove file " + root + "/d/e/g")) << dry.out;
    EXPECT_TRUE(contains(dry.out, "shadow: would remove directory " + root + "/d/e")) << dry.out;
    EXPECT_TRUE(std::filesystem::exists(root + "/d/e/g")) << "a dry run removes nothing";

    Outcome r = logplay({"-s", "-v", "--shadow", shadow_, "--daxdev", dev_});
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_TRUE(contains(r.out, "shadow: removed file " + root + "/d/f")) << r.out;
    EXPECT_TRUE(contains(r.out, "shadow: removed file " + root + "/d/e/g")) << r.out;
    EXPECT_TRUE(contains(r.out, "shadow: removed directory " + root + "/d/e")) << r.out;
    EXPECT_TRUE(contains(r.out, "shadow: updated file " + root + "/s")) << r.out;
    EXPECT_TRUE(contains(r.out,
                         "famfs logplay: shadows of deleted objects: 2 files and 1 "
                         "directories removed"))
        << r.out;
    EXPECT_TRUE(contains(r.out, "0 mismatches")) << r.out;
    EXPECT_TRUE(std::filesystem::is_directory(root + "/d/f"));
    EXPECT_TRUE(std::filesystem::is_regular_file(root + "/d/e"));
    EXPECT_TRUE(contains(text_of(root + "/s"), "  size: 4096\n")) << text_of(root + "/s");
    expect_tree_matches_log(root, 2);

    // Played again, nothing changes; played into an empty tree, the same.
    Outcome again = logplay({"--shadow", shadow_, "--daxdev", dev_});
    ASSERT_EQ(again.status, 0) << again.err;
    EXPECT_FALSE(contains(again.out, "shadows of deleted objects")) << again.out;
    const std::string fresh = dir_ + "/fresh/root";
    std::filesystem::create_directories(fresh);
    ASSERT_EQ(logplay({"--shadow", fresh, "--daxdev", dev_}).status, 0);
    expect_tree_matches_log(fresh, 2);
}

// Only what logplay wrote is removed: a deleted directory's shadow that
// holds a file of someone else's stays, with that file, and is reported
// where the new object of its name belongs.
TEST_F(ShadowTest, ADeletedDirectoryHoldingOtherFilesIsKept) {
    ASSERT_EQ(logplay({"--shadow", shadow_, "--daxdev", dev_}).status, 0);
    const std::string root = shadow_ + "/root";
    std::ofstream(root + "/d/e/notes") << "precious: [data\n";
    ASSERT_EQ(famfs({"rm", "-r", "d/e"}).status, 0);
    ASSERT_EQ(famfs({"creat", "-s", "4k", "d/e"}).status, 0);
    Outcome r = logplay({"--shadow", shadow_, "--daxdev", dev_});
    EXPECT_EQ(r.status, 1) << r.out << r.err;
    EXPECT_TRUE(contains(r.err, root + "/d/e: a directory is where the shadow file of d/e "
                                       "belongs; left as it is"))
        << r.err;
    EXPECT_EQ(text_of(root + "/d/e/notes"), "precious: [data\n");
    EXPECT_FALSE(std::filesystem::exists(root + "/d/e/g")) << "its shadow file goes";
}

TEST_F(ShadowTest, AFileThatIsNotAShadowFileIsReportedAndKept) {
    ASSERT_EQ(logplay({"--shadow", shadow_, "--daxdev", dev_}).status, 0);
    const std::string f = shadow_ + "/root/d/f";
    std::ofstream(f) << "precious: [data\n";
    Outcome r = logplay({"-s", "--shadow", shadow_, "--daxdev", dev_});
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_TRUE(contains(r.err, "famfs logplay: " + f + ": is not a shadow file, left as it is: " +
                                    f + ": line 2, column 1: end of sequence flow not found"))
        << r.err;
    EXPECT_EQ(text_of(f), "precious: [data\n");
    EXPECT_TRUE(contains(r.out, "1 errors")) << r.out;
}

TEST_F(ShadowTest, NeverFollowsASymlinkInTheTree) {
    const std::string elsewhere = dir_ + "/elsewhere";
    std::filesystem::create_directories(elsewhere);
    std::filesystem::create_directory_symlink(elsewhere, shadow_ + "/root/d");
    Outcome r = logplay({"--shadow", shadow_, "--daxdev", dev_});
    EXPECT_EQ(r.status, 2) << r.out;  // the link, and the entries below d
    EXPECT_TRUE(contains(r.err, shadow_ + "/root/d: a symbolic link is where the directory d "
                                          "belongs; left as it is"))
        << r.err;
    EXPECT_TRUE(contains(r.err, shadow_ + "/root/d: 3 entries below it are not in the shadow "
                                          "tree"))
        << r.err;
    EXPECT_TRUE(std::filesystem::is_empty(elsewhere));
    EXPECT_TRUE(std::filesystem::exists(shadow_ + "/root/s"));
}

TEST_F(ShadowTest, DryRunWritesNothing) {
    Outcome r = logplay({"-n", "-s", "-v", "--shadow", shadow_, "--daxdev", dev_});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(contains(r.out,
                         "3 files (3 to create, 0 to update, 0 unchanged); 2 directories "
                         "(2 to create, 0 existing)"))
        << r.out;
    EXPECT_TRUE(contains(r.out, "shadow: would create file " + shadow_ + "/root/d/e/g")) << r.out;
    EXPECT_TRUE(contains(r.out, "3 shadow files read back, 0 mismatches")) << r.out;
    EXPECT_TRUE(std::filesystem::is_empty(shadow_ + "/root"));
}

// The reference scripts' forms: --shadow DIR MPT, -S taking no argument
// (DIR is the first operand) clustered with -s as -Ss and -sS, and options
// after the mount point.
TEST_F(ShadowTest, PlaysFromAMountInTheReferenceScriptsForms) {
    mount();
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"--shadow", shadow_, mnt_},
             {"-Ss", shadow_, mnt_},
             {"-sS", shadow_, mnt_ + "/d"},
             {"--shadow", shadow_, "--shadowtest", mnt_, "-vv"}}) {
        Outcome r = logplay(args);
        ASSERT_EQ(r.status, 0) << args[0] << ": " << r.err;
        EXPECT_TRUE(contains(r.out, "3 files (")) << r.out;
        if (args[0] != "--shadow" || args.size() > 3) {
            EXPECT_TRUE(contains(r.out, "3 shadow files read back, 0 mismatches")) << r.out;
        }
    }
    expect_tree_matches_log(shadow_ + "/root");
    // A shadow path that ends in /root is the tree itself.
    const std::string other = dir_ + "/other/root";
    std::filesystem::create_directories(other);
    ASSERT_EQ(logplay({"--shadow", other, mnt_}).status, 0);
    expect_tree_matches_log(other);
    // --device names the device as --daxdev does.
    std::filesystem::remove_all(other);
    std::filesystem::create_directories(other);
    ASSERT_EQ(famfs({"logplay", "--shadow", other}).status, 0);
    expect_tree_matches_log(other);
}

// The error cases of the reference's test_shadow_yaml.sh and test4.sh: each
// fails, names what is wrong, and leaves the device as it was.
TEST_F(ShadowTest, ReferenceErrorCases) {
    const auto before = metadata();
    struct Case {
        std::vector<std::string> args;
        int status;
        std::string err;
    };
    const std::string missing = dir_ + "/shadowpath/root";
    const std::vector<Case> cases = {
        // --shadow takes "-d" as its directory; /dev/bogodax is then the mount.
        {{"--shadow", "-d", "/dev/bogodax"}, EINVAL, "/dev/bogodax: not in a famfs mount"},
        {{"--shadow", shadow_, "--daxdev", "/dev/bogodax"}, ENOENT, "/dev/bogodax: "},
        {{"--shadow", missing + "/frob", "--daxdev", dev_, "-vv"},
         ENOENT,
         missing + "/frob: No such file or directory"},
        {{"--daxdev", dev_, "-vv", missing}, 1, "--daxdev is only used with --shadow DIR"},
        {{"--shadowtest", shadow_}, 1, "--shadowtest is only used with --shadow DIR"},
        {{"--shadow", "/etc/passwd", "--daxdev", dev_, "-vv"},
         ENOTDIR,
         "/etc/passwd: not a directory"},
        {{"--shadow", shadow_, "--shadow", shadow_, "--daxdev", dev_},
         1,
         "give the shadow directory once"},
        {{"--shadow", dir_, "--daxdev", dev_},
         ENOENT,
         dir_ + ": has no root directory; the shadow tree goes into " + dir_ +
             "/root (create it, or name a directory whose path ends in /root)"},
        {{"--shadow", shadow_, "--daxdev", dev_, "extra"}, 1, "unexpected operand 'extra'"},
        {{"-S", "--daxdev", dev_}, 1, "-S needs the shadow directory as the first operand"},
        {{"--shadow", shadow_}, 1, "name the mount point (or a path in it), or the device"},
        {{"--shadow", shadow_, "--daxdev", "/etc/passwd"}, EINVAL, "/etc/passwd: "},
    };
    for (const Case& c : cases) {
        Outcome r = logplay(c.args);
        EXPECT_EQ(r.status, c.status) << c.args[0] << " " << c.args[1] << ": " << r.err;
        EXPECT_TRUE(contains(r.err, c.err)) << "wanted: " << c.err << "\ngot: " << r.err;
    }
    EXPECT_TRUE(std::filesystem::is_empty(shadow_ + "/root"));
    EXPECT_TRUE(metadata() == before);
}

TEST_F(ShadowTest, ADirectoryThisUserMayNotWriteIsRefused) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to run the command as another user";
    ::chmod(dir_.c_str(), 0755);  // nobody may reach, but not write, the shadow directory
    Outcome r = run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", FAMFS_BIN,
                     "logplay", "--shadow", shadow_, "--daxdev", dev_, "-vv"});
    EXPECT_EQ(r.status, EACCES) << r.out;
    EXPECT_TRUE(contains(r.err, shadow_ + ": this user may not write the directory")) << r.err;
}

}  // namespace
}  // namespace famfs::clitest
