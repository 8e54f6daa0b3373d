// fsck: everything is derived from one replay of the log (namespace,
// allocation bitmap, collisions); the report mirrors the reference tool's
// sections so that people can compare the two side by side.
#include "famfs/fsck.h"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <map>

#include "famfs/escape.h"
#include "famfs/volume.h"

namespace famfs {
namespace {

std::string format(const char* fmt, auto... args) {
    std::string out(static_cast<size_t>(std::snprintf(nullptr, 0, fmt, args...)), '\0');
    std::snprintf(out.data(), out.size() + 1, fmt, args...);
    return out;
}

std::string human_size(uint64_t bytes) {
    static const char* const kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    if (bytes < 1024) return format("%" PRIu64 " B", bytes);
    double v = static_cast<double>(bytes) / 1024;
    size_t u = 0;
    while (v >= 1024 && u + 1 < std::size(kUnits)) {
        v /= 1024;
        ++u;
    }
    return format("%.2f %s", v, kUnits[u]);
}

// Every byte count in the report goes through here, so -h changes them all.
std::string bytes_text(uint64_t bytes, const FsckOptions& opt) {
    return opt.human ? human_size(bytes) : format("%" PRIu64, bytes);
}

struct Owner {
    uint64_t index = 0;
    std::string relpath;
};

std::vector<omf::Extent> file_extents(const omf::FileEntry& f) {
    return f.ext_type == omf::ExtentType::kInterleaved ? f.interleave.strips : f.extents;
}

// Every file in log order (cheaper than the sorted tree walk, and log order
// is what "first" means for a collision).
template <class F>
void for_each_file(const Namespace& ns, uint64_t end, F&& fn) {
    for (uint64_t index = 0; index < end; ++index) {
        const Node* n = ns.find_ino(index + 2);  // inode = log index + 2
        if (n && !n->is_dir && n->log_index == index) fn(*n);
    }
}

// The file that claimed each collided unit first (the collision names the
// second claimant only).
std::map<uint64_t, Owner> first_owners(const FsckReport& r, const Namespace& ns, uint64_t unit) {
    std::map<uint64_t, Owner> owners;
    if (r.collisions.empty()) return owners;
    std::map<uint64_t, uint64_t> second;  // unit -> index of the second claimant
    for (const auto& c : r.collisions) second.emplace(c.unit, c.index);
    for_each_file(ns, ns.applied(), [&](const Node& n) {
        for (const auto& e : file_extents(n.file)) {
            auto it = second.lower_bound(e.offset / unit);
            for (; it != second.end() && it->first * unit < e.offset + e.len; ++it) {
                if (it->second == n.log_index) continue;
                auto [o, fresh] = owners.try_emplace(it->first, Owner{n.log_index, n.relpath()});
                if (!fresh && o->second.index > n.log_index) o->second = {n.log_index, n.relpath()};
            }
        }
    });
    return owners;
}

std::vector<CrossLink> group_collisions(const std::vector<Collision>& collisions,
                                        const std::map<uint64_t, Owner>& owners, uint64_t unit) {
    std::vector<CrossLink> links;
    for (const Collision& c : collisions) {
        const auto it = owners.find(c.unit);
        const Owner first = it == owners.end()
                                ? Owner{CrossLink::kUnknownClaimant, "an entry replay refused"}
                                : it->second;
        if (!links.empty()) {
            CrossLink& last = links.back();
            if (last.second_index == c.index && last.first_index == first.index &&
                last.offset + last.units * unit == c.unit * unit) {
                ++last.units;
                continue;
            }
        }
        links.push_back({c.unit * unit, 1, first.index, c.index, first.relpath, c.relpath});
    }
    return links;
}

std::string cross_link_lines(const FsckReport& r) {
    std::string out =
        format("  ERROR: %zu allocation collision(s) (units claimed twice)\n", r.collisions.size());
    for (const CrossLink& l : r.cross_links) {
        const std::string first = l.first_index == CrossLink::kUnknownClaimant
                                      ? escaped(l.first_relpath)
                                      : format("%s (log entry %" PRIu64 ")",
                                               escaped(l.first_relpath).c_str(), l.first_index);
        out += format("  ERROR: cross-linked: %s and %s (log entry %" PRIu64 ") both claim %" PRIu64
                      " unit(s) at 0x%" PRIx64 "\n",
                      first.c_str(), escaped(l.second_relpath).c_str(), l.second_index, l.units,
                      l.offset);
    }
    return out;
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

std::string log_stats_section(const FsckReport& r) {
    std::string out = "Log stats:\n";
    out += format("  # of log entries in use: %" PRIu64 " of %" PRIu64 "\n", r.entries_used,
                  r.capacity);
    out += format("  Log size in use:          %" PRIu64 "\n",
                  omf::kLogHeaderBytes + r.entries_used * omf::kEntryBytes);
    out += format("  Log size (total bytes)    %" PRIu64 "\n", r.sb.log_len);
    out += problem_lines(r);
    out += r.collisions.empty() ? "  No allocation errors found\n" : cross_link_lines(r);
    return out + "\n";
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
    out += format("  Space amplification:     %.2f\n", amplification);
    out += format("  Percent used:            %.1f%%\n\n", percent);
    return out;
}

std::string famfs_log_section(const FsckReport& r) {
    std::string out = "Famfs log:\n";
    out += format("  %" PRIu64 " of %" PRIu64 " entries used\n", r.entries_used, r.capacity);
    out += format("  %" PRIu64 " bad log entries detected\n",
                  (r.invalid_index ? 1 : 0) + static_cast<uint64_t>(r.problems.size()));
    out += format("  %" PRIu64 " files\n", r.files);
    out += format("  %" PRIu64 " directories\n\n", r.dirs);
    return out;
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

}  // namespace

uint64_t FsckReport::errors() const {
    return (invalid_index ? 1 : 0) + problems.size() + collisions.size();
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
    for_each_file(st->ns, st->ns.applied(), [&](const Node& n) { r.sum_file_sizes += n.size(); });
    r.allocated = st->alloc.used_bytes();
    r.free = st->alloc.free_bytes();
    r.invalid_index = st->invalid_index;
    if (st->invalid_reason) r.invalid_reason = st->invalid_reason->message;
    r.problems = st->ns.problems();
    r.collisions = st->alloc.collisions();
    r.buckets = st->alloc.bucket_stats(opt.nbuckets);
    const uint64_t unit = st->alloc.unit();
    r.cross_links = group_collisions(r.collisions, first_owners(r, st->ns, unit), unit);
    return r;
}

std::string format_fsck(const FsckReport& r, const FsckOptions& opt) {
    const uint64_t bitmap_capacity = r.allocated + r.free;
    std::string out = superblock_section(r, opt);
    out += log_stats_section(r);
    out += capacity_section(r, bitmap_capacity, opt);
    out += famfs_log_section(r);
    out += buckets_section(r, bitmap_capacity, opt);
    if (opt.verbose) out += verbose_section(r);
    return out;
}

}  // namespace famfs
