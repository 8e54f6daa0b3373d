// The metadata log: an append-only array of 544-byte entries after a 48-byte
// header, in shared memory. Exactly one writer (the master, holding the
// host-local append lock); any number of readers on any host.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "famfs/device.h"
#include "famfs/omf.h"
#include "famfs/result.h"

namespace famfs {

struct Replay {
    // Valid entries in log order; entries[i] was found at index first + i.
    // Empty when a sink took the entries instead.
    std::vector<omf::LogEntry> entries;
    uint64_t first = 0;
    uint64_t valid_end = 0;  // the index after the last valid entry
    // The header's next_index when replay started.
    uint64_t next_index = 0;
    // Set when replay stopped early at an invalid entry (index + reason).
    std::optional<uint64_t> invalid_index;
    std::optional<Error> invalid_reason;
    uint64_t end() const { return valid_end; }
};

class LogView {
  public:
    LogView(Device& device, uint64_t log_offset, uint64_t log_len);

    uint64_t log_len() const { return log_len_; }
    uint64_t capacity() const { return omf::log_capacity(log_len_); }

    // The header, re-read from memory (its cache lines invalidated first).
    Result<omf::LogHeader> header() const;
    // Just next_index, re-read from memory: the cheap probe for followers.
    uint64_t next_index() const;

    // Replays entries [from, next_index) under the reader rules of
    // docs/format.md: seqnum == index, CRC, one invalidate-and-retry, stop at the
    // first invalid entry. Fails only when the header itself is invalid.
    Result<Replay> replay(uint64_t from = 0) const;
    // The same, handing each valid entry to `sink` in log order instead of
    // collecting it: a replay into a namespace builds no second copy of the
    // log. The sink may move from the entry (else its storage is reused for
    // the next one) and must not touch device memory.
    using EntrySink = std::function<void(omf::LogEntry& entry, uint64_t index)>;
    Result<Replay> replay(uint64_t from, const EntrySink& sink) const;

    // The valid entry at `index` (< next_index), read again from memory.
    Result<omf::LogEntry> entry(uint64_t index) const;

    // Appends one entry (its seqnum is assigned here). The caller holds the
    // append lock (see Volume). Fails with ENOSPC when the log is full;
    // a failure leaves next_index untouched, so no partial entry is visible.
    Status append(const omf::LogEntry& entry);

    // Waits until next_index differs from `known` or the timeout passes;
    // returns the current next_index.
    uint64_t wait_for_change(uint64_t known, std::chrono::microseconds timeout,
                             std::chrono::microseconds poll = std::chrono::microseconds(200)) const;

    std::span<uint8_t> slot(uint64_t index) const;
    std::span<uint8_t> header_bytes() const;

  private:
    bool copy_checked_slot(uint64_t i, uint8_t* local) const;
    static Error memory_failure(uint64_t index);
    Result<Replay> replay_to(uint64_t from, const EntrySink* sink) const;
    void replay_entries(Replay& r, const EntrySink* sink, omf::LogEntry& scratch) const;

    Device& device_;
    uint64_t log_offset_;
    uint64_t log_len_;
};

// Zeroes the log region and writes a fresh header (used by mkfs).
Status format_log(Device& device, uint64_t log_offset, uint64_t log_len);

}  // namespace famfs
