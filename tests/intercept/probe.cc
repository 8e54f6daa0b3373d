// intercept_probe: plays one scenario of file calls on a famfs file and
// prints what each call returned, one line per step. The interception
// tests run it through the mount and again under libfamfs_intercept.so:
// the two transcripts must be the same (the mount is the contract).
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

// FNV-1a: enough to tell bytes apart in a transcript.
uint64_t digest(const void* p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ static_cast<const uint8_t*>(p)[i]) * 1099511628211ull;
    return h;
}

void say(const char* step, long long r) {
    if (r < 0) {
        std::printf("%s: -1 %s\n", step, strerrorname_np(errno));
    } else {
        std::printf("%s: %lld\n", step, r);
    }
    std::fflush(stdout);
}

void say_read(const char* step, ssize_t r, const void* buf) {
    if (r < 0) return say(step, r);
    std::printf("%s: %zd bytes %016llx\n", step, r,
                static_cast<unsigned long long>(digest(buf, static_cast<size_t>(r))));
    std::fflush(stdout);
}

off_t position(int fd) {
    return lseek(fd, 0, SEEK_CUR);
}

int open_or_die(const char* path, int flags) {
    const int fd = open(path, flags);
    if (fd < 0) {
        std::fprintf(stderr, "intercept_probe: %s: %s\n", path, std::strerror(errno));
        std::exit(2);
    }
    return fd;
}

// Reads, writes and positions, within and across the end of the file.
void io(const char* path) {
    const int fd = open_or_die(path, O_RDWR);
    struct stat st {};
    say("fstat", fstat(fd, &st));
    say("size", st.st_size);
    const off_t size = st.st_size;
    std::vector<char> buf(70000);
    say_read("pread 4096@0", pread(fd, buf.data(), 4096, 0), buf.data());
    say_read("pread 70000@size-5000", pread(fd, buf.data(), 70000, size - 5000), buf.data());
    say_read("pread at end", pread(fd, buf.data(), 10, size), buf.data());
    say("pread negative offset", pread(fd, buf.data(), 10, -1));
    say_read("read 1000", read(fd, buf.data(), 1000), buf.data());
    say_read("read 1000 more", read(fd, buf.data(), 1000), buf.data());
    say("position", position(fd));
    std::memset(buf.data(), 'w', 100);
    say("write 100", write(fd, buf.data(), 100));
    say("position", position(fd));
    say("pwrite across the end", pwrite(fd, buf.data(), 100, size - 30));
    say("pwrite at the end", pwrite(fd, buf.data(), 10, size));
    say("pwrite nothing at the end", pwrite(fd, buf.data(), 0, size));
    say_read("pread back", pread(fd, buf.data(), 200, 1900), buf.data());
    char a[10], b[20];
    iovec iov[2] = {{a, sizeof a}, {b, sizeof b}};
    say("preadv", preadv(fd, iov, 2, 50));
    say_read("preadv bytes", 20, b);
    say("readv", readv(fd, iov, 2));
    say("position", position(fd));
    std::memset(a, 'v', sizeof a);
    say("pwritev", pwritev(fd, iov, 2, 4000));
    say("writev", writev(fd, iov, 2));
    say("lseek end", lseek(fd, 0, SEEK_END));
    say("lseek end-10", lseek(fd, -10, SEEK_END));
    say("lseek data", lseek(fd, 5, SEEK_DATA));
    say("lseek hole", lseek(fd, 5, SEEK_HOLE));
    say("lseek data past end", lseek(fd, size + 1, SEEK_DATA));
    say("fsync", fsync(fd));
    say("fdatasync", fdatasync(fd));
    say_read("whole file", pread(fd, buf.data(), 65536, 0), buf.data());
    close(fd);
}

// Access modes: what the kernel refuses on the descriptor.
void modes(const char* path) {
    char c = 0;
    int fd = open_or_die(path, O_RDONLY);
    say("write on read-only", write(fd, &c, 1));
    say("pwrite on read-only", pwrite(fd, &c, 1, 0));
    close(fd);
    fd = open_or_die(path, O_WRONLY);
    say("read on write-only", read(fd, &c, 1));
    say("pread on write-only", pread(fd, &c, 1, 0));
    close(fd);
    fd = open(path, O_WRONLY | O_APPEND);
    say("open O_APPEND", fd < 0 ? -1 : 0);
    if (fd >= 0) say("write O_APPEND", write(fd, "x", 1));
    close(fd);
    fd = open(path, O_RDWR | O_TRUNC);
    say("open O_TRUNC", fd < 0 ? -1 : 0);
    if (fd >= 0) close(fd);
}

