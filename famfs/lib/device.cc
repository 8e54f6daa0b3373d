#include "famfs/device.h"

#include <daxctl/libdaxctl.h>
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <type_traits>

#include "famfs/cache.h"

namespace famfs {
namespace {

std::string errno_text(int err) {
    return std::strerror(err);
}

Error sys_error(const std::string& object, const std::string& what) {
    int err = errno;
    return make_error(err, object + ": " + what + ": " + errno_text(err));
}

// Any device: a file descriptor and a MAP_SHARED mapping of the whole device.
class MappedDevice final : public Device {
  public:
    MappedDevice(std::string path, DeviceKind kind, bool host_local, Access access, int fd,
                 uint8_t* base, uint64_t size)
        : path_(std::move(path)),
          kind_(kind),
          host_local_(host_local),
          access_(access),
          fd_(fd),
          base_(base),
          size_(size) {}
    ~MappedDevice() override {
        munmap(base_, size_);
        close(fd_);
    }
    uint8_t* base() override { return base_; }
    uint64_t size() const override { return size_; }
    const std::string& path() const override { return path_; }
    DeviceKind kind() const override { return kind_; }
    Access access() const override { return access_; }
    bool host_local_memory() const override { return host_local_; }
    // The mapping is MAP_SHARED, so dropped pages keep their contents (in
    // the device, or in the file's page cache). A PCI BAR's mapping refuses
    // (EINVAL) and simply stays.
    void drop_page_tables(const void* p, size_t n) override {
        const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
        const uintptr_t start = (reinterpret_cast<uintptr_t>(p) + page - 1) / page * page;
        const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + n) / page * page;
        if (end > start) (void)madvise(reinterpret_cast<void*>(start), end - start, MADV_DONTNEED);
    }

  private:
    std::string path_;
    DeviceKind kind_;
    bool host_local_;
    Access access_;
    int fd_;
    uint8_t* base_;
    uint64_t size_;
};

// libdaxctl, loaded on first use: it drags in libkmod, libcrypto and zstd,
// which would cost every famfs command ~2 ms of dynamic linking, while only
// devdax devices need it.
struct Daxctl {
    decltype(&daxctl_new) new_ctx = nullptr;
    decltype(&daxctl_unref) unref = nullptr;
    decltype(&daxctl_region_get_first) region_first = nullptr;
    decltype(&daxctl_region_get_next) region_next = nullptr;
    decltype(&daxctl_dev_get_first) dev_first = nullptr;
    decltype(&daxctl_dev_get_next) dev_next = nullptr;
    decltype(&daxctl_dev_get_major) dev_major = nullptr;
    decltype(&daxctl_dev_get_minor) dev_minor = nullptr;
    decltype(&daxctl_dev_get_size) dev_size = nullptr;
    bool loaded = false;
};

const Daxctl& daxctl() {
    static const Daxctl lib = [] {
        Daxctl d;
        void* h = dlopen("libdaxctl.so.1", RTLD_NOW | RTLD_LOCAL);
        if (!h) return d;
        auto sym = [h](auto& fn, const char* name) {
            fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(h, name));
            return fn != nullptr;
        };
        d.loaded =
            sym(d.new_ctx, "daxctl_new") && sym(d.unref, "daxctl_unref") &&
            sym(d.region_first, "daxctl_region_get_first") &&
            sym(d.region_next, "daxctl_region_get_next") &&
            sym(d.dev_first, "daxctl_dev_get_first") && sym(d.dev_next, "daxctl_dev_get_next") &&
            sym(d.dev_major, "daxctl_dev_get_major") && sym(d.dev_minor, "daxctl_dev_get_minor") &&
            sym(d.dev_size, "daxctl_dev_get_size");
        return d;
    }();
    return lib;
}

uint64_t devdax_size_from_daxctl(dev_t rdev) {
    const Daxctl& dx = daxctl();
    daxctl_ctx* ctx = nullptr;
    if (!dx.loaded || dx.new_ctx(&ctx) < 0) return 0;
    uint64_t size = 0;
    for (auto* region = dx.region_first(ctx); region; region = dx.region_next(region))
        for (auto* dev = dx.dev_first(region); dev; dev = dx.dev_next(dev))
            if (static_cast<unsigned>(dx.dev_major(dev)) == major(rdev) &&
                static_cast<unsigned>(dx.dev_minor(dev)) == minor(rdev))
                size = dx.dev_size(dev);
    dx.unref(ctx);
    return size;
}

// The same figure from sysfs, for hosts without libdaxctl.
uint64_t devdax_size_from_sysfs(dev_t rdev) {
    std::string path = "/sys/dev/char/" + std::to_string(major(rdev)) + ":" +
                       std::to_string(minor(rdev)) + "/size";
    std::ifstream in(path);
    uint64_t size = 0;
    in >> size;
    return in ? size : 0;
}

