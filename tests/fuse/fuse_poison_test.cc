// CXL poison-list records reaching a running server: famfs_fused watches a
// fake sysfs and tracefs (a temp directory; the test appends trace lines to
// the trace instance's trace_pipe, a regular file). The file the record
// covers fails with EIO on open, read and mmap; its neighbour keeps
// working; .meta/.status and famfs status name the file and the offset.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <ios>
#include <sstream>

#include "fuse_fixture.h"

namespace famfs::fusetest {
namespace {

namespace fs = std::filesystem;

// Where the fake dax device's memory is in the fake host's address space.
constexpr uint64_t kDaxStart = 0x390200000;

void write_text(const std::string& path, const std::string& text, bool append = false) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path, append ? std::ios::app : std::ios::trunc) << text;
}

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string hex(uint64_t v) {
    std::ostringstream out;
    out << "0x" << std::hex << v;
    return out.str();
}

// A cxl_poison event as Linux 6.12 prints it, for a mapped record.
std::string poison_line(uint64_t hpa, uint64_t len) {
    std::ostringstream out;
    out << "     kworker/0:1-41    [000] .....   812.093112: cxl_poison: memdev=mem0 "
           "host=0000:0d:00.0 serial=0 trace_type=List region=region0 "
           "region_uuid=2d1f4bd1-8a2e-4a7c-9f2e-6c3a1f1b0c7e hpa="
        << hex(hpa) << " dpa=" << hex(hpa - kDaxStart) << " dpa_length=" << hex(len)
        << " source=Injected flags= overflow_time=0\n";
    return out.str();
}

// famfs_fused as the master, in the foreground, watching a fake sysfs and
// tracefs under `root`. The kernel fills a trace instance when the server
// makes it; here the test makes it, for the server's pid, before the
// server runs (the child waits on a pipe until then).
class PoisonWatchedServer {
  public:
    PoisonWatchedServer(const std::string& root, const std::string& mnt) : root_(root), mnt_(mnt) {
        fs::create_directories(mnt_);
        write_text(sysfs() + "/bus/cxl/devices/mem0/trigger_poison_list", "");
        write_text(sysfs() + "/bus/dax/devices/dax0.0/resource", hex(kDaxStart) + "\n");
        write_text(sysfs() + "/bus/dax/devices/dax0.0/size",
                   std::to_string(FuseTest::kDeviceSize) + "\n");
        fs::create_directories(tracefs() + "/instances");
    }
    ~PoisonWatchedServer() { stop(); }

    std::string sysfs() const { return root_ + "/sys"; }
    std::string tracefs() const { return root_ + "/tracing"; }
    std::string instance() const {
        return tracefs() + "/instances/famfs_fused." + std::to_string(pid_);
    }
    std::string trigger() const { return sysfs() + "/bus/cxl/devices/mem0/trigger_poison_list"; }
    std::string path(const std::string& rel = "") const {
        return rel.empty() ? mnt_ : mnt_ + "/" + rel;
    }
    std::string log() const { return read_text(root_ + "/server.log"); }

    // "" when the server serves the mount, else what went wrong.
    std::string start(const std::string& device) {
        std::vector<std::string> words{fused_bin(),
                                       "-f",
                                       "--poison-poll-ms=20",
                                       "--poison-sysfs=" + sysfs(),
                                       "--poison-tracefs=" + tracefs(),
                                       "--poison-test-dax=dax0.0",
                                       device,
                                       mnt_};
        std::vector<char*> argv;
        for (auto& w : words) argv.push_back(w.data());
        argv.push_back(nullptr);
        int gate[2];
        if (pipe(gate) != 0) return std::string("pipe: ") + std::strerror(errno);
        const std::string log_file = root_ + "/server.log";
        pid_ = fork();
        if (pid_ < 0) return std::string("fork: ") + std::strerror(errno);
        if (pid_ == 0) {
            close(gate[1]);
            const int fd = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
            dup2(fd, 1);
            dup2(fd, 2);
            for (int sig : {SIGINT, SIGTERM, SIGHUP}) signal(sig, SIG_DFL);
            char go;
            if (read(gate[0], &go, 1) != 1) _exit(126);
            execv(argv[0], argv.data());
            std::perror(argv[0]);
            _exit(127);
        }
        close(gate[0]);
        write_text(instance() + "/events/cxl/cxl_poison/enable", "0\n");
        write_text(instance() + "/trace_pipe", "");
        const bool released = write(gate[1], "x", 1) == 1;
        close(gate[1]);
        if (!released) return "cannot release the server";
        const bool up = wait_until(
            [&] {
                struct stat st {};
                return !alive() || stat(path(".meta/.status").c_str(), &st) == 0;
            },
            10000);
        if (!up || !alive()) return "famfs_fused did not start serving " + mnt_ + ": " + log();
        return "";
    }

    bool alive() const {
        int status;
        return pid_ > 0 && waitpid(pid_, &status, WNOHANG) == 0;
    }

    void stop() {
        if (pid_ <= 0) return;
        umount2(mnt_.c_str(), MNT_DETACH);
        kill(pid_, SIGTERM);
        waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }

    void report_poison(uint64_t device_offset, uint64_t len) {
        write_text(instance() + "/trace_pipe", poison_line(kDaxStart + device_offset, len), true);
    }

    std::string status() const {
        const auto bytes = read_file(path(".meta/.status"));
        return std::string(bytes.begin(), bytes.end());
    }
    std::string field(const std::string& key) const {
        std::istringstream in(status());
        for (std::string line; std::getline(in, line);) {
            if (line.rfind(key + ": ", 0) == 0) return line.substr(key.size() + 2);
        }
        return "";
    }