// Descriptors that share one open file: dup, dup2, dup3, F_DUPFD, fork.
void sharing(const char* path) {
    const int fd = open_or_die(path, O_RDONLY);
    char buf[100];
    say_read("read", read(fd, buf, 100), buf);
    const int d1 = dup(fd);
    const int d2 = dup2(fd, 40);
    const int d3 = dup3(fd, 41, O_CLOEXEC);
    const int d4 = fcntl(fd, F_DUPFD, 50);
    say_read("read dup", read(d1, buf, 100), buf);
    say_read("read dup2", read(d2, buf, 100), buf);
    say_read("read dup3", read(d3, buf, 100), buf);
    say_read("read F_DUPFD", read(d4, buf, 100), buf);
    close(fd);
    say_read("read dup after close", read(d1, buf, 100), buf);
    const pid_t pid = fork();
    if (pid == 0) {
        say_read("child read", read(d1, buf, 100), buf);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    say("position after child", position(d1));
    say_read("parent read", read(d1, buf, 100), buf);
}

// exec(): the descriptor and its position survive; the new program reads on.
void exec_parent(const char* self, const char* path, bool keep_library) {
    const int fd = open_or_die(path, O_RDONLY);
    char buf[100];
    say_read("read before exec", read(fd, buf, 100), buf);
    if (!keep_library) unsetenv("LD_PRELOAD");
    const std::string fdtext = std::to_string(fd);
    execl(self, self, "exec-child", fdtext.c_str(), static_cast<char*>(nullptr));
    say("exec", -1);
}

void exec_child(int fd) {
    char buf[100];
    say_read("read after exec", read(fd, buf, 100), buf);
    say_read("pread after exec", pread(fd, buf, 100, 7), buf);
    say("position", position(fd));
}

// Runs fn in a child; prints how it ended.
template <class Fn>
void in_child(const char* step, Fn fn) {
    const pid_t pid = fork();
    if (pid == 0) {
        fn();
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status)) {
        std::printf("%s: killed by %s\n", step, sigabbrev_np(WTERMSIG(status)));
    } else {
        std::printf("%s: exit %d\n", step, WEXITSTATUS(status));
    }
    std::fflush(stdout);
}

// Shared mappings: stores reach the file; the kernel's refusals hold.
void mapping(const char* path) {
    const int fd = open_or_die(path, O_RDWR);
    struct stat st {};
    fstat(fd, &st);
    const size_t size = static_cast<size_t>(st.st_size);
    auto* p = static_cast<char*>(mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    say("mmap", p == MAP_FAILED ? -1 : 0);
    if (p == MAP_FAILED) return;
    say_read("mapped bytes", 4096, p);
    std::memcpy(p + 5000, "stored through the mapping", 26);
    std::memcpy(p + size - 4, "tail", 4);
    say("msync", msync(p, size, MS_SYNC));
    char buf[32];
    say_read("pread stored bytes", pread(fd, buf, 26, 5000), buf);
    say_read("pread tail", pread(fd, buf, 4, static_cast<off_t>(size - 4)), buf);
    say("mprotect read-only", mprotect(p, size, PROT_READ));
    say("munmap", munmap(p, size));
    const int ro = open_or_die(path, O_RDONLY);
    void* q = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0);
    say("mmap writable of read-only", q == MAP_FAILED ? -1 : 0);
    q = mmap(nullptr, 4096, PROT_READ, MAP_SHARED, ro, 0);
    say("mmap read-only", q == MAP_FAILED ? -1 : 0);
    if (q != MAP_FAILED) say("mprotect writable", mprotect(q, 4096, PROT_READ | PROT_WRITE));
    say("mmap unaligned offset",
        mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 100) == MAP_FAILED ? -1 : 0);
    say("mmap zero length", mmap(nullptr, 0, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED ? -1 : 0);
    auto* priv =
        static_cast<char*>(mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0));
    say("mmap private", priv == MAP_FAILED ? -1 : 0);
    if (priv != MAP_FAILED) {
        priv[5000] = 'P';
        say_read("pread after a private store", pread(fd, buf, 26, 5000), buf);
    }
    const size_t past = (size + 4095) / 4096 * 4096 + 8192;
    auto* big = static_cast<char*>(mmap(nullptr, past, PROT_READ, MAP_SHARED, fd, 0));
    say("mmap past the end", big == MAP_FAILED ? -1 : 0);
    if (big != MAP_FAILED) {
        in_child("touch last page", [&] { (void)*static_cast<volatile char*>(big + size - 1); });
        in_child("touch past the end", [&] { (void)*static_cast<volatile char*>(big + past - 1); });
    }
    close(fd);
}

// A descriptor closed behind the library's back, its number taken by
// another file.
void closed_behind(const char* path, const char* other) {
    const int fd = open_or_die(path, O_RDONLY);
    char buf[64];
    say_read("read", read(fd, buf, 64), buf);
    say("raw close", syscall(SYS_close, fd));
    say("read closed", read(fd, buf, 64));
    const int again = open_or_die(other, O_RDONLY);
    say("same number", again == fd ? 1 : 0);
    say_read("read the other file", pread(again, buf, 64, 0), buf);
}

// Memory failing under an open file: the device file is cut short below
// the file's memory (touching it then raises SIGBUS, as poisoned memory
// does), and put back afterwards (zeros).
void failing(const char* path, const char* device, off_t cut_at) {
    const int fd = open_or_die(path, O_RDWR);
    char buf[4096];
    say_read("read before", pread(fd, buf, sizeof buf, 0), buf);
    auto* p = static_cast<char*>(mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0));
    struct stat st {};
    stat(device, &st);
    say("cut the device", truncate(device, cut_at));
    say("read after", pread(fd, buf, sizeof buf, 0));
    say("write after", pwrite(fd, buf, 16, 0));
    if (p != MAP_FAILED) {
        in_child("touch the mapping", [&] { (void)*static_cast<volatile char*>(p); });
    }
    say("restore the device", truncate(device, st.st_size));
    close(fd);
}

