#include "famfs/cache.h"

#include <cpuid.h>

#include <cstdint>

namespace famfs::cache {
namespace {

constexpr uintptr_t kLine = 64;

enum class Insn { kClwb, kClflushopt, kClflush };

struct Features {
    bool clwb = false;
    bool clflushopt = false;
};

Features detect() {
    Features f;
    unsigned eax, ebx, ecx, edx;
    if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
        f.clflushopt = (ebx >> 23) & 1;
        f.clwb = (ebx >> 24) & 1;
    }
    return f;
}

const Features& features() {
    static const Features f = detect();
    return f;
}

// Inline asm rather than intrinsics: the library builds without -mclwb or
// -mclflushopt and picks the instruction at run time.
inline void clwb(const void* p) {
    asm volatile("clwb %0" : "+m"(*(volatile char*)p));
}
inline void clflushopt(const void* p) {
    asm volatile("clflushopt %0" : "+m"(*(volatile char*)p));
}
inline void clflush(const void* p) {
    asm volatile("clflush %0" : "+m"(*(volatile char*)p));
}

template <class Op>
void each_line(const void* p, size_t n, Op op) {
    if (n == 0) return;
    uintptr_t a = reinterpret_cast<uintptr_t>(p) & ~(kLine - 1);
    uintptr_t end = reinterpret_cast<uintptr_t>(p) + n;
    for (; a < end; a += kLine) op(reinterpret_cast<const void*>(a));
}

Insn flush_insn() {
    if (features().clwb) return Insn::kClwb;
    if (features().clflushopt) return Insn::kClflushopt;
    return Insn::kClflush;
}

Insn invalidate_insn() {
    return features().clflushopt ? Insn::kClflushopt : Insn::kClflush;
}

void run(Insn insn, const void* p, size_t n) {
    switch (insn) {
        case Insn::kClwb:
            each_line(p, n, clwb);
            break;
        case Insn::kClflushopt:
            each_line(p, n, clflushopt);
            break;
        case Insn::kClflush:
            each_line(p, n, clflush);
            break;
    }
}

const char* name(Insn insn) {
    switch (insn) {
        case Insn::kClwb:
            return "clwb";
        case Insn::kClflushopt:
            return "clflushopt";
        case Insn::kClflush:
            return "clflush";
    }
    return "?";
}

}  // namespace

void flush(const void* p, size_t n) {
    run(flush_insn(), p, n);
    asm volatile("sfence" ::: "memory");  // order the write-backs before later stores
}

void invalidate(const void* p, size_t n) {
    asm volatile("mfence" ::: "memory");  // earlier loads must not pass the flush
    run(invalidate_insn(), p, n);
    asm volatile("mfence" ::: "memory");  // later loads must miss the cache
}

const char* flush_method() {
    return name(flush_insn());
}
const char* invalidate_method() {
    return name(invalidate_insn());
}

}  // namespace famfs::cache
