// The data path: the one place where file bytes move between FUSE requests
// and shared memory, so failure handling (a device marked failed, poisoned
// memory) has a single home. Reads, writes and fsync of a file with bytes
// in a range the server knows to be poisoned (poisoned_ranges.h) fail with
// EIO before any of the file's memory is touched; every one of them first
// checks that the device still holds the mounted file system (ESTALE when
// it does not: stale_device.h).
//
// Every read gathers addresses in the server's device mapping (after
// invalidating those CPU cache lines, for memory that is not coherent between
// hosts) and hands them to the kernel without an intermediate copy. Every
// write copies into the mapping and writes the CPU caches back before the
// reply, so the bytes are in shared memory when write() returns. Writes never
// change a file's size.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <string>
#include <vector>

#include "famfs/dax.h"
#include "inodes.h"
#include "poisoned_ranges.h"

namespace famfs::fused {

class Server;

// What a FUSE open's file handle (fi->fh) refers to: the memory-contiguous
// pieces of the file's bytes in file order.
struct FileHandle {
    Inode inode;
    uint64_t size = 0;
    bool writable = false;
    std::vector<dax::Segment> segments;
    std::string text;   // generated content (.meta/.status) instead of segments
    PoisonMemo poison;  // whether the segments overlap known poison
};

// Builds the handle for a regular file or a .meta region file.
Result<FileHandle> open_data(Server& s, const Inode& in, bool writable);

// Whether the file has bytes in a poisoned range: one load while nothing
// is poisoned, or nothing new since the file's last check.
bool hits_poison(Server& s, const FileHandle& f);

// Fills `iov` with the pieces covering [off, off + len) clamped to the file;
// returns 0 or a positive errno. On a regular-file device the pieces point
// into the mapping (the kernel copies the reply from there); on devdax and
// PCI BAR devices the server copies the bytes under its memory guard into a
// per-thread buffer first, so failed memory is an EIO, never a kernel fault
// (famfs_fused -b does that on every device).
int gather_read(Server& s, const FileHandle& f, uint64_t off, uint64_t len,
                std::vector<iovec>& iov);
// Whether read replies are copied through the server's buffer (see above).
bool reads_bounce(const Server& s);
// Stores into the file; 0 with `written` set (short at the end of the
// file), or a positive errno (EFBIG at or past the end: files never grow).
int store_write(Server& s, const FileHandle& f, uint64_t off, const char* buf, uint64_t len,
                uint64_t& written);
// Writes the CPU caches of the whole file back to memory; 0 or a positive
// errno.
int persist_all(Server& s, const FileHandle& f);

}  // namespace famfs::fused
