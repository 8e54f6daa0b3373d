// Direct access to a famfs file's memory. The file is described once as
// memory-contiguous segments in file order (one per extent of a simple file,
// one per chunk of a striped file, following docs/format.md's interleave mapping);
// every accessor works from that list.
#include "famfs/dax.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "famfs/memsafe.h"
#include "famfs/mounts.h"
#include "famfs/volume.h"

namespace famfs::dax {
namespace {

Error map_error(const omf::FileEntry& f, const std::string& reason) {
    return make_error(EINVAL, f.relpath + ": bad file map: " + reason);
}

// Whether [offset, offset + len) lies on the device (written not to overflow).
bool in_device(uint64_t offset, uint64_t len, uint64_t device_size) {
    return offset <= device_size && len <= device_size - offset;
}

Result<std::vector<Segment>> simple_segments(Device& dev, const omf::FileEntry& f) {
    std::vector<Segment> segs;
    uint64_t off = 0;
    for (const auto& e : f.extents) {
        if (off == f.size) break;
        const uint64_t n = std::min(e.len, f.size - off);
        if (!in_device(e.offset, n, dev.size())) return map_error(f, "extent past the device");
        if (n > 0) segs.push_back({off, dev.range(e.offset, n)});
        off += n;
    }
    if (off < f.size) return map_error(f, "extents shorter than the file size");
    return segs;
}

// Every step is checked, as the map may come from a hostile log: a chunk
// size near 2^64 must neither wrap the offsets nor loop forever.
Result<std::vector<Segment>> striped_segments(Device& dev, const omf::FileEntry& f) {
    const auto& il = f.interleave;
    if (il.nstrips == 0 || il.chunk_size == 0 || il.strips.size() != il.nstrips)
        return map_error(f, "bad interleave parameters");
    for (const auto& strip : il.strips)
        if (!in_device(strip.offset, strip.len, dev.size()))
            return map_error(f, "strip past the device");
    std::vector<Segment> segs;
    for (uint64_t off = 0, chunk = 0; off < f.size; ++chunk) {
        const omf::Extent& strip = il.strips[chunk % il.nstrips];
        uint64_t in_strip = 0;
        const uint64_t n = std::min(il.chunk_size, f.size - off);
        if (__builtin_mul_overflow(chunk / il.nstrips, il.chunk_size, &in_strip) ||
            in_strip > strip.len || n > strip.len - in_strip)
            return map_error(f, "strips shorter than the file size");
        segs.push_back({off, dev.range(strip.offset + in_strip, n)});
        off += n;  // never wraps: off + n <= size
    }
    return segs;
}

}  // namespace

Status check_writable(const omf::FileEntry& file) {
    if (!file.read_only()) return {};
    return make_error(EROFS, "'" + file.relpath + "': logged read-only for all hosts (flags " +
                                 std::to_string(file.flags) + "): its data cannot be written");
}

Result<FileMapping> FileMapping::from_entry(std::shared_ptr<Device> device,
                                            const omf::FileEntry& file) {
    auto segs = file.ext_type == omf::ExtentType::kInterleaved ? striped_segments(*device, file)
                                                               : simple_segments(*device, file);
    if (!segs) return segs.error();
    FileMapping m;
    m.device_ = std::move(device);
    m.file_ = file;
    m.segments_ = std::move(*segs);
    return m;
}

namespace {

// The file at `relpath` on the device, mapped, and its inode number (log
// index + 2, as every host's server numbers it).
struct Mapped {
    Result<FileMapping> map;
    uint64_t ino = 0;
};

Mapped map_by_device(const std::string& device_path, const std::string& relpath, Access access) {
    auto vol = Volume::open(device_path, access);
    if (!vol) return {vol.error()};
    auto st = (*vol)->load();
    if (!st) return {st.error()};
    const Node* node = st->ns.lookup(relpath);
    if (!node) return {make_error(ENOENT, relpath + ": no such famfs file on " + device_path)};
    if (node->is_dir) return {make_error(EISDIR, relpath + ": is a directory")};
    if (access == Access::kReadWrite) {
        if (auto w = check_writable(node->file); !w) return {w.error()};
    }
    return {FileMapping::from_entry((*vol)->shared_device(), node->file), node->ino};
}

}  // namespace

Result<FileMapping> FileMapping::open(const std::string& device_path, const std::string& relpath,
                                      Access access) {
    Mapped m = map_by_device(device_path, relpath, access);
    if (!m.map) return std::move(m.map);
    // Served on this host: the mapping must count there (open_path). A
    // mount whose server is gone (ENOTCONN), that serves a file system the
    // device no longer holds (ESTALE) or whose memory failed (EIO) counts
    // nothing, and is passed.
    const std::string device = resolved_or_given(device_path);
    for (const MountInfo& mount : famfs_mounts()) {
        if (resolved_or_given(mount.device) != device) continue;
        const std::string path =
            relpath.empty() ? mount.mountpoint : mount.mountpoint + "/" + relpath;
        auto held = m.map->hold_through_mount(path, m.ino);
        if (held) return std::move(m.map);
        const int err = held.error().code;
        if (err != ENOTCONN && err != ESTALE && err != EIO) return held.error();
    }
    return std::move(m.map);
}

class FileMapping::MountFile {
  public:
    explicit MountFile(int fd) : fd_(fd) {}
    ~MountFile() { ::close(fd_); }
    MountFile(const MountFile&) = delete;
    MountFile& operator=(const MountFile&) = delete;
    int fd() const { return fd_; }

