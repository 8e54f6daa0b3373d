// Replay: the reader rules of docs/format.md over entries [from, next_index).
#include <cstring>

#include "famfs/log.h"
#include "famfs/memsafe.h"

namespace famfs {

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

Error LogView::memory_failure(uint64_t index) {
    return make_error(
        EIO, "log entry " + std::to_string(index) + ": memory failure (SIGBUS) while reading it");
}

// Device memory is only touched by copy_checked_slot, at the top of each
// iteration; `scratch`, the one entry parsed into again and again (its
// storage reused), lives in the caller's frame, so a SIGBUS there abandons
// nothing. Without a sink the entries are collected in `r`.
void LogView::replay_entries(Replay& r, const EntrySink* sink, omf::LogEntry& scratch) const {
    uint8_t local[omf::kEntryBytes];
    const std::span<const uint8_t> image(local, sizeof local);
    for (uint64_t i = r.valid_end; i < r.next_index; ++i) {
        if (!copy_checked_slot(i, local)) {
            r.invalid_index = i;
            r.invalid_reason = omf::check_entry(image, i).error();
            return;
        }
        if (auto s = omf::parse_entry_into(image, i, scratch); !s) {
            r.invalid_index = i;
            r.invalid_reason = s.error();
            return;
        }
        r.valid_end = i + 1;
        if (sink)
            (*sink)(scratch, i);
        else
            r.entries.push_back(std::move(scratch));
    }
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
    if (!sink) r.entries.reserve(r.next_index - from);
    auto part = device_.range(log_offset_ + omf::kLogHeaderBytes + from * omf::kEntryBytes,
                              (r.next_index - from) * omf::kEntryBytes);
    // Poisoned log memory makes the entry it hits invalid: replay stops
    // there and says why, as for any other invalid entry.
    omf::LogEntry scratch;
    Status s =
        memsafe::guarded(part.data(), part.size(), [&] { replay_entries(r, sink, scratch); });
    if (!s) {
        r.invalid_index = from + memsafe::last_fault().offset / omf::kEntryBytes;
        r.invalid_reason = memory_failure(*r.invalid_index);
    }
    return r;
}

}  // namespace famfs
