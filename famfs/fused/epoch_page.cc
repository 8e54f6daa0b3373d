#include "epoch_page.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace famfs::fused {

namespace {

constexpr char kDir[] = "/dev/shm";
constexpr char kPrefix[] = "famfs-epoch-";
constexpr size_t kPageBytes = 4096;

// famfs-epoch-PID-XXXXXX of a process that no longer exists.
bool left_by_a_dead_server(const char* name) {
    if (std::strncmp(name, kPrefix, sizeof kPrefix - 1) != 0) return false;
    char* end = nullptr;
    const long pid = std::strtol(name + sizeof kPrefix - 1, &end, 10);
    if (pid <= 0 || !end || *end != '-') return false;
    return kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

void remove_leftovers() {
    DIR* d = opendir(kDir);
    if (!d) return;
    while (const dirent* e = readdir(d)) {
        if (left_by_a_dead_server(e->d_name)) unlinkat(dirfd(d), e->d_name, 0);
    }
    closedir(d);
}

Error sys_error(const std::string& path, const char* what) {
    return make_error(errno, path + ": " + what + ": " + std::strerror(errno));
}

}  // namespace

Result<EpochPage> EpochPage::create() {
    remove_leftovers();
    std::string path = std::string(kDir) + "/" + kPrefix + std::to_string(getpid()) + "-XXXXXX";
    const int fd = mkostemp(path.data(), O_CLOEXEC);
    if (fd < 0) return sys_error(path, "cannot create the epoch page");
    // Readable by every user whose processes may serve files from memory.
    void* p = MAP_FAILED;
    if (fchmod(fd, 0644) == 0 && ftruncate(fd, kPageBytes) == 0) {
        p = mmap(nullptr, kPageBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    }
    Error err = p == MAP_FAILED ? sys_error(path, "cannot map the epoch page") : Error{};
    close(fd);
    if (p == MAP_FAILED) {
        unlink(path.c_str());
        return err;
    }
    return EpochPage(std::move(path), static_cast<std::atomic<uint64_t>*>(p));
}

EpochPage::EpochPage(EpochPage&& o) noexcept
    : path_(std::move(o.path_)), counter_(std::exchange(o.counter_, nullptr)) {}

EpochPage::~EpochPage() {
    if (!counter_) return;
    munmap(counter_, kPageBytes);
    unlink(path_.c_str());
}

}  // namespace famfs::fused
