// The server's request transport: how famfs_fused's threads read requests
// from /dev/fuse and write replies to it. One piece owns it, installed on
// the session as libfuse's custom I/O (fuse_session_custom_io) after
// fuse_session_mount:
//
// Reading (README-datapath.md, "Running the server"). One thread at a time,
// the reader, waits on /dev/fuse; the others wait for the reader role. The
// reader keeps the role while it serves a quick request (open, close,
// getattr, small reads), or a data request of up to 1 MiB when no other
// request is waiting, so back-to-back requests from one client are served by
// one thread without waking another; such a data request is served on the
// requester's CPU (colocation.h). Before any other request (directory and
// log work, or data while requests are queued) it passes the role on, so
// other requests are served meanwhile.
//
// Replying: through colocation::send_reply().
//
// Kernel FUSE capabilities that libfuse 3.14 cannot negotiate. Its
// fuse_conn_info.want is 32 bits wide, so INIT flags above bit 31 are never
// requested; FUSE_DIRECT_IO_ALLOW_MMAP (bit 36, kernel 6.6+) is one of them.
// It lets a file opened with FOPEN_DIRECT_IO be mmap()ed MAP_SHARED, which
// is what famfs needs: read()/write() straight to shared memory, and mmap
// through the page cache. The transport watches the kernel's INIT request
// and adds the flag to libfuse's reply when the kernel offers it.
#pragma once

#include <sys/types.h>

#include <cstddef>

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

namespace famfs::fused {

// Installs the transport on the session (after fuse_session_mount). With
// allow_mmap, asks for FUSE_DIRECT_IO_ALLOW_MMAP when the kernel offers it.
// after_init runs once the kernel has processed the INIT reply (settings the
// kernel would otherwise overwrite then). Returns 0 or a positive errno.
int install_fuse_transport(fuse_session* se, bool allow_mmap, void (*after_init)());
// True once the kernel has accepted direct-I/O files being mmap()ed.
bool direct_io_mmap_enabled();

// read(2) of one request from the session's /dev/fuse descriptor, as the
// transport does it; same return value and errno. Fails with EINTR once
// `ended()` is true, which it checks every few milliseconds while it waits:
// libfuse's workers are not cancelled inside it, they finish by themselves.
ssize_t read_request(int fd, void* buf, size_t len, bool (*ended)());

}  // namespace famfs::fused
