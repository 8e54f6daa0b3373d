#include "famfs/shadow_yaml.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <utility>

namespace famfs::shadow {
namespace {

// Number formats of the reference's writer: it prints through printf with
// signed conversions, so a uid of 4294967295 reads "-1".
std::string dec64(uint64_t v) {
    return std::to_string(static_cast<int64_t>(v));
}
std::string dec32(uint32_t v) {
    return std::to_string(static_cast<int32_t>(v));
}
std::string hex(uint64_t v) {
    char s[24];
    std::snprintf(s, sizeof s, "0x%" PRIx64, v);
    return s;
}
std::string octal(uint32_t v) {
    char s[16];
    std::snprintf(s, sizeof s, "0%" PRIo32, v);
    return s;
}

void emit_pair(YAML::Emitter& out, const char* key, const std::string& value) {
    out << YAML::Key << key << YAML::Value << value;
}

void emit_extents(YAML::Emitter& out, const std::vector<omf::Extent>& extents) {
    out << YAML::Key << "simple_ext_list" << YAML::Value << YAML::BeginSeq;
    for (const omf::Extent& e : extents) {
        out << YAML::BeginMap;
        emit_pair(out, "devindex", dec64(e.devindex));
        emit_pair(out, "offset", hex(e.offset));
        emit_pair(out, "length", hex(e.len));
        out << YAML::EndMap;
    }
    out << YAML::EndSeq;
}

void emit_striped(YAML::Emitter& out, const omf::Interleave& il) {
    out << YAML::Key << "striped_ext_list" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
    emit_pair(out, "nstrips", dec64(il.nstrips));
    emit_pair(out, "chunk_size", hex(il.chunk_size));
    emit_extents(out, il.strips);  // last: the reference's reader ends the item there
    out << YAML::EndMap << YAML::EndSeq;
}

}  // namespace

Result<std::string> to_yaml(const omf::FileEntry& f) {
    const bool striped = f.ext_type == omf::ExtentType::kInterleaved;
    YAML::Emitter out;
    out << YAML::BeginDoc << YAML::BeginMap << YAML::Key << "file" << YAML::Value << YAML::BeginMap;
    emit_pair(out, "path", f.relpath);
    emit_pair(out, "size", dec64(f.size));
    emit_pair(out, "flags", dec32(f.flags));
    emit_pair(out, "mode", octal(f.mode));
    emit_pair(out, "uid", dec32(f.uid));
    emit_pair(out, "gid", dec32(f.gid));
    // The log's extent count field: 1 (one striped extent) for a striped file.
    emit_pair(out, "nextents", std::to_string(striped ? 1 : f.extents.size()));
    if (striped) {
        emit_striped(out, f.interleave);
    } else {
        emit_extents(out, f.extents);
    }
    out << YAML::EndMap << YAML::EndMap << YAML::EndDoc;
    if (!out.good())
        return make_error(
            EINVAL, "'" + f.relpath + "': cannot write its shadow YAML: " + out.GetLastError());
    std::string text = out.c_str();
    if (text.empty() || text.back() != '\n') text += '\n';
    return text;
}

namespace {

// Reads one shadow file; every error names the file, the place and why.
class Reader {
  public:
    explicit Reader(const std::string& name) : name_(name) {}

    Error fail(const YAML::Node& at, const std::string& why) const {
        const YAML::Mark m = at.Mark();
        std::string where = m.is_null() ? "" : "line " + std::to_string(m.line + 1) + ": ";
        return make_error(EINVAL, name_ + ": " + where + why);
    }
    Error fail(const std::string& why) const { return make_error(EINVAL, name_ + ": " + why); }

    Result<omf::FileEntry> document(const YAML::Node& doc) const;

  private:
    Result<std::string> scalar(const YAML::Node& n, const std::string& key) const;
    Result<uint64_t> number(const YAML::Node& n, const std::string& key, unsigned bits) const;
    Result<uint32_t> number32(const YAML::Node& n, const std::string& key) const;
    Status field(const std::string& key, const YAML::Node& value, omf::FileEntry& f,
                 uint64_t& nextents, int& lists) const;
    Result<std::vector<omf::Extent>> extent_list(const YAML::Node& seq,
                                                 const std::string& what) const;
    Result<omf::Extent> extent(const YAML::Node& map, const std::string& what) const;
    Result<omf::Interleave> striped_list(const YAML::Node& seq) const;

