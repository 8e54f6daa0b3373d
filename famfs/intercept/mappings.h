// mmap() of a served file: one reserved range (aligned to 2 MiB, as device
// DAX needs), the file's memory pieces placed into it with MAP_FIXED from
// the device node, so loads and stores reach the shared memory directly as
// through the direct-access API. Pages wholly past the end of the file are
// backed by an empty memfd, so touching them raises SIGBUS as a mount's
// mapping does; no page maps memory outside the file's own extents.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "served_file.h"

namespace famfs::intercept {

struct MapOutcome {
    void* addr = nullptr;  // the mapping, when served
    int error = 0;         // else the errno to fail with,
    std::string pass_on;   // or (error 0) why the mount should map it instead
};

// fd: the program's descriptor of the file, duplicated for as long as any
// piece of the mapping exists, so the host's server counts the file open
// (docs/delete.md) after the program closes fd, as it does for a mount's
// own mapping. fork() shares the duplicate with the child, whose copy of
// the mapping then holds it too.
MapOutcome map_file(const std::shared_ptr<ServedFile>& file, int fd, void* addr, size_t len,
                    int prot, int flags, off_t off);

// A shared mapping of a file that fails (its device failed or holds
// another file system): every page raises SIGBUS when touched, as a
// mount's mapping of such a file does; mmap() itself succeeds there too.
MapOutcome map_failing(void* addr, size_t len, int prot, int flags);

// munmap(): forgets the served ranges in [addr, addr + len).
void forget_mappings(void* addr, size_t len);
// msync(): writes back (MS_SYNC/MS_ASYNC) or invalidates (MS_INVALIDATE)
// the CPU caches of served ranges in [addr, addr + len); false when the
// range holds none. 0 or EIO in *err.
bool sync_mappings(void* addr, size_t len, int flags, int* err);
bool holds_mapping(void* addr, size_t len);

// The library's own descriptors that hold mapped files open: not the
// program's to close (close() leaves them be, close_range() goes around
// them). Numbers in [first, last], ascending.
bool is_hold(int fd);
std::vector<int> holds_in(unsigned first, unsigned last);

// Replaces every served range of `file` with SIGBUS pages (its device was
// re-formatted or failed). A watcher thread does this within 10 ms for
// processes that only load and store; any served call does it at once.
void revoke_mappings(const ServedFile* file);

// fork(): the mapping table is held across it, so the child's is whole.
void lock_mappings_for_fork();
void unlock_mappings_after_fork();

}  // namespace famfs::intercept
