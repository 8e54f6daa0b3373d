#include "real_calls.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace famfs::intercept {

namespace {

thread_local bool t_inside = false;

template <class F>
void resolve(F*& slot, const char* name) {
    slot = reinterpret_cast<F*>(dlsym(RTLD_NEXT, name));
    if (!slot) {
        // Without the C library's own function nothing can be passed on.
        std::fprintf(stderr, "libfamfs_intercept: %s: not found in the C library\n", name);
        std::abort();
    }
}

RealCalls load() {
    RealCalls r{};
    resolve(r.open, "open");
    resolve(r.openat, "openat");
    resolve(r.read, "read");
    resolve(r.pread, "pread");
    resolve(r.readv, "readv");
    resolve(r.preadv, "preadv");
    resolve(r.write, "write");
    resolve(r.pwrite, "pwrite");
    resolve(r.writev, "writev");
    resolve(r.pwritev, "pwritev");
    resolve(r.lseek, "lseek");
    resolve(r.fstat, "fstat");
    resolve(r.fsync, "fsync");
    resolve(r.fdatasync, "fdatasync");
    resolve(r.mmap, "mmap");
    resolve(r.munmap, "munmap");
    resolve(r.msync, "msync");
    resolve(r.mprotect, "mprotect");
    resolve(r.dup, "dup");
    resolve(r.dup2, "dup2");
    resolve(r.dup3, "dup3");
    resolve(r.fcntl, "fcntl");
    resolve(r.close, "close");
    resolve(r.close_range, "close_range");
    return r;
}

}  // namespace

const RealCalls& real() {
    static const RealCalls calls = load();
    return calls;
}

bool inside_library() {
    return t_inside;
}

LibraryScope::LibraryScope() : outer_(t_inside) {
    t_inside = true;
}

LibraryScope::~LibraryScope() {
    t_inside = outer_;
}

}  // namespace famfs::intercept
