#include "datapath.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "memory_guard.h"
#include "server.h"

namespace famfs::fused {

namespace {

// The segment holding file offset `off`: segments are sorted and adjacent.
size_t segment_at(const std::vector<dax::Segment>& segs, uint64_t off) {
    auto it = std::upper_bound(segs.begin(), segs.end(), off,
                               [](uint64_t o, const dax::Segment& s) { return o < s.file_offset; });
    return static_cast<size_t>(it - segs.begin()) - 1;
}

// Calls fn(pointer, length) for each memory piece of [off, off + len).
template <class F>
void for_pieces(const FileHandle& f, uint64_t off, uint64_t len, F&& fn) {
    if (f.segments.empty() || off >= f.size) return;
    const uint64_t end = off + std::min(len, f.size - off);  // never wraps
    for (size_t i = segment_at(f.segments, off); i < f.segments.size() && off < end; i++) {
        const auto& seg = f.segments[i];
        const uint64_t in_seg = off - seg.file_offset;
        const uint64_t n = std::min<uint64_t>(seg.bytes.size() - in_seg, end - off);
        fn(seg.bytes.data() + in_seg, n);
        off += n;
    }
}

}  // namespace

Result<FileHandle> open_data(Server& s, const Inode& in, bool writable) {
    FileHandle f;
    f.inode = in;
    f.writable = writable;
    if (in.meta) {
        const omf::Extent e = *in.meta == MetaFile::kLog ? omf::log_extent(s.volume().superblock())
                                                         : omf::superblock_extent();
        f.size = e.len;
        f.segments.push_back({0, s.device().range(e.offset, e.len)});
        return f;
    }
    auto map = dax::FileMapping::from_entry(s.volume().shared_device(), in.node->file);
    if (!map) return map.error();
    f.size = map->size();
    f.segments = map->segments();
    return f;
}

// Replies are zero-copy (the kernel copies from the server's mapping)
// only for a regular file standing in for memory. Device memory that can
// fail must be read by the server, in user space, under its memory guard:
// the kernel touching a poisoned devdax page while building a reply oopses
// the host (seen in the lab: fuse_copy_page). A PCI BAR has no struct
// pages, which the kernel's reply copy needs, so it is copied too.
namespace {
bool reply_needs_bounce(DeviceKind kind) {
    return kind == DeviceKind::kDevdax || kind == DeviceKind::kPciBar;
}

// Loads a byte of every page of [p, p + n), under the caller's guard, so a
// failed page is found here and answered with EIO, not left to the
// kernel's reply copy (where it is a bare EFAULT). Memory fails a page at a
// time as far as a mapping can tell.
void probe_pages(const uint8_t* p, uint64_t n) {
    constexpr uint64_t kPage = 4096;
    const auto first = reinterpret_cast<uintptr_t>(p) / kPage * kPage;
    for (uintptr_t a = first; a < reinterpret_cast<uintptr_t>(p) + n; a += kPage)
        (void)*static_cast<const volatile uint8_t*>(
            reinterpret_cast<const uint8_t*>(std::max(a, reinterpret_cast<uintptr_t>(p))));
}
}  // namespace

bool hits_poison(Server& s, const FileHandle& f) {
    const uint64_t generation = s.poison().generation();
    if (generation == 0 || f.segments.empty()) return false;
    bool hit = false;
    if (f.poison.known(generation, &hit)) return hit;
    thread_local std::vector<DeviceRange> pieces;
    pieces.clear();
    const uint8_t* base = s.device().base();
    for (const auto& seg : f.segments) {
        pieces.push_back({static_cast<uint64_t>(seg.bytes.data() - base), seg.bytes.size()});
    }
    uint64_t answered = 0;
    hit = s.poison().overlaps(pieces, &answered);
    f.poison.remember(answered, hit);
    return hit;
}

bool reads_bounce(const Server& s) {
    return s.options().bounce_reads || reply_needs_bounce(s.device().kind());
}

int gather_read(Server& s, const FileHandle& f, uint64_t off, uint64_t len,
                std::vector<iovec>& iov) {
    if (const int err = s.device_errno("a read")) return err;
    if (hits_poison(s, f)) return EIO;
    const bool bounce = reads_bounce(s);
    thread_local std::vector<uint8_t> buffer;
    if (bounce) {
        buffer.clear();
        buffer.reserve(len);  // no reallocation inside the guard
    }
    const bool ok = guarded([&] {
        for_pieces(f, off, len, [&](uint8_t* p, uint64_t n) {
            s.device().invalidate_data(p, n);
            if (bounce) {
                buffer.insert(buffer.end(), p, p + n);
            } else {
                probe_pages(p, n);
                iov.push_back({p, n});
            }
        });
    });
    if (ok && bounce) iov.push_back({buffer.data(), buffer.size()});
    return ok ? 0 : EIO;
}

int store_write(Server& s, const FileHandle& f, uint64_t off, const char* buf, uint64_t len,
                uint64_t& written) {
    written = 0;
    if (const int err = s.device_errno("a write")) return err;
    if (hits_poison(s, f)) return EIO;
    if (!f.writable) return EBADF;
    if (len == 0) return 0;
    if (off >= f.size) return EFBIG;
    uint64_t done = 0;
    int err = 0;
    const bool ok = guarded([&] {
        for_pieces(f, off, len, [&](uint8_t* p, uint64_t n) {
            if (err) return;
            std::memcpy(p, buf + done, n);
            if (auto st = s.device().persist_data(p, n); !st) err = st.error().code;
            done += n;
        });
    });
    if (!ok) return EIO;
    if (err) return err;
    written = done;
    return 0;
}

int persist_all(Server& s, const FileHandle& f) {
    if (const int err = s.device_errno("an fsync")) return err;
    if (hits_poison(s, f)) return EIO;
    int err = 0;
    const bool ok = guarded([&] {
        for_pieces(f, 0, f.size, [&](uint8_t* p, uint64_t n) {
            if (auto st = s.device().persist_data(p, n); !st && !err) err = st.error().code;
        });
    });
    return ok ? err : EIO;
}

}  // namespace famfs::fused
