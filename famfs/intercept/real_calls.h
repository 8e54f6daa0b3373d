// The C library's own functions behind the ones this library defines,
// found once with dlsym(RTLD_NEXT). Every interposed call that is not
// served, and every call the library makes for itself, goes through them.
#pragma once

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

namespace famfs::intercept {

struct RealCalls {
    int (*open)(const char*, int, ...);
    int (*openat)(int, const char*, int, ...);
    ssize_t (*read)(int, void*, size_t);
    ssize_t (*pread)(int, void*, size_t, off_t);
    ssize_t (*readv)(int, const iovec*, int);
    ssize_t (*preadv)(int, const iovec*, int, off_t);
    ssize_t (*write)(int, const void*, size_t);
    ssize_t (*pwrite)(int, const void*, size_t, off_t);
    ssize_t (*writev)(int, const iovec*, int);
    ssize_t (*pwritev)(int, const iovec*, int, off_t);
    off_t (*lseek)(int, off_t, int);
    int (*fstat)(int, struct stat*);
    int (*fsync)(int);
    int (*fdatasync)(int);
    void* (*mmap)(void*, size_t, int, int, int, off_t);
    int (*munmap)(void*, size_t);
    int (*msync)(void*, size_t, int);
    int (*mprotect)(void*, size_t, int);
    int (*dup)(int);
    int (*dup2)(int, int);
    int (*dup3)(int, int, int);
    int (*fcntl)(int, int, ...);
    int (*close)(int);
    int (*close_range)(unsigned, unsigned, int);
};

// Resolved on first use; safe to call from the library's constructor.
const RealCalls& real();

// True on a thread while the library itself is working (fetching a map,
// opening and mapping a device): its own calls to open(), mmap() and the
// rest then go straight to the C library.
bool inside_library();
class LibraryScope {
  public:
    LibraryScope();
    ~LibraryScope();
    LibraryScope(const LibraryScope&) = delete;
    LibraryScope& operator=(const LibraryScope&) = delete;

  private:
    bool outer_;
};

}  // namespace famfs::intercept
