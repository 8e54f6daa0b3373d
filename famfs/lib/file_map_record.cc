#include "famfs/file_map_record.h"

#include <cstring>

#include "bytes.h"

namespace famfs {

namespace {

constexpr char kMagic[8] = {'F', 'A', 'M', 'F', 'S', 'M', 'A', 'P'};

class Writer {
  public:
    template <class T>
    void put(T v) {
        const size_t at = out_.size();
        out_.resize(at + sizeof v);
        bytes::put<T>(out_, at, v);
    }
    void raw(const void* p, size_t n) {
        const auto* b = static_cast<const uint8_t*>(p);
        out_.insert(out_.end(), b, b + n);
    }
    std::vector<uint8_t> take() { return std::move(out_); }

  private:
    std::vector<uint8_t> out_;
};

// Reads fields in order; the first short read sets failed() for good.
class Reader {
  public:
    explicit Reader(std::span<const uint8_t> in) : in_(in) {}
    template <class T>
    T get() {
        T v{};
        if (take(sizeof v)) v = bytes::get<T>(in_, at_ - sizeof v);
        return v;
    }
    std::span<const uint8_t> raw(size_t n) {
        return take(n) ? in_.subspan(at_ - n, n) : std::span<const uint8_t>{};
    }
    bool failed() const { return failed_; }
    bool at_end() const { return at_ == in_.size(); }

  private:
    bool take(size_t n) {
        if (failed_ || in_.size() - at_ < n) return !(failed_ = true);
        at_ += n;
        return true;
    }
    std::span<const uint8_t> in_;
    size_t at_ = 0;
    bool failed_ = false;
};

Error invalid(const std::string& why) {
    return make_error(EINVAL, std::string(kFileMapXattr) + ": " + why);
}

bool inside(const omf::Extent& e, uint64_t device_size) {
    return e.len != 0 && e.offset <= device_size && e.len <= device_size - e.offset;
}

Status check_extents(const omf::FileEntry& f, uint64_t device_size) {
    const auto& extents =
        f.ext_type == omf::ExtentType::kInterleaved ? f.interleave.strips : f.extents;
    for (const auto& e : extents) {
        if (!inside(e, device_size)) return invalid("an extent lies outside the device");
    }
    return {};
}

}  // namespace

std::vector<uint8_t> encode_file_map(const FileMapRecord& r) {
    Writer w;
    w.raw(kMagic, sizeof kMagic);
    w.put<uint32_t>(FileMapRecord::kVersion);
    w.put<uint32_t>(r.flags);
    w.raw(r.fs_uuid.data(), r.fs_uuid.size());
    w.put<uint64_t>(r.device_size);
    w.put<uint32_t>(static_cast<uint32_t>(r.device_path.size()));
    w.raw(r.device_path.data(), r.device_path.size());
    w.put<uint32_t>(static_cast<uint32_t>(r.epoch_path.size()));
    w.raw(r.epoch_path.data(), r.epoch_path.size());
    std::vector<uint8_t> slot(omf::kEntryBytes);
    if (!omf::encode_entry({.seqnum = 0, .payload = r.file}, slot)) slot.clear();
    w.put<uint32_t>(static_cast<uint32_t>(slot.size()));
    w.raw(slot.data(), slot.size());
    return w.take();
}

Result<FileMapRecord> decode_file_map(std::span<const uint8_t> bytes) {
    Reader rd(bytes);
    const auto magic = rd.raw(sizeof kMagic);
    if (rd.failed() || std::memcmp(magic.data(), kMagic, sizeof kMagic) != 0) {
        return invalid("not a famfs map record");
    }
    if (const auto version = rd.get<uint32_t>(); version != FileMapRecord::kVersion) {
        return invalid("version " + std::to_string(version) + " is not understood");
    }
    FileMapRecord r;
    r.flags = rd.get<uint32_t>();
    const auto uuid = rd.raw(r.fs_uuid.size());
    if (!rd.failed()) std::memcpy(r.fs_uuid.data(), uuid.data(), uuid.size());
    r.device_size = rd.get<uint64_t>();
    const auto path = rd.raw(rd.get<uint32_t>());
    r.device_path.assign(path.begin(), path.end());
    const auto epoch = rd.raw(rd.get<uint32_t>());
    r.epoch_path.assign(epoch.begin(), epoch.end());
    const auto slot = rd.raw(rd.get<uint32_t>());
    if (rd.failed() || !rd.at_end()) return invalid("truncated or overlong record");
    if (slot.size() != omf::kEntryBytes) return invalid("no log entry");
    auto entry = omf::decode_entry(slot, 0);
    if (!entry) return invalid(entry.error().message);
    auto* file = std::get_if<omf::FileEntry>(&entry->payload);
    if (!file) return invalid("the log entry is not a file");
    FAMFS_TRY(check_extents(*file, r.device_size));
    r.file = std::move(*file);
    return r;
}

}  // namespace famfs
