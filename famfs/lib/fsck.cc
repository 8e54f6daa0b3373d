// fsck: everything is derived from one replay of the log (namespace,
// allocation bitmap, collisions); the report mirrors the reference tool's
// sections so that people can compare the two side by side.
#include "famfs/fsck.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <variant>

#include "famfs/escape.h"
#include "famfs/log.h"
#include "famfs/sizes.h"
#include "famfs/volume.h"

namespace famfs {
namespace {

std::string format(const char* fmt, auto... args) {
    std::string out(static_cast<size_t>(std::snprintf(nullptr, 0, fmt, args...)), '\0');
    std::snprintf(out.data(), out.size() + 1, fmt, args...);
    return out;
}

// Every byte count in the report goes through here, so -h changes them all.
std::string bytes_text(uint64_t bytes, const FsckOptions& opt) {
    return opt.human ? human_size(bytes) : format("%" PRIu64, bytes);
}

// The file logged at `index`, if replay admitted it.
const Node* file_at(const Namespace& ns, uint64_t index) {
    if (index >= ns.applied()) return nullptr;
    const Node* n = ns.find_ino(index + 2);  // inode = log index + 2
    return n && !n->is_dir && n->log_index == index ? n : nullptr;
}

// Every file in log order (cheaper than the sorted tree walk).
template <class F>
void for_each_file(const Namespace& ns, F&& fn) {
    for (uint64_t index = 0; index < ns.applied(); ++index)
        if (const Node* n = file_at(ns, index)) fn(*n);
}

// The entry past the first invalid one logged at `index`, if any.
const UnreplayedEntry* unreplayed_at(const Unreplayed& u, uint64_t index) {
    auto it = std::lower_bound(u.entries.begin(), u.entries.end(), index,
                               [](const UnreplayedEntry& e, uint64_t i) { return e.index < i; });
    return it != u.entries.end() && it->index == index ? &*it : nullptr;
}

// The path logged at `index`: a file's, that of an entry replay refused
// (problems are in log order), or that of an entry past the invalid one.
std::string relpath_at(const Namespace& ns, const Unreplayed& u, uint64_t index) {
    if (const Node* n = file_at(ns, index)) return n->relpath();
    if (const UnreplayedEntry* e = unreplayed_at(u, index)) return e->relpath;
    const auto& p = ns.problems();
    auto it = std::lower_bound(p.begin(), p.end(), index,
                               [](const Problem& x, uint64_t i) { return x.index < i; });
    return it != p.end() && it->index == index ? it->relpath : std::string();
}

CrossLink cross_link(const Collision& c, const Namespace& ns, const Unreplayed& u, uint64_t unit) {
    CrossLink l{c.unit * unit, c.units, c.first_index, c.index, "", relpath_at(ns, u, c.index)};
    if (c.first_index == Collision::kNotItemised) {
        l.first_index = CrossLink::kNotItemised;
    } else if (const Node* n = file_at(ns, c.first_index)) {
        l.first_relpath = n->relpath();
    } else if (const UnreplayedEntry* e = unreplayed_at(u, c.first_index)) {
        l.first_relpath = e->relpath;
    } else {
        l.first_index = CrossLink::kUnknownClaimant;
        l.first_relpath = c.first_index == Collision::kReserved ? "the superblock and log"
                                                                : "an entry replay refused";
    }
    return l;
}

std::vector<CrossLink> cross_links(const std::vector<Collision>& collisions, const Namespace& ns,
                                   const Unreplayed& u, uint64_t unit) {
    std::vector<CrossLink> links;
    links.reserve(collisions.size());
    for (const Collision& c : collisions) links.push_back(cross_link(c, ns, u, unit));
    return links;
}

// "log entry N", marked when replay never applies it.
std::string entry_label(const FsckReport& r, uint64_t index) {
    const bool unreplayed = r.invalid_index && index > *r.invalid_index;
    return format("log entry %" PRIu64 "%s", index, unreplayed ? ", not replayed" : "");
}

std::string cross_link_line(const CrossLink& l, const FsckReport& r) {
    const std::string second = entry_label(r, l.second_index);
    if (l.first_index == CrossLink::kNotItemised)
        return format("  ERROR: cross-linked: %s (%s) claims %" PRIu64
                      " more unit(s) that earlier entries claim, the first at 0x%" PRIx64 "\n",
                      escaped(l.second_relpath).c_str(), second.c_str(), l.units, l.offset);
    const std::string first = l.first_index == CrossLink::kUnknownClaimant
                                  ? escaped(l.first_relpath)
                                  : format("%s (%s)", escaped(l.first_relpath).c_str(),
                                           entry_label(r, l.first_index).c_str());
    return format(
        "  ERROR: cross-linked: %s and %s (%s) both claim %" PRIu64 " unit(s) at 0x%" PRIx64 "\n",
        first.c_str(), escaped(l.second_relpath).c_str(), second.c_str(), l.units, l.offset);
}

// Appends to `out`: a full log of cross-links is megabytes of text, and
// one copy of it is enough.
void append_cross_link_lines(const FsckReport& r, std::string& out) {
    out += format("  ERROR: %" PRIu64 " allocation collision(s) (units claimed twice)\n",
                  r.units_claimed_twice);
    for (const CrossLink& l : r.cross_links) out += cross_link_line(l, r);
}

std::string superblock_section(const FsckReport& r, const FsckOptions& opt) {
    std::string out = "Famfs Superblock:\n";
    out += "  Filesystem UUID:   " + omf::uuid_to_string(r.sb.fs_uuid) + "\n";
    out += "  Device UUID:       " + omf::uuid_to_string(r.sb.dev_uuid) + "\n";
    out += "  System UUID:       " + omf::uuid_to_string(r.sb.system_uuid) + "\n";
    out += std::string("  role of this node: ") + (r.role == Role::kMaster ? "Owner" : "Client") +
           "\n";
    out += format("  alloc_unit:        0x%" PRIx64 "\n", r.sb.alloc_unit);
    out += format("  OMF major version: %u\n", r.sb.omf_major);
    out += format("  OMF minor version: %u\n", r.sb.omf_minor);
    out += format("  sizeof superblock: %" PRIu64 "\n", omf::kSuperblockBytes);
    out += format("  log size (bytes):  %" PRIu64 "\n", r.sb.log_len);
    out += "  primary: " + r.sb.dev_name + "   " + bytes_text(r.sb.dev_size, opt) + "\n\n";
    return out;
}

std::string problem_lines(const FsckReport& r) {
    std::string out;
    if (r.invalid_index)
        out += format("  ERROR: log entry %" PRIu64 " is invalid (%s); replay stopped there\n",
                      *r.invalid_index, escaped(r.invalid_reason).c_str());
    for (const auto& p : r.problems)
        out += format("  ERROR: log entry %" PRIu64 " (%s) refused: %s\n", p.index,
                      escaped(p.relpath).c_str(), escaped(p.reason).c_str());
    return out;
}

std::string unreplayed_line(const UnreplayedEntry& e) {
    using Kind = UnreplayedEntry::Kind;
    std::string out = format("    log entry %" PRIu64 ": ", e.index);
    switch (e.kind) {
        case Kind::kFile:
            out += format("file %s, size %" PRIu64 ", claims %" PRIu64 " bytes",
                          escaped(e.relpath).c_str(), e.size, e.claimed);
            break;
        case Kind::kDirectory:
            out += "directory " + escaped(e.relpath);
            break;
        case Kind::kOther:
            out += "no file or directory";
            break;
        case Kind::kInvalid:
            out += "invalid";
            break;
    }
    if (!e.problem.empty()) out += " (" + escaped(e.problem) + ")";
    return out + "\n";
}

// The entries replay never reaches: what they are and what they claim.
std::string unreplayed_lines(const FsckReport& r) {
    const Unreplayed& u = r.unreplayed;
    if (u.empty()) return {};
    std::string out =
        format("  ERROR: %zu log entries after invalid entry %" PRIu64 " are not replayed: %" PRIu64
               " file(s), %" PRIu64 " directory(ies), %" PRIu64 " invalid; they claim %" PRIu64
               " bytes that replay counts as free\n",
               u.entries.size(), *r.invalid_index, u.files, u.dirs, u.invalid, u.claimed_bytes);
    for (const UnreplayedEntry& e : u.entries) out += unreplayed_line(e);
    return out;
}

void append_log_stats_section(const FsckReport& r, std::string& out) {
    out += "Log stats:\n";
    out += format("  # of log entries in use: %" PRIu64 " of %" PRIu64 "\n", r.entries_used,
                  r.capacity);
    out += format("  Log size in use:          %" PRIu64 "\n",
                  omf::kLogHeaderBytes + r.entries_used * omf::kEntryBytes);
    out += format("  Log size (total bytes)    %" PRIu64 "\n", r.sb.log_len);
    out += problem_lines(r);
    out += unreplayed_lines(r);
    if (r.units_claimed_twice == 0)
        out += "  No allocation errors found\n";
    else
        append_cross_link_lines(r, out);
    out += "\n";
}

std::string capacity_section(const FsckReport& r, uint64_t bitmap_capacity,
                             const FsckOptions& opt) {
    const double amplification = r.sum_file_sizes == 0 ? HUGE_VAL
                                                       : static_cast<double>(r.allocated) /
                                                             static_cast<double>(r.sum_file_sizes);
    const double percent = r.sb.dev_size == 0 ? 0.0
                                              : 100.0 * static_cast<double>(r.allocated) /
                                                    static_cast<double>(r.sb.dev_size);
    std::string out = "Capacity:\n";
    out += "  Device capacity:        " + bytes_text(r.sb.dev_size, opt) + "\n";
    out += "  Bitmap capacity:        " + bytes_text(bitmap_capacity, opt) + "\n";
    out += "  Sum of file sizes:      " + bytes_text(r.sum_file_sizes, opt) + "\n";
    out += "  Allocated bytes:        " + bytes_text(r.allocated, opt) + "\n";
    out += "  Free space:             " + bytes_text(r.free, opt) + "\n";
    if (omf::deletes_marked(r.sb)) {
        out += "  Pending reclaim:        " + bytes_text(r.pending, opt) + "\n";
        out += "  In use by live files:   " + bytes_text(r.allocated - r.pending, opt) + "\n";
    }
    if (!r.unreplayed.empty())
        out += "  Claimed by unreplayed:  " + bytes_text(r.unreplayed.claimed_bytes, opt) + "\n";
    out += format("  Space amplification:     %.2f\n", amplification);
    out += format("  Percent used:            %.1f%%\n\n", percent);
    return out;
}

std::string famfs_log_section(const FsckReport& r) {
    std::string out = "Famfs log:\n";
    out += format("  %" PRIu64 " of %" PRIu64 " entries used\n", r.entries_used, r.capacity);
    out += format("  %" PRIu64 " bad log entries detected\n", r.bad_entries());
    out += format("  %" PRIu64 " files\n", r.files);
    out += format("  %" PRIu64 " directories\n", r.dirs);
    if (!r.unreplayed.empty())
        out += format("  %" PRIu64 " files and %" PRIu64
                      " directories more past the invalid entry (not replayed)\n",
                      r.unreplayed.files, r.unreplayed.dirs);
    return out + "\n";
}

std::string buckets_section(const FsckReport& r, uint64_t bitmap_capacity, const FsckOptions& opt) {
    uint64_t covered = 0;
    for (const auto& b : r.buckets) covered += b.size;
    const uint64_t overhang = r.buckets.empty() ? 0 : bitmap_capacity - covered;
    std::string out = "Stripe bucket info:\n";
    out += "  Wasted overhang: " + bytes_text(overhang, opt) + (opt.human ? "" : " bytes") +
           format(" (%" PRIu64 " au)\n", overhang / r.sb.alloc_unit);
    for (size_t i = 0; i < r.buckets.size(); ++i) {
        const BucketStats& b = r.buckets[i];
        out += format("  Bitmap range %zu\n", i);
        out += "    Size:   " + bytes_text(b.size, opt) + "\n";
        out += "    In use: " + bytes_text(b.used, opt) + "\n";
        out += "    Free:   " + bytes_text(b.free, opt) + "\n";
        out += format("    Free fragments: %" PRIu64 "\n", b.fragments);
        out += "    Largest frag:   " + bytes_text(b.largest, opt) + "\n";
        out += "    Smallest frag:  " + bytes_text(b.smallest, opt) + "\n";
    }
    return out;
}

std::string verbose_section(const FsckReport& r) {
    std::string out = "Verbose:\n";
    out += format("  log_offset:        %" PRIu64 "\n", r.sb.log_offset);
    out += format("  log_len:           %" PRIu64 "\n", r.sb.log_len);
    out += "  log_entry components:\n";
    out += format("      sizeof(log header) %" PRIu64 "\n", omf::kLogHeaderBytes);
    out += format("      sizeof(log_entry)  %" PRIu64 "\n", omf::kEntryBytes);
    out += format("  last_log_index:    %" PRIu64 "\n", r.header.last_index);
    out += format("  next_seqnum:       %" PRIu64 "\n", r.header.next_seqnum);
    out += format("  next_index:        %" PRIu64 "\n", r.header.next_index);
    return out;
}

uint64_t saturating_add(uint64_t a, uint64_t b) {
    return a > ~uint64_t{0} - b ? ~uint64_t{0} : a + b;
}

// Bytes a file's map covers: its extents, or its strips.
uint64_t map_bytes(const omf::FileEntry& f) {
    const auto& runs = f.ext_type == omf::ExtentType::kSimple ? f.extents : f.interleave.strips;
    uint64_t sum = 0;
    for (const omf::Extent& e : runs) sum = saturating_add(sum, e.len);
    return sum;
}

UnreplayedEntry unreplayed_file(const omf::FileEntry& f, uint64_t index, State& st) {
    UnreplayedEntry e{index, UnreplayedEntry::Kind::kFile, f.relpath, f.size, 0, ""};
    if (Status map = validate_file_map(f, st.layout); !map) {
        e.problem = "its map is not counted: " + map.error().message;
        return e;
    }
    st.alloc.claim(f, index);
    e.claimed = map_bytes(f);
    return e;
}

UnreplayedEntry unreplayed_entry(const LogView& log, uint64_t index, State& st) {
    auto entry = log.entry(index);
    if (!entry) return {index, UnreplayedEntry::Kind::kInvalid, "", 0, 0, entry.error().message};
    if (const auto* f = std::get_if<omf::FileEntry>(&entry->payload))
        return unreplayed_file(*f, index, st);
    if (const auto* d = std::get_if<omf::MkdirEntry>(&entry->payload))
        return {index, UnreplayedEntry::Kind::kDirectory, d->relpath, 0, 0, ""};
    return {index, UnreplayedEntry::Kind::kOther, "", 0, 0, ""};
}

// Reads the entries [from, end) that replay stopped before, as the
// reference's fsck does (it skips a bad entry and goes on): their files'
// space is claimed in st.alloc, so collisions among them and with the
// replayed files are found. st.ns is left as replay made it.
Unreplayed walk_unreplayed(const LogView& log, State& st, uint64_t from, uint64_t end) {
    Unreplayed u;
    const uint64_t used_before = st.alloc.used_bytes();
    for (uint64_t i = from; i < end; ++i) {
        UnreplayedEntry e = unreplayed_entry(log, i, st);
        u.files += e.kind == UnreplayedEntry::Kind::kFile;
        u.dirs += e.kind == UnreplayedEntry::Kind::kDirectory;
        u.invalid += e.kind == UnreplayedEntry::Kind::kInvalid;
        u.entries.push_back(std::move(e));
    }
    u.claimed_bytes = st.alloc.used_bytes() - used_before;
    return u;
}

}  // namespace

uint64_t FsckReport::bad_entries() const {
    return (invalid_index ? 1 : 0) + unreplayed.invalid + problems.size();
}

uint64_t FsckReport::errors() const {
    const uint64_t entries = bad_entries();
    return units_claimed_twice > ~uint64_t{0} - entries ? ~uint64_t{0}
                                                        : entries + units_claimed_twice;
}

Result<FsckReport> fsck(Volume& vol, const FsckOptions& opt) {
    auto header = vol.log().header();
    if (!header) return header.error();
    auto st = vol.load();
    if (!st) return st.error();

    FsckReport r;
    r.sb = vol.superblock();
    r.role = vol.role();
    r.header = *header;
    r.entries_used = header->next_index;
    r.capacity = vol.log().capacity();
    r.files = st->ns.files();
    r.dirs = st->ns.dirs();
    for_each_file(st->ns, [&](const Node& n) {  // saturating: sizes come from the log
        r.sum_file_sizes = std::min(r.sum_file_sizes, ~uint64_t{0} - n.size()) + n.size();
    });
    r.invalid_index = st->invalid_index;
    if (st->invalid_reason) r.invalid_reason = st->invalid_reason->message;
    r.problems = st->ns.problems();
    if (r.invalid_index) {
        const uint64_t end = std::min(header->next_index, r.capacity);
        r.unreplayed = walk_unreplayed(vol.log(), *st, *r.invalid_index + 1, end);
    }
    r.allocated = st->alloc.used_bytes();
    r.free = st->alloc.free_bytes();
    r.pending = st->alloc.pending_bytes();
    r.collisions = st->alloc.collisions();
    r.units_claimed_twice = st->alloc.units_claimed_twice();
    r.buckets = st->alloc.bucket_stats(opt.nbuckets);
    r.cross_links = cross_links(r.collisions, st->ns, r.unreplayed, st->alloc.unit());
    return r;
}

std::string format_fsck(const FsckReport& r, const FsckOptions& opt) {
    const uint64_t bitmap_capacity = r.allocated + r.free;
    std::string out;
    out.reserve(8192 + 256 * r.cross_links.size());
    out += superblock_section(r, opt);
    append_log_stats_section(r, out);
    out += capacity_section(r, bitmap_capacity, opt);
    out += famfs_log_section(r);
    out += buckets_section(r, bitmap_capacity, opt);
    if (opt.verbose) out += verbose_section(r);
    return out;
}

}  // namespace famfs