    const std::string& name_;
};

// strtoull with base 0 (decimal, 0x hex, 0 octal) as the reference reads,
// but the whole text must be the number; a minus sign wraps as in C.
bool parse_c_number(const std::string& text, unsigned bits, uint64_t& out) {
    size_t at = 0;
    const bool negative = !text.empty() && text[0] == '-';
    if (!text.empty() && (text[0] == '-' || text[0] == '+')) at = 1;
    if (at >= text.size() || text[at] < '0' || text[at] > '9') return false;
    errno = 0;
    char* end = nullptr;
    const unsigned long long magnitude = std::strtoull(text.c_str() + at, &end, 0);
    if (errno != 0 || *end != '\0') return false;
    const uint64_t max =
        bits == 64 ? std::numeric_limits<uint64_t>::max() : (uint64_t{1} << bits) - 1;
    if (!negative) {
        if (magnitude > max) return false;
        out = magnitude;
        return true;
    }
    if (magnitude > (uint64_t{1} << (bits - 1))) return false;
    out = (0 - static_cast<uint64_t>(magnitude)) & max;
    return true;
}

Result<std::string> Reader::scalar(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) return fail(n, "'" + key + "' must be a single value");
    return n.Scalar();
}

Result<uint64_t> Reader::number(const YAML::Node& n, const std::string& key, unsigned bits) const {
    auto text = scalar(n, key);
    if (!text) return text.error();
    uint64_t v = 0;
    if (!parse_c_number(*text, bits, v))
        return fail(n, "'" + key + "' is '" + *text + "', not a " + std::to_string(bits) +
                           "-bit number (decimal, 0x hex or 0 octal)");
    return v;
}

Result<uint32_t> Reader::number32(const YAML::Node& n, const std::string& key) const {
    auto v = number(n, key, 32);
    if (!v) return v.error();
    return static_cast<uint32_t>(*v);
}

Result<omf::Extent> Reader::extent(const YAML::Node& map, const std::string& what) const {
    if (!map.IsMap()) return fail(map, what + " must be a map of devindex, offset and length");
    omf::Extent e;
    bool have_offset = false, have_len = false;
    for (const auto& kv : map) {
        const std::string key = kv.first.Scalar();
        uint64_t* into = key == "devindex" ? &e.devindex
                         : key == "offset" ? &e.offset
                         : key == "length" ? &e.len
                                           : nullptr;
        if (into == nullptr) continue;  // the reference skips unknown extent keys
        auto v = number(kv.second, key, 64);
        if (!v) return v.error();
        *into = *v;
        have_offset |= key == "offset";
        have_len |= key == "length";
    }
    if (!have_offset || !have_len) return fail(map, what + " lacks its offset or length");
    return e;
}

Result<std::vector<omf::Extent>> Reader::extent_list(const YAML::Node& seq,
                                                     const std::string& what) const {
    if (!seq.IsSequence() || seq.size() == 0)
        return fail(seq, what + " must be a non-empty list of extents");
    if (seq.size() > omf::kMaxExtents)
        return fail(seq, what + " has " + std::to_string(seq.size()) +
                             " extents; famfs logs at most " + std::to_string(omf::kMaxExtents));
    std::vector<omf::Extent> out;
    for (size_t i = 0; i < seq.size(); ++i) {
        auto e = extent(seq[i], what + " item " + std::to_string(i));
        if (!e) return e.error();
        out.push_back(*e);
    }
    return out;
}

Result<omf::Interleave> Reader::striped_list(const YAML::Node& seq) const {
    if (!seq.IsSequence() || seq.size() != 1)
        return fail(seq, "striped_ext_list must hold exactly one striped extent");
    const YAML::Node item = seq[0];
    if (!item.IsMap())
        return fail(item,
                    "the striped extent must be a map of nstrips, chunk_size and "
                    "simple_ext_list");
    omf::Interleave il;
    bool have_strips = false;
    for (const auto& kv : item) {
        const std::string key = kv.first.Scalar();
        if (key == "nstrips" || key == "chunk_size") {
            auto v = number(kv.second, key, 64);
            if (!v) return v.error();
            (key == "nstrips" ? il.nstrips : il.chunk_size) = *v;
        } else if (key == "simple_ext_list") {
            auto strips = extent_list(kv.second, "the strip list");
            if (!strips) return strips.error();
            il.strips = std::move(*strips);
            have_strips = true;
        }
    }
    if (!have_strips) return fail(item, "the striped extent has no simple_ext_list of strips");
    if (il.nstrips != il.strips.size())
        return fail(item, "nstrips is " + std::to_string(il.nstrips) + " but " +
                              std::to_string(il.strips.size()) + " strips are listed");
    return il;
}

Status Reader::field(const std::string& key, const YAML::Node& value, omf::FileEntry& f,
                     uint64_t& nextents, int& lists) const {
    if (key == "path") {
        auto s = scalar(value, key);
        if (!s) return s.error();
        if (s->size() > omf::kMaxRelpathLen)
            return fail(value, "path is " + std::to_string(s->size()) +
                                   " bytes; famfs logs at most " +
                                   std::to_string(omf::kMaxRelpathLen));
        f.relpath = *s;
        return {};
    }
    if (key == "size") {
        auto v = number(value, key, 64);
        if (!v) return v.error();
        f.size = *v;
        return {};
    }
    uint32_t* into32 = key == "flags"  ? &f.flags
                       : key == "mode" ? &f.mode
                       : key == "uid"  ? &f.uid
                       : key == "gid"  ? &f.gid
                                       : nullptr;
    if (into32 != nullptr) {
        auto v = number32(value, key);
        if (!v) return v.error();
        *into32 = *v;
        return {};
    }
    if (key == "nextents") {
        auto v = number(value, key, 32);
        if (!v) return v.error();
        nextents = *v;
        return {};
    }
    if (key == "simple_ext_list") {
        auto ext = extent_list(value, key);
        if (!ext) return ext.error();
        f.ext_type = omf::ExtentType::kSimple;
        f.extents = std::move(*ext);
        lists++;
        return {};
    }
    if (key == "striped_ext_list") {
        auto il = striped_list(value);
        if (!il) return il.error();
        f.ext_type = omf::ExtentType::kInterleaved;
        f.interleave = std::move(*il);
        lists++;
        return {};
    }
    return fail(value, "unknown key '" + key + "' in the file section");
}

Result<omf::FileEntry> Reader::document(const YAML::Node& doc) const {
    if (!doc.IsMap() || doc.size() != 1 || !doc["file"])
        return fail(doc, "a shadow file holds one map with the single key 'file'");
    const YAML::Node file = doc["file"];
    if (!file.IsMap()) return fail(file, "'file' must be a map of the file's fields");
    // What the reference leaves out reads as 0, as in its zeroed struct.
    omf::FileEntry f;
    f.flags = 0;
    f.mode = 0;
    uint64_t nextents = 0;
    int lists = 0;
    for (const auto& kv : file) {
        if (!kv.first.IsScalar()) return fail(kv.first, "a key in 'file' is not a plain name");
        FAMFS_TRY(field(kv.first.Scalar(), kv.second, f, nextents, lists));
    }
    if (lists != 1)
        return fail(file, lists == 0 ? "no simple_ext_list or striped_ext_list"
                                     : "more than one extent list");
    const uint64_t listed = f.ext_type == omf::ExtentType::kSimple ? f.extents.size() : 1;
    if (f.ext_type == omf::ExtentType::kSimple && nextents != listed)
        return fail(file, "nextents is " + std::to_string(nextents) + " but " +
                              std::to_string(listed) + " extents are listed");
    return f;
}

}  // namespace

