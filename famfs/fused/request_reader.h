// How the server's threads take requests from /dev/fuse (README-datapath.md,
// "Running the server"). One thread at a time, the reader, waits on
// /dev/fuse; the others wait for the reader role. The reader keeps the role
// while it serves a quick request, so back-to-back quick requests (open,
// close, getattr) are served by one thread without waking another; before a
// request that may take long (data, directory and log work) it passes the
// role on, so other requests are served meanwhile.
#pragma once

#include <sys/types.h>

#include <cstddef>

namespace famfs::fused {

// read(2) of one request from the session's /dev/fuse descriptor, for the
// session's I/O hook; same return value and errno.
ssize_t read_request(int fd, void* buf, size_t len);

}  // namespace famfs::fused
