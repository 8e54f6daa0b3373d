#include "famfs/log.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <system_error>
#include <thread>

#include "bytes.h"
#include "famfs/memsafe.h"

namespace famfs {
namespace {

constexpr size_t kNextSeqnumOffset = 32;
constexpr size_t kNextIndexOffset = 40;
// Below this many entries a second thread costs more than it saves.
constexpr uint64_t kSplitReplayEntries = 2048;

// Loads a header counter from memory, never from a register or a stale line.
uint64_t load_counter(const uint8_t* p) {
    return __atomic_load_n(reinterpret_cast<const uint64_t*>(p), __ATOMIC_ACQUIRE);
}

void store_counter(uint8_t* p, uint64_t v) {
    __atomic_store_n(reinterpret_cast<uint64_t*>(p), v, __ATOMIC_RELEASE);
}

// Maps the page tables for a range of the log in one call instead of one
// fault per page: a creat replays the whole log, and 15 000 entries are
// ~2 000 pages. Best effort (kernels before 5.14 say EINVAL).
void prefault(std::span<const uint8_t> range) {
    constexpr int kPopulateRead = 22;  // MADV_POPULATE_READ, newer than some headers
    auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    auto lo = reinterpret_cast<uintptr_t>(range.data()) & ~(page - 1);
    auto hi = reinterpret_cast<uintptr_t>(range.data() + range.size());
    if (hi > lo) (void)madvise(reinterpret_cast<void*>(lo), hi - lo, kPopulateRead);
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

// Copies slot i out of device memory and checks it, once more after an
// invalidate when the first look fails (a writer on another host may be
// mid-append). Device memory is only touched by the copies, and no object
// is alive across them, so a SIGBUS there abandons nothing.
bool LogView::copy_checked_slot(uint64_t i, uint8_t* local) const {
    auto s = slot(i);
    std::memcpy(local, s.data(), omf::kEntryBytes);
    if (omf::check_entry({local, omf::kEntryBytes}, i).ok()) return true;
    device_.invalidate(s.data(), s.size());
    std::memcpy(local, s.data(), omf::kEntryBytes);
    return omf::check_entry({local, omf::kEntryBytes}, i).ok();
}

// Device memory is only touched by copy_checked_slot, at the top of each
// iteration, when no entry is alive in this frame: a SIGBUS there abandons
// nothing. Without a sink the entries are collected in `r`.
void LogView::replay_entries(Replay& r, uint64_t end, const EntrySink* sink) const {
    uint8_t local[omf::kEntryBytes];
    for (uint64_t i = r.valid_end; i < end; ++i) {
        std::span<const uint8_t> image(local, sizeof local);
        if (!copy_checked_slot(i, local)) {
            r.invalid_index = i;
            r.invalid_reason = omf::check_entry(image, i).error();
            return;
        }
        auto e = omf::parse_entry(image, i);
        if (!e) {
            r.invalid_index = i;
            r.invalid_reason = e.error();
            return;
        }
        r.valid_end = i + 1;
        if (sink)
            (*sink)(std::move(e.value()), i);
        else
            r.entries.push_back(std::move(e.value()));
    }
}

// Replays [r.valid_end, end) into `r` (or the sink).
void LogView::replay_part(Replay& r, uint64_t end, const EntrySink* sink) const {
    const uint64_t begin = r.valid_end;
    auto part = device_.range(log_offset_ + omf::kLogHeaderBytes + begin * omf::kEntryBytes,
                              (end - begin) * omf::kEntryBytes);
    prefault(part);
    // Poisoned log memory makes the entry it hits invalid: replay stops
    // there and says why, as for any other invalid entry.
    Status s = memsafe::guarded(part.data(), part.size(), [&] { replay_entries(r, end, sink); });
    if (!s) {
        const uint64_t index = begin + memsafe::last_fault().offset / omf::kEntryBytes;
        r.invalid_index = index;
        r.invalid_reason = make_error(EIO, "log entry " + std::to_string(index) +
                                               ": memory failure (SIGBUS) while reading it");
    }
}

// A long replay into a sink uses both halves of a two-core machine: a
// second thread checks and parses the later half of the entries (copying,
// CRC and parsing are most of a replay) while this one replays the earlier
// half into the sink, which then gets the later half from the buffer. The
// sink still sees every entry in order, on this thread, and the first
// invalid entry of either half ends the replay there.
bool LogView::replay_split(Replay& r, const EntrySink& sink) const {
    const uint64_t mid = r.valid_end + (r.next_index - r.valid_end) / 2;
    Replay later;
    later.first = later.valid_end = mid;
    later.next_index = r.next_index;
    later.entries.reserve(r.next_index - mid);
    std::thread worker;
    try {
        worker = std::thread([&] { replay_part(later, later.next_index, nullptr); });
    } catch (const std::system_error&) {
        return false;  // no thread to be had: replay on this one
    }
    replay_part(r, mid, &sink);
    worker.join();
    if (r.invalid_index) return true;  // entries past an invalid one do not count
    for (size_t i = 0; i < later.entries.size(); ++i) sink(std::move(later.entries[i]), mid + i);
    r.valid_end = later.valid_end;
    r.invalid_index = later.invalid_index;
    r.invalid_reason = later.invalid_reason;
    return true;
}

Result<Replay> LogView::replay(uint64_t from) const {
    return replay_to(from, nullptr);
}

Result<Replay> LogView::replay(uint64_t from, const EntrySink& sink) const {
    return replay_to(from, &sink);
}

Result<Replay> LogView::replay_to(uint64_t from, const EntrySink* sink) const {
    auto h = header();
    if (!h) return h.error();
    Replay r;
    r.first = r.valid_end = from;
    r.next_index = h->next_index;
    if (r.next_index <= from) return r;
    if (sink && r.next_index - from >= kSplitReplayEntries && replay_split(r, *sink)) return r;
    if (!sink) r.entries.reserve(r.next_index - from);
    replay_part(r, r.next_index, sink);
    return r;
}

Result<omf::LogEntry> LogView::entry(uint64_t index) const {
    if (index >= next_index())
        return make_error(ENOENT, "log entry " + std::to_string(index) + " is not written yet");
    auto s = slot(index);
    uint8_t local[omf::kEntryBytes];
    bool checked = false;
    Status read =
        memsafe::guarded(s.data(), s.size(), [&] { checked = copy_checked_slot(index, local); });
    if (!read)
        return make_error(EIO, "log entry " + std::to_string(index) +
                                   ": memory failure (SIGBUS) while reading it");
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
