// The follower: a thread that watches the log's next_index (one 8-byte read
// after a cache invalidate per poll) and applies new entries as soon as the
// master logs them, so every host's mount shows them without a command.
#include "memory_guard.h"
#include "server.h"
#include "steady_clock.h"

namespace famfs::fused {

namespace {
// How long one wait may last before the thread re-checks stop_: this
// bounds how long an unmounted server takes to stop.
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
    // What the header said at the last look: a header that cannot be
    // replayed (garbage next_index) must not make the thread spin.
    uint64_t seen = known_next_index();
    while (!stop_.load(std::memory_order_relaxed)) {
        if (log_poisoned_.load(std::memory_order_acquire)) {
            // Poison in the log (add_poison): none of it is loaded again.
            std::this_thread::sleep_for(kWakeInterval);
            continue;
        }
        uint64_t now = seen;
        if (!guarded([&] {
                now = volume_->log().wait_for_change(seen, kWakeInterval, opt_.follow_poll);
            })) {
            mark_failed("the log header is unreadable");
            std::this_thread::sleep_for(kWakeInterval);
            continue;
        }
        // A stalled replay is retried every interval: the invalid entry may
        // be another host's append whose lines had not reached memory yet.
        if (now != seen || stalled()) {
            catch_up();
        } else {
            last_poll_ns_ = steady_ns();
        }
        seen = now;
    }
}

}  // namespace famfs::fused
