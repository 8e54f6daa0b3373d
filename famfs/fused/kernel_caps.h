// Kernel FUSE capabilities that libfuse 3.14 cannot negotiate. Its
// fuse_conn_info.want is 32 bits wide, so INIT flags above bit 31 are never
// requested; FUSE_DIRECT_IO_ALLOW_MMAP (bit 36, kernel 6.6+) is one of them.
// It lets a file opened with FOPEN_DIRECT_IO be mmap()ed MAP_SHARED, which
// is what famfs needs: read()/write() straight to shared memory, and mmap
// through the page cache. We install a custom I/O layer on the session that
// watches the kernel's INIT request and adds the flag to libfuse's reply
// when the kernel offers it.
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

namespace famfs::fused {

// Hooks the session's reads and writes of /dev/fuse (after
// fuse_session_mount): requests are read by read_request()
// (request_reader.h), replies sent by colocation::send_reply(). With
// allow_mmap, asks for FUSE_DIRECT_IO_ALLOW_MMAP when the kernel offers it.
// after_init runs once the kernel has processed the INIT reply (settings the
// kernel would otherwise overwrite then). Returns 0 or a positive errno.
int install_kernel_caps(fuse_session* se, bool allow_mmap, void (*after_init)());
// True once the kernel has accepted direct-I/O files being mmap()ed.
bool direct_io_mmap_enabled();

}  // namespace famfs::fused
