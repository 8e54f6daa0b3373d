// Direct access: a famfs file's memory, mapped for load/store at memory
// speed. A simple file is one span per extent (usually exactly one); a
// striped file is a set of strips with chunk-aware accessors.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "famfs/device.h"
#include "famfs/memsafe.h"
#include "famfs/omf.h"
#include "famfs/result.h"

namespace famfs {
class Volume;
}

namespace famfs::dax {

// A piece of the file that is contiguous in memory.
struct Segment {
    uint64_t file_offset = 0;
    std::span<uint8_t> bytes;
};

// EROFS naming the file when its logged flags make it read-only on every
// host (omf::kFileFlagsAllRO): no user, root included, writes its data.
Status check_writable(const omf::FileEntry& file);

class FileMapping {
  public:
    // Opens `relpath` on a device (a famfs device path), or a path inside a
    // famfs mount (the device is found from the mount table). Access::
    // kReadWrite fails with EROFS for a file logged read-only (check_writable).
    //
    // Both keep the file open through a mount of the device on this host,
    // when there is one (hold_through_mount): loads and stores bypass the
    // mount, and the host's server must still count the file in use so that
    // a delete never lets its memory go to another file while it is mapped
    // here (docs/delete.md, the watermark). open_path always does; open by
    // device does through a mount of it in this mount namespace that serves
    // the file (not one whose server is gone, stale or failed).
    static Result<FileMapping> open(const std::string& device_path, const std::string& relpath,
                                    Access access);
    static Result<FileMapping> open_path(const std::string& path_in_mount, Access access);
    // Maps a file of an already open volume (shares its device mapping).
    static Result<FileMapping> from_entry(std::shared_ptr<Device> device,
                                          const omf::FileEntry& file);

    uint64_t size() const { return file_.size; }
    const omf::FileEntry& entry() const { return file_; }
    bool striped() const { return file_.ext_type == omf::ExtentType::kInterleaved; }
    // The descriptor held on the mount's file; -1 when none is.
    int mount_fd() const;
    // Opens `path_in_mount` read-only and keeps it with the mapping (one
    // descriptor, shared by copies of the mapping, closed with the last of
    // them). EAGAIN when it is not the file mapped: `ino` is the mapped
    // file's (log index + 2, its inode number on every host), so a name
    // deleted and created again since the map was read is found.
    Status hold_through_mount(const std::string& path_in_mount, uint64_t ino);

    // The whole file as one span when it is contiguous in memory, else empty.
    std::span<uint8_t> contiguous() const;
    // The file in order, as memory-contiguous pieces (extents, or chunks of a
    // striped file), covering exactly size() bytes.
    const std::vector<Segment>& segments() const { return segments_; }
    // Striped files: strip i's whole memory, and where file offset `off` lives.
    uint64_t nstrips() const;
    uint64_t chunk_size() const;
    std::span<uint8_t> strip(uint64_t i) const;
    // Address of file offset `off` and how many bytes from there are
    // contiguous (never past the file's end).
    uint8_t* address(uint64_t off, uint64_t* contiguous_len) const;

    // Copies between the file and a buffer; lengths are clamped to size().
    // Writes store nothing (0, or EROFS from write_checked) on a read-only
    // mapping or a file logged read-only.
    size_t read(uint64_t off, std::span<uint8_t> out) const;
    size_t write(uint64_t off, std::span<const uint8_t> in) const;

    // The same, safe against failed memory: touching poisoned memory
    // (SIGBUS) gives EIO naming the file and the failed file offset instead
    // of killing the process. This is the documented way for API users to
    // turn a poison SIGBUS into an error.
    Result<size_t> read_checked(uint64_t off, std::span<uint8_t> out) const;
    Result<size_t> write_checked(uint64_t off, std::span<const uint8_t> in) const;

    // Calls fn(file_offset, memory, n) for each memory-contiguous piece of
    // [off, off + len) (clamped to the file), in file order; stops at and
    // returns the first error.
    template <class Fn>
    Status for_each_piece(uint64_t off, uint64_t len, Fn&& fn) const {
        const uint64_t end = off < size() ? off + std::min(len, size() - off) : off;
        while (off < end) {
            uint64_t avail = 0;
            uint8_t* mem = address(off, &avail);
            if (!mem || avail == 0) return no_memory(off);
            const uint64_t n = std::min(avail, end - off);
            FAMFS_TRY(fn(off, mem, n));
            off += n;
        }
        return {};
    }

    // Runs fn() (returning Status), which touches [mem, mem + n): file bytes
    // from file offset `off`. Memory failure there becomes EIO naming the
    // file and the failed file offset. For direct loads and stores, flushes
    // and compares on the file's memory (memsafe.h).
    template <class Fn>
    Status guarded(uint64_t off, const uint8_t* mem, uint64_t n, Fn&& fn) const {
        Status inner;
        Status s = memsafe::guarded(mem, n, [&] { inner = fn(); });
        if (!s) return memory_failure(off + memsafe::last_fault().offset);
        return inner;
    }

  private:
    Error memory_failure(uint64_t file_offset) const;
    Error no_memory(uint64_t file_offset) const;

    class MountFile;  // an open descriptor of the file in its mount

    std::shared_ptr<Device> device_;
    std::shared_ptr<const MountFile> mount_file_;
    omf::FileEntry file_;
    std::vector<Segment> segments_;
};

}  // namespace famfs::dax