// Whether this process still holds the file's open file description on
// the mount, which the host's server counts as the file in use: through a
// descriptor (the library's hold of a mapping it serves) or a mapping of
// the mount's file (the kernel's own).
bool held_open(const std::string& file) {
    const std::string fd_dir = "/proc/self/fd";
    DIR* d = opendir(fd_dir.c_str());
    if (!d) return false;
    bool held = false;
    while (dirent* e = readdir(d)) {
        char link[4096];
        const std::string at = fd_dir + "/" + e->d_name;
        const ssize_t n = readlink(at.c_str(), link, sizeof link - 1);
        if (n > 0 && std::string(link, static_cast<size_t>(n)) == file) held = true;
    }
    closedir(d);
    FILE* maps = std::fopen("/proc/self/maps", "r");
    char line[8192];
    while (maps && std::fgets(line, sizeof line, maps)) {
        std::string l(line);
        if (!l.empty() && l.back() == '\n') l.pop_back();
        if (l.size() >= file.size() && l.compare(l.size() - file.size(), file.size(), file) == 0) {
            held = true;
        }
    }
    if (maps) std::fclose(maps);
    return held;
}

// Descriptors of the file this process has, whoever opened them.
std::vector<int> descriptors_of(const std::string& file) {
    std::vector<int> fds;
    DIR* d = opendir("/proc/self/fd");
    if (!d) return fds;
    while (dirent* e = readdir(d)) {
        char link[4096];
        const std::string at = std::string("/proc/self/fd/") + e->d_name;
        const ssize_t n = readlink(at.c_str(), link, sizeof link - 1);
        if (n > 0 && std::string(link, static_cast<size_t>(n)) == file) {
            fds.push_back(std::atoi(e->d_name));
        }
    }
    closedir(d);
    return fds;
}

// A shared mapping keeps the file open after its descriptor is closed,
// until every piece of it is unmapped, in a forked child as well.
void held(const char* path) {
    char real_path[PATH_MAX];
    if (!realpath(path, real_path)) std::exit(2);
    const std::string file = real_path;
    const int fd = open_or_die(path, O_RDWR);
    struct stat st {};
    fstat(fd, &st);
    const size_t size = static_cast<size_t>(st.st_size);
    auto* p = static_cast<char*>(mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    say("mmap", p == MAP_FAILED ? -1 : 0);
    if (p == MAP_FAILED) return;
    say("close", close(fd));
    say("held after close", held_open(file));
    // A program closing every descriptor it finds does not close the file.
    for (const int other : descriptors_of(file)) {
        close(other);
        close_range(static_cast<unsigned>(other), static_cast<unsigned>(other), 0);
    }
    say("held after closing every descriptor of it", held_open(file));
    say_read("mapped bytes", 4096, p);
    say("munmap the first 2 MiB", munmap(p, 2u << 20));
    say("held with a piece left", held_open(file));
    int go[2];
    if (pipe(go) != 0) std::exit(2);
    const pid_t pid = fork();
    if (pid == 0) {
        char c;
        close(go[1]);
        (void)!read(go[0], &c, 1);
        say("child: held", held_open(file));
        say("child: munmap", munmap(p + (2u << 20), size - (2u << 20)));
        say("child: held after munmap", held_open(file));
        _exit(0);
    }
    close(go[0]);
    say("parent: munmap the rest", munmap(p + (2u << 20), size - (2u << 20)));
    say("parent: held after munmap", held_open(file));
    (void)!write(go[1], "g", 1);
    close(go[1]);
    int status = 0;
    waitpid(pid, &status, 0);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr,
                     "usage: intercept_probe io|modes|sharing|mapping|held|exec|exec-keep FILE\n"
                     "       intercept_probe closed-behind FILE OTHER\n"
                     "       intercept_probe failing FILE DEVICE CUT_AT\n");
        return 1;
    }
    const std::string what = argv[1];
    if (what == "io") {
        io(argv[2]);
    } else if (what == "modes") {
        modes(argv[2]);
    } else if (what == "sharing") {
        sharing(argv[2]);
    } else if (what == "mapping") {
        mapping(argv[2]);
    } else if (what == "held") {
        held(argv[2]);
    } else if (what == "exec" || what == "exec-keep") {
        exec_parent(argv[0], argv[2], what == "exec-keep");
    } else if (what == "exec-child") {
        exec_child(std::atoi(argv[2]));
    } else if (what == "failing" && argc > 4) {
        failing(argv[2], argv[3], std::atoll(argv[4]));
    } else if (what == "closed-behind" && argc > 3) {
        closed_behind(argv[2], argv[3]);
    } else {
        std::fprintf(stderr, "intercept_probe: unknown scenario %s\n", what.c_str());
        return 1;
    }
    return 0;
}