  private:
    std::string root_, mnt_;
    pid_t pid_ = -1;
};

// The outcome of touching the first byte of a mapping of `fd`, in a child
// (a failed page fault is a SIGBUS): its wait status.
int touch_mapping(int fd, size_t len) {
    const pid_t pid = fork();
    if (pid == 0) {
        // The default action, not a sanitizer's handler, which would turn
        // the SIGBUS into exit(1) and a report.
        signal(SIGBUS, SIG_DFL);
        void* p = mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) _exit(2);
        const volatile uint8_t* b = static_cast<const volatile uint8_t*>(p);
        _exit(b[0] == 0xff ? 3 : 0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

TEST_F(FuseTest, APoisonListRecordFailsTheFileItCoversAndOnlyThatFile) {
    const auto victim = create("victim", 8192, 0666, 1);
    const auto neighbour = create("neighbour", 8192, 0666, 2);
    PoisonWatchedServer server(scratch_.dir() + "/fake", scratch_.dir() + "/mnt");
    ASSERT_EQ(server.start(device()), "");

    EXPECT_EQ(server.field("poison_watch"), "cxl-poison-list mem0 every 20 ms") << server.status();
    EXPECT_EQ(server.field("poisoned_ranges"), "0");
    EXPECT_TRUE(wait_until([&] { return read_text(server.trigger()) == "1"; }, 2000))
        << "the server triggers mem0's poison list";
    EXPECT_EQ(read_text(server.instance() + "/events/cxl/cxl_poison/enable").substr(0, 1), "1");

    // Opened before the poison is known, and read once.
    const int fd = open(server.path("victim").c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    std::vector<uint8_t> buf(8192);
    ASSERT_EQ(pread(fd, buf.data(), buf.size(), 0), 8192);

    const uint64_t at = victim.extents.at(0).offset + 0x1000;
    server.report_poison(at, 0x40);
    ASSERT_TRUE(wait_until([&] { return server.field("poisoned_ranges") == "1"; }, 2000))
        << server.status();

    EXPECT_EQ(pread(fd, buf.data(), buf.size(), 0), -1);
    EXPECT_EQ(errno, EIO);
    EXPECT_EQ(pread(fd, buf.data(), 16, 0), -1) << "bytes before the poison fail too";
    EXPECT_EQ(errno, EIO);
    EXPECT_EQ(pwrite(fd, buf.data(), 16, 0), -1);
    EXPECT_EQ(errno, EIO);
    const int status = touch_mapping(fd, 8192);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS)
        << "a mapping's page fault is a read: wait status " << status;
    close(fd);
    EXPECT_EQ(open(server.path("victim").c_str(), O_RDONLY), -1);
    EXPECT_EQ(errno, EIO);
    int err = 0;
    read_file(server.path("victim"), &err);
    EXPECT_EQ(err, EIO);

    EXPECT_EQ(read_file(server.path("neighbour")), pattern(2, 8192));
    EXPECT_EQ(write_file(server.path("neighbour"), pattern(3, 4096)), 0);
    EXPECT_EQ(direct_read("neighbour"), [] {
        auto b = pattern(3, 4096);
        auto rest = pattern(2, 8192);
        b.insert(b.end(), rest.begin() + 4096, rest.end());
        return b;
    }());
    EXPECT_EQ(direct_read("victim"), pattern(1, 8192)) << "nothing was written to the victim";
    (void)neighbour;

    const std::string line = "poisoned: device offset " + hex(at) + " (+0x40): /victim";
    EXPECT_NE(server.status().find("\n" + line + "\n"), std::string::npos) << server.status();
    EXPECT_EQ(server.field("device_failed"), "no");

    // famfs status shows the file under the mount point.
    std::string out;
    FILE* p = popen((cli_bin() + " status " + server.path() + " 2>&1").c_str(), "r");
    ASSERT_NE(p, nullptr);
    char chunk[4096];
    for (size_t n; (n = fread(chunk, 1, sizeof(chunk), p)) > 0;) out.append(chunk, n);
    EXPECT_EQ(pclose(p), 0) << out;
    EXPECT_NE(out.find("\npoisoned: device offset " + hex(at) +
                       " (+0x40): " + server.path("victim") + "\n"),
              std::string::npos)
        << out;
    EXPECT_TRUE(server.alive()) << server.log();
}

TEST_F(FuseTest, APoisonListRecordInTheLogFailsTheDevice) {
    create("f", 4096, 0644, 4);
    PoisonWatchedServer server(scratch_.dir() + "/fake", scratch_.dir() + "/mnt");
    ASSERT_EQ(server.start(device()), "");
    const uint64_t at = volume().superblock().log_offset + 0x2000;
    server.report_poison(at, 0x40);
    ASSERT_TRUE(wait_until([&] { return server.field("poisoned_ranges") == "1"; }, 2000))
        << server.status();
    EXPECT_EQ(server.field("device_failed"),
              "yes (poison in the log at device offset " + hex(at) + " (+0x40))");
    EXPECT_EQ(open(server.path("f").c_str(), O_RDONLY), -1);
    EXPECT_EQ(errno, EIO);
    EXPECT_NE(
        server.status().find("\npoisoned: device offset " + hex(at) + " (+0x40): /.meta/.log\n"),
        std::string::npos)
        << server.status();
    struct stat st {};
    EXPECT_EQ(stat(server.path("f").c_str(), &st), 0) << "metadata is still served";
}

}  // namespace
}  // namespace famfs::fusetest