Result<uint64_t> devdax_size(const std::string& path, dev_t rdev) {
    uint64_t size = devdax_size_from_daxctl(rdev);
    if (size == 0) size = devdax_size_from_sysfs(rdev);
    if (size == 0)
        return make_error(ENODEV, path + ": not a devdax device (no size from libdaxctl or sysfs)");
    return size;
}

// Judged on the resolved path: users name BARs through links (/dev/famfs0).
bool is_pci_resource(const std::string& path) {
    char resolved[PATH_MAX];
    if (!realpath(path.c_str(), resolved)) return false;
    std::string real(resolved);
    return real.starts_with("/sys/") && real.find("/resource") != std::string::npos;
}

struct Probe {
    DeviceKind kind;
    uint64_t size;
    bool host_local = false;
};

// A file whose page cache is its only storage: the memory itself.
bool in_ram_file_system(int fd) {
    struct statfs fs;
    if (fstatfs(fd, &fs) < 0) return false;
    return fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC || fs.f_type == HUGETLBFS_MAGIC;
}

Result<Probe> probe(const std::string& path, int fd) {
    struct stat st;
    if (fstat(fd, &st) < 0) return sys_error(path, "cannot stat");
    if (S_ISCHR(st.st_mode)) {
        auto size = devdax_size(path, st.st_rdev);
        if (!size) return size.error();
        return Probe{DeviceKind::kDevdax, *size};
    }
    if (!S_ISREG(st.st_mode))
        return make_error(ENODEV, path +
                                      ": not a memory device (need a devdax device, a PCI BAR "
                                      "resource file or a regular file)");
    // sysfs reports a PCI BAR resource's size as the file size.
    if (is_pci_resource(path)) return Probe{DeviceKind::kPciBar, static_cast<uint64_t>(st.st_size)};
    return Probe{DeviceKind::kFile, static_cast<uint64_t>(st.st_size), in_ram_file_system(fd)};
}

// Set only by test builds (device.h); constant-initialized, so it is null
// before any static initializer runs.
DeviceDecorator g_decorator = nullptr;

}  // namespace

const char* to_string(DeviceKind kind) {
    switch (kind) {
        case DeviceKind::kFile:
            return "file";
        case DeviceKind::kDevdax:
            return "devdax";
        case DeviceKind::kPciBar:
            return "pci-bar";
        case DeviceKind::kMemory:
            return "memory";
    }
    return "?";
}

Status Device::persist(const void* p, size_t n) {
    cache::flush(p, n);
    return {};
}

void Device::invalidate(const void* p, size_t n) {
    cache::invalidate(p, n);
}

void Device::drop_page_tables(const void*, size_t) {}

Result<std::unique_ptr<Device>> open_device(const std::string& path, Access access) {
    bool rw = access == Access::kReadWrite;
    int fd = open(path.c_str(), (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) return sys_error(path, "cannot open device");
    auto p = probe(path, fd);
    if (!p) {
        close(fd);
        return p.error();
    }
    if (p->size == 0) {
        close(fd);
        return make_error(EINVAL, path + ": device is empty");
    }
    void* base = mmap(nullptr, p->size, rw ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        Error e = sys_error(path, "cannot map device");
        close(fd);
        return e;
    }
    std::unique_ptr<Device> dev(new MappedDevice(path, p->kind, p->host_local, access, fd,
                                                 static_cast<uint8_t*>(base), p->size));
    if (g_decorator) return g_decorator(std::move(dev));
    return dev;
}

void set_device_decorator(DeviceDecorator decorate) {
    g_decorator = decorate;
}

Status create_device_file(const std::string& path, uint64_t size) {
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return sys_error(path, "cannot create device file");
    struct stat st;
    Status s;
    if (fstat(fd, &st) < 0) {
        s = sys_error(path, "cannot stat");
    } else if (!S_ISREG(st.st_mode)) {
        s = make_error(EINVAL, path + ": --size only applies to a regular file");
    } else if (ftruncate(fd, static_cast<off_t>(size)) < 0) {
        s = sys_error(path, "cannot set size");
    }
    close(fd);
    return s;
}

// ---- host-local locks ----

namespace {

// Byte 0: the mount lock (shared by servers); byte 1: the append lock;
// byte 2: the use lock (shared by every open Volume); byte 3: the host
// table lock.
off_t lock_byte(DeviceLock::Kind kind) {
    switch (kind) {
        case DeviceLock::Kind::kMount:
            return 0;
        case DeviceLock::Kind::kAppend:
            return 1;
        case DeviceLock::Kind::kUse:
            return 2;
        case DeviceLock::Kind::kHostTable:
            return 3;
    }
    return 1;
}

const char* lock_name(DeviceLock::Kind kind) {
    switch (kind) {
        case DeviceLock::Kind::kMount:
            return "mount";
        case DeviceLock::Kind::kAppend:
            return "append";
        case DeviceLock::Kind::kUse:
            return "use";
        case DeviceLock::Kind::kHostTable:
            return "host table";
    }
    return "device";
}

struct flock lock_request(DeviceLock::Kind kind, short type) {
    struct flock fl {};
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = lock_byte(kind);
    fl.l_len = 1;
    return fl;
}

std::string slurp_small(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A process's command line, its arguments separated by blanks.
std::string command_of(const std::string& pid) {
    std::string cmd = slurp_small("/proc/" + pid + "/cmdline");
    while (!cmd.empty() && cmd.back() == '\0') cmd.pop_back();
    std::replace(cmd.begin(), cmd.end(), '\0', ' ');
    if (cmd.empty()) {
        cmd = slurp_small("/proc/" + pid + "/comm");
        while (!cmd.empty() && cmd.back() == '\n') cmd.pop_back();
    }
    return cmd;
}

// Whether an open file's /proc/PID/fdinfo text lists a lock that covers
// byte `at` of the inode (st_dev, st_ino). The lines read
//   lock:\t1: OFDLCK ADVISORY  WRITE -1 00:1a:1909 1 1
bool fdinfo_holds(const std::string& fdinfo, dev_t dev, ino_t ino, off_t at) {
    std::ifstream in(fdinfo);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("lock:", 0) != 0) continue;
        unsigned maj = 0, min = 0;
        unsigned long long inode = 0;
        long long start = 0;
        char end[24] = {};
        if (std::sscanf(line.c_str(), "lock: %*d: %*s %*s %*s %*d %x:%x:%llu %lld %23s", &maj, &min,
                        &inode, &start, end) != 5)
            continue;
        if (maj != major(dev) || min != minor(dev) || inode != static_cast<unsigned long long>(ino))
            continue;
        const bool to_eof = std::strcmp(end, "EOF") == 0;
        if (start <= at && (to_eof || std::strtoll(end, nullptr, 10) >= at)) return true;
    }
    return false;
}

}  // namespace

