// Indentation, key order and number bases follow the reference tool's
// output exactly (see golden/upstream-omf-2.2/*/namespace.txt).
#include "famfs/describe.h"

#include <cinttypes>
#include <cstdio>

#include "famfs/escape.h"

namespace famfs {
namespace {

std::string format(const char* fmt, auto... args) {
    char buf[256];
    std::snprintf(buf, sizeof(buf), fmt, args...);
    return buf;
}

std::string describe_extents(const std::vector<omf::Extent>& extents, const std::string& indent) {
    std::string out = indent + "simple_ext_list:\n";
    for (const auto& e : extents) {
        out += format("%s- devindex: %" PRIu64 "\n", indent.c_str(), e.devindex);
        out += format("%s  offset: 0x%" PRIx64 "\n", indent.c_str(), e.offset);
        out += format("%s  length: 0x%" PRIx64 "\n", indent.c_str(), e.len);
    }
    return out;
}

std::string describe_interleave(const omf::Interleave& il) {
    std::string out = "  striped_ext_list:\n";
    out += format("  - nstrips: %" PRIu64 "\n", il.nstrips);
    out += format("    chunk_size: 0x%" PRIx64 "\n", il.chunk_size);
    return out + describe_extents(il.strips, "    ");
}

}  // namespace

std::string describe_file(const omf::FileEntry& f) {
    const bool striped = f.ext_type == omf::ExtentType::kInterleaved;
    std::string out = "---\nfile:\n";
    out += "  path: " + escaped(f.relpath) + "\n";
    out += format("  size: %" PRIu64 "\n", f.size);
    out += format("  flags: %u\n", f.flags);
    out += format("  mode: 0%o\n", f.mode);
    out += format("  uid: %u\n", f.uid);
    out += format("  gid: %u\n", f.gid);
    // A striped file has one interleaved extent (niext is always 1).
    out += format("  nextents: %zu\n", striped ? size_t{1} : f.extents.size());
    out += striped ? describe_interleave(f.interleave) : describe_extents(f.extents, "  ");
    return out + "...\n";
}

}  // namespace famfs
