// How the server's threads take requests from /dev/fuse (README-datapath.md,
// "Running the server"). One thread at a time, the reader, waits on
// /dev/fuse; the others wait for the reader role. The reader keeps the role
// while it serves a quick request (open, close, getattr, small reads), or a
// data request of up to 1 MiB when no other request is waiting, so
// back-to-back requests from one client are served by one thread without
// waking another; such a data request is served on the requester's CPU
// (colocation.h). Before any other request (directory and log work, or data
// while requests are queued) it passes the role on, so other requests are
// served meanwhile.
#pragma once

#include <sys/types.h>

#include <cstddef>

namespace famfs::fused {

// read(2) of one request from the session's /dev/fuse descriptor, for the
// session's I/O hook; same return value and errno. Fails with EINTR once
// `ended()` is true, which it checks every few milliseconds while it waits:
// libfuse's workers are not cancelled inside it, they finish by themselves.
ssize_t read_request(int fd, void* buf, size_t len, bool (*ended)());

}  // namespace famfs::fused
