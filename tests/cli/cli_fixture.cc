#include "cli_fixture.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "famfs/omf.h"
#include "famfs/test_pattern.h"

namespace famfs::clitest {
namespace {

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) return {};
    std::string s(static_cast<size_t>(in.tellg()), '\0');
    in.seekg(0).read(s.data(), static_cast<std::streamsize>(s.size()));
    return s;
}

}  // namespace

Outcome run(const std::vector<std::string>& argv) {
    char out_tmpl[] = "/tmp/famfs-cli-out-XXXXXX";
    char err_tmpl[] = "/tmp/famfs-cli-err-XXXXXX";
    const int out_fd = ::mkstemp(out_tmpl);
    const int err_fd = ::mkstemp(err_tmpl);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    Outcome r;
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(out_fd, 1);
        ::dup2(err_fd, 2);
        ::execvp(args[0], args.data());
        ::_exit(126);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    ::close(out_fd);
    ::close(err_fd);
    r.out = slurp(out_tmpl);
    r.err = slurp(err_tmpl);
    ::unlink(out_tmpl);
    ::unlink(err_tmpl);
    return r;
}

namespace {

pid_t spawn_with(const std::vector<std::string>& argv, char* const* envp) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::execve(args[0], args.data(), envp);
        ::_exit(126);
    }
    return pid;
}

}  // namespace

pid_t spawn(const std::vector<std::string>& argv) {
    return spawn_with(argv, environ);
}

pid_t spawn_to_kill(const std::vector<std::string>& argv) {
    // A kill that lands in LeakSanitizer's exit-time scan makes it print
    // "Unable to get registers from thread" to the sanitizer log, which the
    // sanitizer run counts as a report. A process killed on purpose has no
    // exit whose leaks could be checked, so its scan is turned off.
    const char* inherited = std::getenv("ASAN_OPTIONS");
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e)
        if (std::strncmp(*e, "ASAN_OPTIONS=", 13) != 0) env.emplace_back(*e);
    env.push_back(std::string("ASAN_OPTIONS=") + (inherited ? inherited : "") +
                  (inherited && *inherited ? ":" : "") + "detect_leaks=0");
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    return spawn_with(argv, envp.data());
}

void CliTest::SetUp() {
    char tmpl[] = "/dev/shm/famfs-cli-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    dev_ = dir_ + "/dev";
    uuid_file_ = dir_ + "/system_uuid";
    ::setenv("FAMFS_SYSTEM_UUID_FILE", uuid_file_.c_str(), 1);
}

void CliTest::TearDown() {
    if (!mnt_.empty() && run({famfs_bin_, "umount", mnt_}).status != 0) {
        run({"umount", "-l", mnt_});
    }
    std::filesystem::remove_all(dir_);
}

void CliTest::mount() {
    const std::string mnt = dir_ + "/mnt";
    std::filesystem::create_directories(mnt);
    Outcome r = run({famfs_bin_, "mount", dev_, mnt});
    ASSERT_EQ(r.status, 0) << r.err;
    mnt_ = mnt;
}

void CliTest::format(const std::string& size, const std::vector<std::string>& extra) {
    std::vector<std::string> args{"--size", size, "--allow-small"};
    args.insert(args.end(), extra.begin(), extra.end());
    Outcome r = mkfs(args);
    ASSERT_EQ(r.status, 0) << r.err;
}

Outcome CliTest::mkfs(const std::vector<std::string>& args) {
    std::vector<std::string> argv{MKFS_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back(dev_);
    return run(argv);
}

Outcome CliTest::famfs(const std::vector<std::string>& args) {
    std::vector<std::string> argv{famfs_bin_, "--device", dev_};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
}

Outcome CliTest::famfs_plain(const std::vector<std::string>& args) {
    std::vector<std::string> argv{famfs_bin_};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
}

std::vector<uint8_t> CliTest::snapshot() const {
    std::vector<uint8_t> bytes = read_local(dev_);
    // A mounted server rewrites its slot of the host table at every
    // heartbeat (docs/delete.md): while a test's mount runs, that is not
    // a change any command made. Without a mount every byte counts.
    constexpr size_t kTableBytes = omf::kHostSlots * omf::kHostSlotBytes;
    if (!mnt_.empty() && bytes.size() >= omf::kHostTableOffset + kTableBytes)
        std::fill_n(bytes.begin() + omf::kHostTableOffset, kTableBytes, 0);
    return bytes;
}

std::unique_ptr<Volume> CliTest::open_volume() const {
    auto v = Volume::open(dev_, Access::kReadOnly);
    EXPECT_TRUE(v.ok()) << (v ? "" : v.error().message);
    return v ? std::move(*v) : nullptr;
}

uint64_t CliTest::next_index() const {
    return open_volume()->log().next_index();
}

State CliTest::load() const {
    auto st = open_volume()->load();
    EXPECT_TRUE(st.ok());
    return std::move(*st);
}

std::vector<uint8_t> CliTest::read_file(const std::string& relpath) const {
    auto m = dax::FileMapping::open(dev_, relpath, Access::kReadOnly);
    EXPECT_TRUE(m.ok()) << relpath << ": " << (m ? "" : m.error().message);
    if (!m) return {};
    std::vector<uint8_t> out(m->size());
    EXPECT_EQ(m->read(0, out), out.size());
    return out;
}

void CliTest::poke(uint64_t offset, const std::vector<uint8_t>& bytes) const {
    const int fd = ::open(dev_.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset)),
              static_cast<ssize_t>(bytes.size()));
    ::close(fd);
}

std::string CliTest::local_file(const std::string& name, const std::vector<uint8_t>& bytes) const {
    const std::string path = dir_ + "/" + name;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    return path;
}

void CliTest::become_other_host() const {
    std::ofstream(uuid_file_, std::ios::trunc) << omf::uuid_to_string(omf::random_uuid()) << "\n";
}

std::vector<uint8_t> pattern_bytes(size_t n, uint64_t seed) {
    std::vector<uint8_t> v(n);
    fill_pattern(seed, v);
    return v;
}

std::vector<uint8_t> read_local(const std::string& path) {
    const std::string s = slurp(path);
    return {s.begin(), s.end()};
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

}  // namespace famfs::clitest