  private:
    int fd_;
};

Status FileMapping::hold_through_mount(const std::string& path_in_mount, uint64_t ino) {
    const int fd = ::open(path_in_mount.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        const int err = errno;
        return make_error(
            err, path_in_mount + ": cannot open it through the mount: " + std::strerror(err));
    }
    auto held = std::make_shared<const MountFile>(fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int err = errno;
        return make_error(err, path_in_mount + ": " + std::strerror(err));
    }
    // A server opens no new handle on a deleted file, so the file held is
    // live; another inode means the name was deleted and made again since
    // the map was read, and the map is not that file's.
    if (st.st_ino != ino)
        return make_error(EAGAIN, path_in_mount +
                                      ": deleted and created again while it was "
                                      "being mapped; map it again");
    mount_file_ = std::move(held);
    return {};
}

Result<FileMapping> FileMapping::open_path(const std::string& path_in_mount, Access access) {
    auto where = resolve_in_mount(path_in_mount);
    if (!where) return where.error();
    Mapped m = map_by_device(where->mount.device, where->relpath, access);
    if (!m.map) return std::move(m.map);
    if (auto held = m.map->hold_through_mount(path_in_mount, m.ino); !held) return held.error();
    return std::move(m.map);
}

int FileMapping::mount_fd() const {
    return mount_file_ ? mount_file_->fd() : -1;
}

std::span<uint8_t> FileMapping::contiguous() const {
    if (segments_.empty()) return {};
    uint8_t* start = segments_.front().bytes.data();
    uint8_t* expect = start;
    for (const auto& s : segments_) {
        if (s.bytes.data() != expect) return {};
        expect += s.bytes.size();
    }
    return {start, size()};
}

uint64_t FileMapping::nstrips() const {
    return striped() ? file_.interleave.nstrips : 0;
}

uint64_t FileMapping::chunk_size() const {
    return striped() ? file_.interleave.chunk_size : 0;
}

std::span<uint8_t> FileMapping::strip(uint64_t i) const {
    if (!striped() || i >= file_.interleave.strips.size()) return {};
    const auto& s = file_.interleave.strips[i];
    return device_->range(s.offset, s.len);
}

uint8_t* FileMapping::address(uint64_t off, uint64_t* contiguous_len) const {
    if (contiguous_len) *contiguous_len = 0;
    if (off >= size()) return nullptr;
    // The last segment that starts at or before `off` holds it.
    auto it = std::upper_bound(segments_.begin(), segments_.end(), off,
                               [](uint64_t o, const Segment& s) { return o < s.file_offset; });
    const Segment& seg = *std::prev(it);
    const uint64_t within = off - seg.file_offset;
    if (contiguous_len) *contiguous_len = seg.bytes.size() - within;
    return seg.bytes.data() + within;
}

Error FileMapping::memory_failure(uint64_t file_offset) const {
    return make_error(EIO, "'" + file_.relpath + "': memory failure (SIGBUS) at file offset " +
                               std::to_string(file_offset));
}

Error FileMapping::no_memory(uint64_t file_offset) const {
    return make_error(EIO, "'" + file_.relpath + "': no memory mapped at file offset " +
                               std::to_string(file_offset));
}

size_t FileMapping::read(uint64_t off, std::span<uint8_t> out) const {
    size_t done = 0;
    (void)for_each_piece(off, out.size(), [&](uint64_t o, const uint8_t* mem, uint64_t n) {
        std::memcpy(out.data() + (o - off), mem, n);
        done += n;
        return Status{};
    });
    return done;
}

size_t FileMapping::write(uint64_t off, std::span<const uint8_t> in) const {
    // A read-only mapping would fault on the first store: refuse instead.
    if (device_->access() != Access::kReadWrite || file_.read_only()) return 0;
    size_t done = 0;
    (void)for_each_piece(off, in.size(), [&](uint64_t o, uint8_t* mem, uint64_t n) {
        std::memcpy(mem, in.data() + (o - off), n);
        done += n;
        return Status{};
    });
    return done;
}

Result<size_t> FileMapping::read_checked(uint64_t off, std::span<uint8_t> out) const {
    size_t done = 0;
    Status s = for_each_piece(off, out.size(), [&](uint64_t o, const uint8_t* mem, uint64_t n) {
        return guarded(o, mem, n, [&] {
            std::memcpy(out.data() + (o - off), mem, n);
            done += n;
            return Status{};
        });
    });
    if (!s) return s.error();
    return done;
}

Result<size_t> FileMapping::write_checked(uint64_t off, std::span<const uint8_t> in) const {
    if (device_->access() != Access::kReadWrite)
        return make_error(EROFS, "'" + file_.relpath + "': mapped read-only");
    FAMFS_TRY(check_writable(file_));
    size_t done = 0;
    Status s = for_each_piece(off, in.size(), [&](uint64_t o, uint8_t* mem, uint64_t n) {
        return guarded(o, mem, n, [&] {
            std::memcpy(mem, in.data() + (o - off), n);
            done += n;
            return Status{};
        });
    });
    if (!s) return s.error();
    return done;
}

}  // namespace famfs::dax
