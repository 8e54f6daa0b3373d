#include "famfs/log.h"

#include <unistd.h>

#include <cstring>
#include <thread>

#include "bytes.h"
#include "famfs/memsafe.h"

namespace famfs {
namespace {

constexpr size_t kNextSeqnumOffset = 32;
constexpr size_t kNextIndexOffset = 40;

// Loads a header counter from memory, never from a register or a stale line.
uint64_t load_counter(const uint8_t* p) {
    return __atomic_load_n(reinterpret_cast<const uint64_t*>(p), __ATOMIC_ACQUIRE);
}

void store_counter(uint8_t* p, uint64_t v) {
    __atomic_store_n(reinterpret_cast<uint64_t*>(p), v, __ATOMIC_RELEASE);
}

}  // namespace

LogView::LogView(Device& device, uint64_t log_offset, uint64_t log_len)
    : device_(device), log_offset_(log_offset), log_len_(log_len) {}

std::span<uint8_t> LogView::header_bytes() const {
    return device_.range(log_offset_, omf::kLogHeaderBytes);
}

std::span<uint8_t> LogView::slot(uint64_t index) const {
    return device_.range(log_offset_ + omf::kLogHeaderBytes + index * omf::kEntryBytes,
                         omf::kEntryBytes);
}

Result<omf::LogHeader> LogView::header() const {
    auto h = header_bytes();
    uint8_t local[omf::kLogHeaderBytes];
    // The cache flush touches the line too, so it is guarded with the copy.
    Status s = memsafe::guarded(h.data(), h.size(), [&] {
        device_.invalidate(h.data(), h.size());
        std::memcpy(local, h.data(), sizeof local);
    });
    if (!s) return make_error(EIO, "log header: " + s.error().message);
    FAMFS_TRY(omf::validate_log_header(local, log_len_));
    return omf::decode_log_header(local);
}

uint64_t LogView::next_index() const {
    auto h = header_bytes();
    device_.invalidate(h.data(), h.size());
    return load_counter(h.data() + kNextIndexOffset);
}

Result<omf::LogEntry> LogView::entry(uint64_t index) const {
    if (index >= next_index())
        return make_error(ENOENT, "log entry " + std::to_string(index) + " is not written yet");
    auto s = slot(index);
    uint8_t local[omf::kEntryBytes];
    bool checked = false;
    Status read =
        memsafe::guarded(s.data(), s.size(), [&] { checked = copy_checked_slot(index, local); });
    if (!read) return memory_failure(index);
    std::span<const uint8_t> image(local, sizeof local);
    if (!checked) return omf::check_entry(image, index).error();
    return omf::parse_entry(image, index);
}

Status LogView::append(const omf::LogEntry& entry) {
    auto h = header();
    if (!h) return h.error();
    if (h->next_index > h->last_index)
        return make_error(ENOSPC, "log is full (" + std::to_string(h->next_index) + " of " +
                                      std::to_string(capacity()) + " entries used)");
    // Readers trust an entry only when its seqnum equals its index, so a
    // header whose counters disagree cannot take a valid entry.
    if (h->next_seqnum != h->next_index)
        return make_error(EBADMSG, "log header: next_seqnum " + std::to_string(h->next_seqnum) +
                                       " != next_index " + std::to_string(h->next_index) +
                                       "; refusing to append (run famfs fsck)");
    omf::LogEntry e = entry;
    e.seqnum = h->next_seqnum;
    uint8_t image[omf::kEntryBytes];
    FAMFS_TRY(omf::encode_entry(e, image));

    // The entry is written and made durable before the index that makes it
    // visible; a reader never trusts a slot at or past next_index.
    auto s = slot(h->next_index);
    std::memcpy(s.data(), image, sizeof image);
    FAMFS_TRY(device_.persist(s.data(), s.size()));

    auto hb = header_bytes();
    store_counter(hb.data() + kNextSeqnumOffset, h->next_seqnum + 1);
    store_counter(hb.data() + kNextIndexOffset, h->next_index + 1);
    return device_.persist(hb.data(), hb.size());
}

uint64_t LogView::wait_for_change(uint64_t known, std::chrono::microseconds timeout,
                                  std::chrono::microseconds poll) const {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        uint64_t now = next_index();
        if (now != known || std::chrono::steady_clock::now() >= deadline) return now;
        std::this_thread::sleep_for(poll);
    }
}

Status format_log(Device& device, uint64_t log_offset, uint64_t log_len) {
    if (log_offset + log_len > device.size())
        return make_error(ENOSPC, device.path() + ": a " + std::to_string(log_len) +
                                      "-byte log does not fit on the device");
    auto region = device.range(log_offset, log_len);
    std::memset(region.data(), 0, region.size());
    omf::encode_log_header(omf::make_log_header(log_len), region);
    return device.persist(region.data(), region.size());
}

}  // namespace famfs
