#include "fuse_hosts.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <thread>

#include "famfs/host_registration.h"
#include "famfs/mounts.h"
#include "famfs/test_pattern.h"
#include "famfs/volume.h"

namespace famfs::fusetest {

namespace {

std::string env_or(const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return v && *v ? v : fallback;
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
}

}  // namespace

std::string fused_bin() {
    return env_or("FAMFS_FUSED", FAMFS_FUSED_BIN);
}
std::string cli_bin() {
    return FAMFS_CLI_BIN;
}

Scratch::Scratch() {
    static std::atomic<int> counter{0};
    dir_ = "/tmp/famfs-fuse-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
    std::filesystem::create_directories(dir_);
}

Scratch::~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

Host::Host(const Scratch& s, const std::string& name, bool own_namespace)
    : name_(name),
      mnt_(s.dir() + "/" + name),
      uuid_file_(s.dir() + "/" + name + ".uuid"),
      log_file_(s.dir() + "/" + name + ".log"),
      own_ns_(own_namespace) {
    std::filesystem::create_directories(mnt_);
}

std::unique_ptr<Host> Host::master(const Scratch& s, const std::string& name) {
    std::unique_ptr<Host> h(new Host(s, name, false));
    h->uuid_file_ = env_or("FAMFS_SYSTEM_UUID_FILE", "");
    return h;
}

std::unique_ptr<Host> Host::client(const Scratch& s, const std::string& name) {
    std::unique_ptr<Host> h(new Host(s, name, true));
    write_text(h->uuid_file_, omf::uuid_to_string(omf::random_uuid()) + "\n");
    return h;
}

Host::~Host() {
    unmount();
}

std::string Host::path(const std::string& rel) const {
    std::string base =
        own_ns_ && pid_ > 0 ? "/proc/" + std::to_string(pid_) + "/root" + mnt_ : mnt_;
    return rel.empty() ? base : base + "/" + rel;
}

bool Host::server_alive() const {
    if (pid_ <= 0) return false;
    int status;
    return waitpid(pid_, &status, WNOHANG) == 0;
}

std::string Host::server_log() const {
    std::ifstream in(log_file_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string Host::mount(const std::string& device, const std::vector<std::string>& flags) {
    std::vector<std::string> words = flags;
    words.push_back(device);
    words.push_back(mnt_);
    return mount_words(words);
}

std::string Host::mount_words(const std::vector<std::string>& args) {
    std::vector<std::string> words{fused_bin(), "-f"};
    words.insert(words.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    const pid_t pid = fork();
    if (pid < 0) return std::string("fork: ") + std::strerror(errno);
    if (pid == 0) {
        const int fd = open(log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        // A test run in the background of a shell ignores SIGINT, and the
        // server would inherit that (libfuse leaves an ignored signal be).
        for (int sig : {SIGINT, SIGTERM, SIGHUP}) signal(sig, SIG_DFL);
        if (own_ns_) {
            if (unshare(CLONE_NEWNS) != 0 ||
                ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
                std::perror("mount namespace");
                _exit(126);
            }
            // The copies of other hosts' mounts would keep their FUSE
            // connections alive after those hosts unmount.
            for (const MountInfo& m : famfs_mounts()) umount2(m.mountpoint.c_str(), MNT_DETACH);
        }
        setenv("FAMFS_SYSTEM_UUID_FILE", uuid_file_.c_str(), 1);
        const struct rlimit as { as_limit_, as_limit_ };
        if (as_limit_ != 0 && setrlimit(RLIMIT_AS, &as) != 0) {
            std::perror("setrlimit");
            _exit(126);
        }
        execv(argv[0], argv.data());
        std::perror(argv[0]);
        _exit(127);
    }
    pid_ = pid;
    const bool up = wait_until(
        [&] {
            struct stat st;
            return !server_alive() || stat(path(".meta/.status").c_str(), &st) == 0;
        },
        10000);
    if (!up || !server_alive()) {
        std::string log = server_log();
        unmount();
        return "famfs_fused did not start serving " + mnt_ + ": " + log;
    }
    return "";
}

int Host::kill_server(int sig) {
    if (pid_ <= 0) return -1;
    kill(pid_, sig);
    int status = -1;
    const bool exited = wait_until([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, 10000);
    if (!exited) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        status = -1;
    }
    pid_ = -1;
    return status;
}

void Host::unmount() {
    if (pid_ <= 0) {
        if (!own_ns_) umount2(mnt_.c_str(), MNT_DETACH);  // a dead mount left by a kill
        return;
    }
    if (!own_ns_) umount2(mnt_.c_str(), MNT_DETACH);
    // The server ends its session on SIGTERM and unmounts what is left.
    kill(pid_, SIGTERM);
    int status;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    if (!own_ns_) umount2(mnt_.c_str(), MNT_DETACH);
}

int Host::run(const std::string& command, std::string* out) const {
    std::string cmd = "FAMFS_SYSTEM_UUID_FILE='" + uuid_file_ + "' ";
    if (own_ns_) cmd += "nsenter --mount=/proc/" + std::to_string(pid_) + "/ns/mnt ";
    cmd += "sh -c '" + command + "' 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return -1;
    std::string text;
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof(buf), p)) > 0;) text.append(buf, n);
    const int status = pclose(p);
    if (out) *out = text;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::vector<int> run_as(const Host* ns_of, const Identity& who,
                        const std::function<std::vector<int>()>& fn, std::string* failure) {
    int fds[2];
    if (pipe(fds) != 0) return {};
    const pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        if (ns_of) {
            const std::string ns = "/proc/" + std::to_string(ns_of->server_pid()) + "/ns/mnt";
            const int nsfd = open(ns.c_str(), O_RDONLY);
            if (nsfd < 0 || setns(nsfd, CLONE_NEWNS) != 0) _exit(101);
            close(nsfd);
        }
        if (who.uid != 0 && (setgroups(who.groups.size(), who.groups.data()) != 0 ||
                             setresgid(who.gid, who.gid, who.gid) != 0 ||
                             setresuid(who.uid, who.uid, who.uid) != 0)) {
            _exit(102);
        }
        const std::vector<int> out = fn();
        const size_t bytes = out.size() * sizeof(int);
        if (write(fds[1], out.data(), bytes) != static_cast<ssize_t>(bytes)) _exit(103);
        _exit(0);
    }
    close(fds[1]);
    std::vector<int> out;
    int v;
    while (read(fds[0], &v, sizeof(v)) == sizeof(v)) out.push_back(v);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        *failure = std::string(who.name) + ": child exited with " + std::to_string(status);
    }
    return out;
}

std::string grant_as_master(const std::string& device) {
    auto v = Volume::open(device, Access::kReadWrite);
    if (!v) return v.error().message;
    auto g = grant_requests((*v)->device(), (*v)->superblock(), (*v)->role());
    return g ? std::string() : g.error().message;
}

std::vector<uint8_t> read_file(const std::string& path, int* err) {
    std::vector<uint8_t> out;
    const int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0) {
        if (err) *err = errno;
        return out;
    }
    uint8_t buf[1 << 16];
    for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) out.insert(out.end(), buf, buf + n);
    close(fd);
    if (err) *err = 0;
    return out;
}

int write_file(const std::string& path, const std::vector<uint8_t>& bytes, uint64_t off) {
    const int fd = open(path.c_str(), O_WRONLY);
    if (fd < 0) return errno;
    const ssize_t n = pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(off));
    const int err = n < 0 ? errno : (size_t(n) == bytes.size() ? 0 : EIO);
    close(fd);
    return err;
}

std::vector<uint8_t> pattern(uint64_t seed, uint64_t len) {
    std::vector<uint8_t> out(len);
    fill_pattern(seed, out);
    return out;
}

std::string status_field(const Host& h, const std::string& key) {
    auto bytes = read_file(h.path(".meta/.status"));
    std::istringstream in(std::string(bytes.begin(), bytes.end()));
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(key + ": ", 0) == 0) return line.substr(key.size() + 2);
    }
    return "";
}

std::vector<std::string> list_dir(const std::string& path) {
    std::vector<std::string> names;
    DIR* d = opendir(path.c_str());
    if (!d) return names;
    while (dirent* e = readdir(d)) {
        if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..")) names.push_back(e->d_name);
    }
    closedir(d);
    return names;
}

bool wait_until(const std::function<bool()>& cond, int timeout_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!cond()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
}

}  // namespace famfs::fusetest