Result<omf::FileEntry> from_yaml(std::string_view text, const std::string& name) {
    Reader reader(name);
    std::vector<YAML::Node> docs;
    try {
        docs = YAML::LoadAll(std::string(text));
    } catch (const YAML::Exception& e) {
        // e.msg is the reason alone; e.mark says where (0-based).
        return reader.fail("line " + std::to_string(e.mark.line + 1) + ", column " +
                           std::to_string(e.mark.column + 1) + ": " + e.msg);
    }
    if (docs.size() != 1)
        return reader.fail(docs.empty() ? "empty: no YAML document"
                                        : std::to_string(docs.size()) +
                                              " YAML documents; a shadow file holds one");
    try {
        return reader.document(docs[0]);
    } catch (const YAML::Exception& e) {
        return reader.fail(e.msg);
    }
}

namespace {

void compare(std::vector<std::string>& out, const std::string& field, const std::string& logged,
             const std::string& parsed) {
    if (logged != parsed)
        out.push_back(field + ": " + logged + " in the log, " + parsed + " in the file");
}

void compare_extents(std::vector<std::string>& out, const std::string& what,
                     const std::vector<omf::Extent>& logged,
                     const std::vector<omf::Extent>& parsed) {
    compare(out, what + " count", std::to_string(logged.size()), std::to_string(parsed.size()));
    for (size_t i = 0; i < logged.size() && i < parsed.size(); ++i) {
        const std::string at = what + " " + std::to_string(i) + " ";
        compare(out, at + "devindex", dec64(logged[i].devindex), dec64(parsed[i].devindex));
        compare(out, at + "offset", hex(logged[i].offset), hex(parsed[i].offset));
        compare(out, at + "length", hex(logged[i].len), hex(parsed[i].len));
    }
}

}  // namespace

std::vector<std::string> differences(const omf::FileEntry& logged, const omf::FileEntry& parsed) {
    std::vector<std::string> out;
    compare(out, "path", "'" + logged.relpath + "'", "'" + parsed.relpath + "'");
    compare(out, "size", std::to_string(logged.size), std::to_string(parsed.size));
    compare(out, "flags", std::to_string(logged.flags), std::to_string(parsed.flags));
    compare(out, "mode", octal(logged.mode), octal(parsed.mode));
    compare(out, "uid", std::to_string(logged.uid), std::to_string(parsed.uid));
    compare(out, "gid", std::to_string(logged.gid), std::to_string(parsed.gid));
    const auto kind = [](const omf::FileEntry& f) {
        return std::string(f.ext_type == omf::ExtentType::kSimple ? "simple" : "striped");
    };
    compare(out, "extent type", kind(logged), kind(parsed));
    if (!out.empty() && kind(logged) != kind(parsed)) return out;
    if (logged.ext_type == omf::ExtentType::kSimple) {
        compare_extents(out, "extent", logged.extents, parsed.extents);
        return out;
    }
    compare(out, "nstrips", std::to_string(logged.interleave.nstrips),
            std::to_string(parsed.interleave.nstrips));
    compare(out, "chunk_size", hex(logged.interleave.chunk_size),
            hex(parsed.interleave.chunk_size));
    compare_extents(out, "strip", logged.interleave.strips, parsed.interleave.strips);
    return out;
}

}  // namespace famfs::shadow
