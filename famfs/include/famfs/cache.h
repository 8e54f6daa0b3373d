// CPU cache write-back and invalidation for memory that is not cache-coherent
// between hosts. The instruction is chosen at run time: CLWB (write back,
// keep the line) for flushes where available, else CLFLUSHOPT, else CLFLUSH;
// invalidation needs CLFLUSHOPT or CLFLUSH (CLWB may keep the line).
#pragma once

#include <cstddef>

namespace famfs::cache {

void flush(const void* p, size_t n);
void invalidate(const void* p, size_t n);
const char* flush_method();
const char* invalidate_method();

}  // namespace famfs::cache
