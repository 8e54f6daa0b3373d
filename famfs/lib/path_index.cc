#include "famfs/path_index.h"

#include <bit>
#include <cerrno>
#include <cstddef>
#include <functional>
#include <string>

namespace famfs {
namespace {

constexpr size_t kMinSlots = 64;

// Slots needed to hold n paths at most three quarters full.
size_t slots_for(size_t n) {
    return n + n / 3 + 1;
}

uint64_t child_hash(PathIndex::Id parent, std::string_view name) {
    return std::hash<std::string_view>{}(name) ^ (uint64_t{parent} * 0x9e3779b97f4a7c15ULL);
}

uint32_t tag_of(uint64_t hash) {
    return static_cast<uint32_t>(hash >> 32);
}

}  // namespace

std::pair<std::string_view, std::string_view> split_relpath(std::string_view relpath) {
    size_t slash = relpath.rfind('/');
    if (slash == std::string_view::npos) return {std::string_view(), relpath};
    return {relpath.substr(0, slash), relpath.substr(slash + 1)};
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

PathIndex::PathIndex() {
    records_.push_back(Record{~uint32_t{0}, kRoot, 0, 0, true});
    grow(kMinSlots);
}

void PathIndex::reserve(size_t more) {
    records_.reserve(records_.size() + more);
    names_.reserve(names_.size() + more * 12);  // a guess: short names are the norm
    grow(slots_for(records_.size() + more));
}

Result<PathIndex::Place> PathIndex::place(std::string_view relpath) const {
    auto [parent_path, name] = split_relpath(relpath);
    const Id parent = find(parent_path);
    if (parent == kNone)
        return make_error(ENOENT,
                          "parent directory '" + std::string(parent_path) + "' does not exist");
    if (!is_dir(parent))
        return make_error(ENOTDIR, "'" + std::string(parent_path) + "' is not a directory");
    const uint64_t hash = child_hash(parent, name);
    if (find_child(parent, name, hash) != kNone)
        return make_error(EEXIST, "'" + std::string(relpath) + "' already exists");
    return Place{parent, name, hash};
}

PathIndex::Id PathIndex::add(const Place& p, bool is_dir, uint64_t log_index) {
    if (slots_for(records_.size() + 1) > slots_.size()) grow(2 * slots_.size());
    const Id id = static_cast<Id>(records_.size());
    records_.push_back(Record{static_cast<uint32_t>(log_index), p.parent,
                              static_cast<uint32_t>(names_.size()),
                              static_cast<uint16_t>(p.name.size()), is_dir, false, 0});
    names_.append(p.name);
    ++records_[p.parent].nchildren;
    insert(id, p.hash);
    return id;
}

PathIndex::Id PathIndex::find(std::string_view relpath) const {
    Id id = kRoot;
    size_t start = 0;
    while (id != kNone && start < relpath.size()) {
        size_t end = relpath.find('/', start);
        if (end == std::string_view::npos) end = relpath.size();
        id = child(id, relpath.substr(start, end - start));
        start = end + 1;
    }
    return id;
}

PathIndex::Id PathIndex::child(Id dir, std::string_view name) const {
    return find_child(dir, name, child_hash(dir, name));
}

PathIndex::Id PathIndex::find_child(Id parent, std::string_view name, uint64_t hash) const {
    const size_t mask = slots_.size() - 1;
    const uint32_t tag = tag_of(hash);
    for (size_t i = hash & mask; slots_[i].id != kNone; i = (i + 1) & mask) {
        const Slot& s = slots_[i];
        if (s.tag == tag && records_[s.id].parent == parent && this->name(s.id) == name)
            return s.id;
    }
    return kNone;
}

void PathIndex::insert(Id id, uint64_t hash) {
    const size_t mask = slots_.size() - 1;
    size_t i = hash & mask;
    while (slots_[i].id != kNone) i = (i + 1) & mask;
    slots_[i] = Slot{tag_of(hash), id};
}

void PathIndex::remove(Id id) {
    const size_t mask = slots_.size() - 1;
    size_t i = child_hash(parent(id), name(id)) & mask;
    while (slots_[i].id != id) i = (i + 1) & mask;
    erase_slot(i);
    --records_[parent(id)].nchildren;
    records_[id].removed = true;
}

// Backward-shift deletion: the entries after the hole that may live there
// move into it, so probing never needs tombstones.
void PathIndex::erase_slot(size_t hole) {
    const size_t mask = slots_.size() - 1;
    for (size_t j = (hole + 1) & mask; slots_[j].id != kNone; j = (j + 1) & mask) {
        const Id id = slots_[j].id;
        const size_t home = child_hash(parent(id), name(id)) & mask;
        // The entry may move to the hole unless its home lies cyclically in (hole, j].
        const bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (stays) continue;
        slots_[hole] = slots_[j];
        hole = j;
    }
    slots_[hole] = Slot{};
}

// Rehashing recomputes each hash from the record: slots stay 8 bytes.
void PathIndex::grow(size_t min_slots) {
    if (min_slots <= slots_.size()) return;
    slots_.assign(std::bit_ceil(min_slots), Slot{});
    for (Id id = 1; id < records_.size(); ++id)
        if (!records_[id].removed) insert(id, child_hash(parent(id), name(id)));
}

Result<PathIndex::Place> admit_entry(const PathIndex& paths, std::string_view relpath,
                                     const Status& map) {
    FAMFS_TRY(validate_relpath(relpath));
    if (!map) return map.error();
    return paths.place(relpath);
}

}  // namespace famfs

namespace famfs {

Result<PathIndex::Id> admit_delete(const PathIndex& paths, const omf::DeleteEntry& d,
                                   uint64_t index) {
    FAMFS_TRY(validate_relpath(d.relpath));
    const std::string shown = "'" + d.relpath + "': ";
    if (d.target >= index)
        return make_error(EINVAL, shown + "delete of entry " + std::to_string(d.target) +
                                      ", which is not before it");
    const PathIndex::Id id = paths.find(d.relpath);
    if (id == PathIndex::kNone) return make_error(ENOENT, shown + "no such file or directory");
    if (paths.log_index(id) != d.target)
        return make_error(ENOENT, shown + "is entry " + std::to_string(paths.log_index(id)) +
                                      ", not entry " + std::to_string(d.target) +
                                      " (that one was deleted already)");
    const bool dir = d.kind == omf::DeleteKind::kDirectory;
    if (paths.is_dir(id) != dir)
        return make_error(dir ? ENOTDIR : EISDIR,
                          shown + (dir ? "is not a directory" : "is a directory"));
    if (dir && paths.children(id) != 0)
        return make_error(ENOTEMPTY, shown + "directory not empty (" +
                                         std::to_string(paths.children(id)) + " entries)");
    return id;
}

}  // namespace famfs
