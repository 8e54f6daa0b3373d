#include "famfs/namespace.h"

#include <algorithm>
#include <cstddef>

namespace famfs {
namespace {

constexpr uint64_t kRootIno = 1;
constexpr uint64_t kFirstEntryIno = 2;

// Node chunks grow from 64 nodes to 4096, so a small log costs little
// and a large one few allocations.
size_t chunk_capacity(size_t chunk) {
    return size_t{64} << std::min<size_t>(chunk, 6);
}

// `kind` and `i` name the extent in messages ("strip 3"); built only on failure.
Status check_extent(const omf::Extent& x, const omf::Superblock& sb, const char* kind, size_t i) {
    uint64_t data_start = sb.log_offset + sb.log_len;
    auto fail = [&](const std::string& why) {
        return make_error(EINVAL, kind + (" " + std::to_string(i)) + " (offset " +
                                      std::to_string(x.offset) + ", length " +
                                      std::to_string(x.len) + ") " + why);
    };
    if (x.devindex != 0)
        return fail("is on device " + std::to_string(x.devindex) + " (only 0 exists)");
    if (x.len == 0) return fail("is empty");
    if (x.offset % sb.alloc_unit || x.len % sb.alloc_unit)
        return fail("is not allocation-unit aligned");
    if (x.offset < data_start) return fail("overlaps the superblock or the log");
    if (x.offset > sb.dev_size || x.len > sb.dev_size - x.offset)
        return fail("runs past the device");
    return {};
}

Status check_simple(const omf::FileEntry& f, const omf::Superblock& sb) {
    uint64_t total = 0;  // saturating: 16 extents of a huge device may not fit in 64 bits
    for (size_t i = 0; i < f.extents.size(); ++i) {
        FAMFS_TRY(check_extent(f.extents[i], sb, "extent", i));
        total = std::min(total, ~uint64_t{0} - f.extents[i].len) + f.extents[i].len;
    }
    if (total < f.size)
        return make_error(EINVAL, "extents hold " + std::to_string(total) +
                                      " bytes, less than the size " + std::to_string(f.size));
    return {};
}

// The bytes strip i must hold for a file of `nchunks` chunks: chunks i,
// i + nstrips, ... live in strip i. False when that overflows (no strip
// on a real device can be that long).
bool strip_bytes_needed(uint64_t nchunks, uint64_t i, const omf::Interleave& il, uint64_t* out) {
    const uint64_t chunks_here = nchunks > i ? (nchunks - 1 - i) / il.nstrips + 1 : 0;
    return !__builtin_mul_overflow(chunks_here, il.chunk_size, out);
}

// Every computation on the geometry is checked: a chunk size near 2^64
// must not wrap the chunk count to 0 and admit a file no strip holds.
Status check_interleaved(const omf::FileEntry& f, const omf::Superblock& sb) {
    const omf::Interleave& il = f.interleave;
    if (il.chunk_size == 0 || il.chunk_size % sb.alloc_unit)
        return make_error(EINVAL, "bad chunk size " + std::to_string(il.chunk_size) +
                                      " (not a non-zero multiple of the allocation unit " +
                                      std::to_string(sb.alloc_unit) + ")");
    if (il.nstrips == 0 || il.nstrips != il.strips.size())
        return make_error(EINVAL, "bad strip count " + std::to_string(il.nstrips));
    uint64_t stripe = 0;
    if (__builtin_mul_overflow(il.nstrips, il.chunk_size, &stripe))
        return make_error(EINVAL, std::to_string(il.nstrips) + " strips of chunk size " +
                                      std::to_string(il.chunk_size) + " overflow 64 bits");
    const uint64_t nchunks = f.size / il.chunk_size + (f.size % il.chunk_size != 0);
    for (uint64_t i = 0; i < il.nstrips; ++i) {
        FAMFS_TRY(check_extent(il.strips[i], sb, "strip", i));
        uint64_t needed = 0;
        if (!strip_bytes_needed(nchunks, i, il, &needed) || il.strips[i].len < needed)
            return make_error(EINVAL, "strip " + std::to_string(i) + " holds " +
                                          std::to_string(il.strips[i].len) +
                                          " bytes, too few for its chunks of a file of " +
                                          std::to_string(f.size) + " bytes");
    }
    return {};
}

}  // namespace

Status validate_file_map(const omf::FileEntry& f, const omf::Superblock& sb) {
    return f.ext_type == omf::ExtentType::kSimple ? check_simple(f, sb) : check_interleaved(f, sb);
}

Namespace::Namespace(const omf::Superblock& sb) : sb_(sb) {
    root_ = &new_node();
    root_->ino = kRootIno;
    root_->is_dir = true;
    root_->mode = 0755;
}

Node& Namespace::new_node() {
    if (chunks_.empty() || used_in_chunk_ == chunk_capacity(chunks_.size() - 1)) {
        chunks_.push_back(std::make_unique<Node[]>(chunk_capacity(chunks_.size())));
        used_in_chunk_ = 0;
    }
    return chunks_.back()[used_in_chunk_++];
}

void Namespace::reserve(uint64_t more) {
    by_index_.reserve(applied_ + more);
    paths_.reserve(more);
}

Status Namespace::apply(omf::LogEntry entry, uint64_t index) {
    const auto* f = std::get_if<omf::FileEntry>(&entry.payload);
    const Status map = f ? validate_file_map(*f, sb_) : Status{};
    return apply(std::move(entry), index, map);
}

Status Namespace::apply(omf::LogEntry entry, uint64_t index, const Status& map) {
    applied_ = std::max(applied_, index + 1);
    auto* f = std::get_if<omf::FileEntry>(&entry.payload);
    auto* d = std::get_if<omf::MkdirEntry>(&entry.payload);
    if (auto* del = std::get_if<omf::DeleteEntry>(&entry.payload)) return apply_delete(*del, index);
    if (!f && !d) return {};  // ADD_DAXDEV and reserved types allocate nothing
    const std::string& relpath = f ? f->relpath : d->relpath;
    auto place = admit_entry(paths_, relpath, map);
    if (!place) {
        problems_.push_back({index, relpath, place.error().message});
        return place.error();
    }
    Node& n = new_node();
    n.ino = index + kFirstEntryIno;
    n.log_index = index;
    n.is_dir = d != nullptr;
    n.path_id = paths_.add(*place, n.is_dir, index);  // before the move: place views relpath
    if (f) {
        n.mode = f->mode;
        n.uid = f->uid;
        n.gid = f->gid;
        n.file = std::move(*f);
    } else {
        n.mode = d->mode;
        n.uid = d->uid;
        n.gid = d->gid;
        n.dir_relpath = std::move(d->relpath);
    }
    link(n, node_of(place->parent));
    return {};
}

Status Namespace::apply_delete(const omf::DeleteEntry& d, uint64_t index) {
    auto id = admit_delete(paths_, d, index);
    if (!id) {
        std::string reason = id.error().message;
        const Node* target = node_at(d.target);
        if (target && target->deleted_at)
            reason = "'" + d.relpath + "': entry " + std::to_string(d.target) +
                     " was already deleted at entry " + std::to_string(*target->deleted_at);
        problems_.push_back({index, d.relpath, reason});
        return make_error(id.error().code, reason);
    }
    Node& n = *by_index_[d.target];
    paths_.remove(*id);
    unlink(n);
    n.deleted_at = index;
    return {};
}

void Namespace::unlink(Node& n) {
    Node* parent = n.parent;
    (n.prev_sibling ? n.prev_sibling->next_sibling : parent->first_child) = n.next_sibling;
    (n.next_sibling ? n.next_sibling->prev_sibling : parent->last_child) = n.prev_sibling;
    n.next_sibling = n.prev_sibling = nullptr;
    --parent->nchildren;
    (n.is_dir ? dirs_ : files_) -= 1;
}

void Namespace::link(Node& n, Node* parent) {
    n.name = split_relpath(n.relpath()).second;  // after the move: a view of n's own string
    n.parent = parent;
    n.prev_sibling = parent->last_child;
    (parent->last_child ? parent->last_child->next_sibling : parent->first_child) = &n;
    parent->last_child = &n;
    ++parent->nchildren;
    (n.is_dir ? dirs_ : files_) += 1;
    if (by_index_.size() <= n.log_index) by_index_.resize(n.log_index + 1, nullptr);
    by_index_[n.log_index] = &n;
}

Node* Namespace::node_of(PathIndex::Id id) const {
    if (id == PathIndex::kNone) return nullptr;
    if (id == PathIndex::kRoot) return root_;
    return by_index_[paths_.log_index(id)];
}

const Node* Namespace::child(const Node& dir, std::string_view name) const {
    return node_of(paths_.child(dir.path_id, name));
}

const Node* Namespace::lookup(std::string_view relpath) const {
    return node_of(paths_.find(relpath));
}

std::vector<const Node*> Namespace::sorted_children(const Node& n) {
    std::vector<const Node*> out;
    out.reserve(n.nchildren);
    for (const Node* c = n.first_child; c; c = c->next_sibling) out.push_back(c);
    std::sort(out.begin(), out.end(),
              [](const Node* a, const Node* b) { return a->name < b->name; });
    return out;
}

const Node* Namespace::find_ino(uint64_t ino) const {
    const Node* n = find_ino_or_deleted(ino);
    return n && !n->deleted_at ? n : nullptr;
}

const Node* Namespace::find_ino_or_deleted(uint64_t ino) const {
    if (ino == kRootIno) return root_;
    if (ino < kFirstEntryIno) return nullptr;
    return node_at(ino - kFirstEntryIno);
}

const Node* Namespace::node_at(uint64_t index) const {
    return index < by_index_.size() ? by_index_[index] : nullptr;
}

}  // namespace famfs
