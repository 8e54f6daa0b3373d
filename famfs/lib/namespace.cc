#include "famfs/namespace.h"

#include <algorithm>

namespace famfs {
namespace {

constexpr uint64_t kRootIno = 1;
constexpr uint64_t kFirstEntryIno = 2;

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
    uint64_t total = 0;
    for (size_t i = 0; i < f.extents.size(); ++i) {
        FAMFS_TRY(check_extent(f.extents[i], sb, "extent", i));
        total += f.extents[i].len;
    }
    if (total < f.size)
        return make_error(EINVAL, "extents hold " + std::to_string(total) +
                                      " bytes, less than the size " + std::to_string(f.size));
    return {};
}

Status check_interleaved(const omf::FileEntry& f, const omf::Superblock& sb) {
    const omf::Interleave& il = f.interleave;
    if (il.chunk_size == 0 || il.chunk_size % sb.alloc_unit)
        return make_error(EINVAL, "bad chunk size " + std::to_string(il.chunk_size));
    if (il.nstrips == 0 || il.nstrips != il.strips.size())
        return make_error(EINVAL, "bad strip count " + std::to_string(il.nstrips));
    uint64_t nchunks = (f.size + il.chunk_size - 1) / il.chunk_size;
    for (uint64_t i = 0; i < il.nstrips; ++i) {
        FAMFS_TRY(check_extent(il.strips[i], sb, "strip", i));
        // Chunks i, i + nstrips, ... live in strip i.
        uint64_t needed = nchunks > i ? ((nchunks - 1 - i) / il.nstrips + 1) * il.chunk_size : 0;
        if (il.strips[i].len < needed)
            return make_error(EINVAL, "strip " + std::to_string(i) + " holds " +
                                          std::to_string(il.strips[i].len) +
                                          " bytes; the file needs " + std::to_string(needed));
    }
    return {};
}

}  // namespace

std::pair<std::string_view, std::string_view> split_relpath(std::string_view relpath) {
    size_t slash = relpath.rfind('/');
    if (slash == std::string_view::npos) return {std::string_view(), relpath};
    return {relpath.substr(0, slash), relpath.substr(slash + 1)};
}

std::string Node::relpath() const {
    if (!parent) return "";
    std::string up = parent->relpath();
    return up.empty() ? name : up + "/" + name;
}

Status validate_relpath(std::string_view relpath) {
    auto shown = [&] { return "'" + std::string(relpath) + "': "; };  // only on failure
    auto bad = [&](const std::string& why) { return make_error(EINVAL, shown() + why); };
    if (relpath.empty()) return bad("empty path");
    if (relpath.size() > omf::kMaxRelpathLen)
        return make_error(ENAMETOOLONG, shown() + "path is " + std::to_string(relpath.size()) +
                                            " bytes; famfs logs at most " +
                                            std::to_string(omf::kMaxRelpathLen));
    if (relpath.front() == '/')
        return bad("absolute path (famfs logs paths relative to the mount)");
    for (unsigned char c : relpath)
        if (c < 0x20 || c > 0x7e) return bad("contains a byte that is not printable ASCII");
    size_t start = 0;
    while (start <= relpath.size()) {
        size_t end = relpath.find('/', start);
        if (end == std::string_view::npos) end = relpath.size();
        std::string_view comp = relpath.substr(start, end - start);
        if (comp.empty()) return bad("empty path component");
        if (comp == "." || comp == "..") return bad("'.' and '..' components are not allowed");
        start = end + 1;
    }
    return {};
}

Status validate_file_map(const omf::FileEntry& f, const omf::Superblock& sb) {
    return f.ext_type == omf::ExtentType::kSimple ? check_simple(f, sb) : check_interleaved(f, sb);
}

Namespace::Namespace(const omf::Superblock& sb) : sb_(sb), root_(std::make_unique<Node>()) {
    root_->ino = kRootIno;
    root_->is_dir = true;
    root_->mode = 0755;
}

Status Namespace::apply(omf::LogEntry entry, uint64_t index) {
    applied_ = std::max(applied_, index + 1);
    if (by_index_.size() <= index) by_index_.resize(index + 1, nullptr);

    auto node = std::make_unique<Node>();
    node->ino = index + kFirstEntryIno;
    node->log_index = index;
    std::string dir_relpath;
    if (auto* f = std::get_if<omf::FileEntry>(&entry.payload)) {
        node->mode = f->mode;
        node->uid = f->uid;
        node->gid = f->gid;
        node->file = std::move(*f);
    } else if (auto* d = std::get_if<omf::MkdirEntry>(&entry.payload)) {
        node->is_dir = true;
        node->mode = d->mode;
        node->uid = d->uid;
        node->gid = d->gid;
        dir_relpath = std::move(d->relpath);
    } else {
        return {};  // ADD_DAXDEV and reserved types allocate nothing
    }
    std::string_view relpath = node->is_dir ? dir_relpath : node->file.relpath;
    Status s = validate_relpath(relpath);
    if (s && !node->is_dir) s = validate_file_map(node->file, sb_);
    if (s) s = add_node(node, relpath, index);
    if (!s) problems_.push_back({index, std::string(relpath), s.error().message});
    return s;
}

Status Namespace::add_node(std::unique_ptr<Node>& node, std::string_view relpath, uint64_t index) {
    auto [parent_path, name] = split_relpath(relpath);
    Node* parent = find_node(parent_path);
    if (!parent)
        return make_error(ENOENT,
                          "parent directory '" + std::string(parent_path) + "' does not exist");
    if (!parent->is_dir)
        return make_error(ENOTDIR, "'" + std::string(parent_path) + "' is not a directory");
    if (parent->children.find(name) != parent->children.end())
        return make_error(EEXIST, "'" + std::string(relpath) + "' already exists");
    node->name = std::string(name);
    node->parent = parent;
    (node->is_dir ? dirs_ : files_) += 1;
    by_index_[index] = node.get();
    std::string key = node->name;
    parent->children.emplace(std::move(key), std::move(node));
    return {};
}

const Node* Namespace::lookup(std::string_view relpath) const {
    return find_node(relpath);
}

Node* Namespace::find_node(std::string_view relpath) const {
    Node* n = root_.get();
    size_t start = 0;
    while (n && start < relpath.size()) {
        size_t end = relpath.find('/', start);
        if (end == std::string_view::npos) end = relpath.size();
        auto it = n->children.find(relpath.substr(start, end - start));
        n = it == n->children.end() ? nullptr : it->second.get();
        start = end + 1;
    }
    return n;
}

std::vector<const Node*> Namespace::sorted_children(const Node& n) {
    std::vector<const Node*> out;
    out.reserve(n.children.size());
    for (const auto& [name, child] : n.children) out.push_back(child.get());
    std::sort(out.begin(), out.end(),
              [](const Node* a, const Node* b) { return a->name < b->name; });
    return out;
}

const Node* Namespace::find_ino(uint64_t ino) const {
    if (ino == kRootIno) return root_.get();
    if (ino < kFirstEntryIno || ino - kFirstEntryIno >= by_index_.size()) return nullptr;
    return by_index_[ino - kFirstEntryIno];
}

}  // namespace famfs