Result<DeviceLock> DeviceLock::acquire(const std::string& device_path, Kind kind, bool wait) {
    const bool exclusive = kind == Kind::kAppend || kind == Kind::kHostTable;
    int fd = open(device_path.c_str(), (exclusive ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) return sys_error(device_path, "cannot open device to lock it");
    struct flock fl = lock_request(kind, exclusive ? F_WRLCK : F_RDLCK);
    while (fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) < 0) {
        if (errno == EINTR) continue;
        Error e =
            (errno == EAGAIN || errno == EACCES)
                ? make_error(EBUSY, device_path + ": device is locked by another famfs process")
                : sys_error(device_path, "cannot lock device");
        close(fd);
        return e;
    }
    return DeviceLock(fd);
}

Result<DeviceLock> DeviceLock::acquire_exclusive(const std::string& device_path, Kind kind) {
    int fd = open(device_path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return sys_error(device_path, "cannot open device to lock it");
    struct flock fl = lock_request(kind, F_WRLCK);
    while (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        close(fd);
        if (err != EAGAIN && err != EACCES) {
            errno = err;
            return sys_error(device_path, "cannot lock device");
        }
        const std::string who = holders(device_path, kind);
        return make_error(EBUSY, device_path + ": device is in use by " +
                                     (who.empty() ? std::string("another famfs process") : who) +
                                     " (it holds the " + lock_name(kind) + " lock)");
    }
    return DeviceLock(fd);
}

std::string DeviceLock::holders(const std::string& device_path, Kind kind) {
    struct stat st;
    if (stat(device_path.c_str(), &st) != 0) return {};
    const std::string self = std::to_string(getpid());
    std::string out;
    DIR* proc = opendir("/proc");
    if (proc == nullptr) return {};
    while (const dirent* p = readdir(proc)) {
        const std::string pid = p->d_name;
        if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos || pid == self)
            continue;
        const std::string fds = "/proc/" + pid + "/fdinfo";
        DIR* d = opendir(fds.c_str());
        if (d == nullptr) continue;
        bool holds = false;
        while (const dirent* f = readdir(d)) {
            if (f->d_name[0] == '.') continue;
            if (fdinfo_holds(fds + "/" + f->d_name, st.st_dev, st.st_ino, lock_byte(kind))) {
                holds = true;
                break;
            }
        }
        closedir(d);
        if (!holds) continue;
        if (!out.empty()) out += ", ";
        out += "pid " + pid;
        if (const std::string cmd = command_of(pid); !cmd.empty()) out += " (" + cmd + ")";
    }
    closedir(proc);
    return out;
}

bool DeviceLock::in_use(const std::string& device_path) {
    int fd = open(device_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct flock fl = lock_request(Kind::kMount, F_WRLCK);
    bool busy = fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
    close(fd);
    return busy;
}

DeviceLock::DeviceLock(DeviceLock&& other) noexcept : fd_(other.fd_) {
    other.fd_ = -1;
}

DeviceLock& DeviceLock::operator=(DeviceLock&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) close(fd_);
        fd_ = other.fd_;
        other.fd_ = -1;
    }
    return *this;
}

DeviceLock::~DeviceLock() {
    if (fd_ >= 0) close(fd_);  // closing the description releases its locks
}

}  // namespace famfs
