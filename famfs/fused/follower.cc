// The follower: a thread that watches the device (the log's next_index, and
// the superblock and log header that say whether the device still holds the
// mounted file system: stale_device.h) once per poll, and applies new
// entries as soon as the master logs them, so every host's mount shows them
// without a command. One poll reads five cache lines (invalidated first,
// except on host-local memory) and compares 232 bytes.
#include <algorithm>

#include "famfs/omf.h"
#include "memory_guard.h"
#include "server.h"
#include "steady_clock.h"

namespace famfs::fused {

namespace {
// How long the thread sleeps when it has nothing to poll (a failed or
// stale device), and how often a stalled replay is retried. It also bounds
// how long an unmounted server takes to stop.
constexpr std::chrono::milliseconds kWakeInterval{10};
}  // namespace

void Server::start_following() {
    stop_ = false;
    follower_ = std::thread([this] { follow_loop(); });
}

void Server::stop_following() {
    stop_ = true;
    if (follower_.joinable()) follower_.join();
}

void Server::follow_loop() {
    // The next_index of the last look (a change makes a catch-up), and the
    // highest one this thread has read from a valid header (the first from
    // the replay before it started): a lower one means the log was re-made.
    uint64_t seen = known_next_index();
    uint64_t floor = seen;
    const uint64_t log_len = volume_->superblock().log_len;
    int64_t last_retry_ns = steady_ns();
    const auto poll = std::min<std::chrono::microseconds>(opt_.follow_poll, kWakeInterval);
    while (!stop_.load(std::memory_order_relaxed)) {
        forget_deleted_names();
        if (stale()) {
            // Found here or by a request: nothing is applied any more, and
            // the kernel drops what it caches of the old files.
            invalidate_kernel_caches();
            std::this_thread::sleep_for(kWakeInterval);
            continue;
        }
        if (log_poisoned_.load(std::memory_order_acquire)) {
            // Poison in the log (add_poison): none of it is loaded again.
            std::this_thread::sleep_for(kWakeInterval);
            continue;
        }
        uint8_t sb_now[omf::kSuperblockBytes], header_now[omf::kLogHeaderBytes];
        if (!read_live_identity(sb_now, header_now)) {
            if (!failed()) mark_failed("the log header is unreadable");
            std::this_thread::sleep_for(kWakeInterval);
            continue;
        }
        if (auto changed = compare_identity(mounted_, sb_now, header_now, floor)) {
            // Failed memory reads as anything (all ones, then zeros once a
            // CXL decoder resets): that proves no re-format, and nothing is
            // applied from it; a failed host otherwise follows on.
            if (failed()) {
                std::this_thread::sleep_for(kWakeInterval);
                continue;
            }
            note_stale(std::move(*changed), "the follower");
            continue;
        }
        const uint64_t now = header_next_index(header_now);
        if (omf::validate_log_header(header_now, log_len)) floor = std::max(floor, now);
        // A stalled replay is retried every wake interval: the invalid
        // entry may be another host's append whose lines had not reached
        // memory yet.
        bool retry = false;
        if (now == seen && stalled() &&
            steady_ns() - last_retry_ns >= std::chrono::nanoseconds(kWakeInterval).count()) {
            retry = true;
            last_retry_ns = steady_ns();
        }
        if (now != seen || retry) {
            apply_new_entries();
            seen = now;
            continue;  // look again at once: the master may be appending a batch
        }
        last_poll_ns_ = steady_ns();
        std::this_thread::sleep_for(poll);
    }
}

}  // namespace famfs::fused
