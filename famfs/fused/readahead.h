// The kernel gives a FUSE mount 128 KiB of readahead; page-cache reads and
// mmap faults of big famfs files go several times faster with 1 MiB (one
// full-size FUSE request). Best effort: without sysfs nothing changes.
#pragma once

#include <string>

namespace famfs::fused {

// `mountpoint` must be canonical (as the mount table shows it); the mount
// itself is never touched, so this may run while the session is busy.
void widen_readahead(const std::string& mountpoint, unsigned kib);

}  // namespace famfs::fused
