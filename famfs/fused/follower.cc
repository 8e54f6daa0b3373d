// The follower: a thread that watches the log's next_index (one 8-byte read
// after a cache invalidate per poll) and applies new entries as soon as the
// master logs them, so every host's mount shows them without a command.
#include "server.h"

namespace famfs::fused {

namespace {
// How long one wait may last before the thread re-checks stop_.
constexpr std::chrono::milliseconds kWakeInterval{100};
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
    while (!stop_.load(std::memory_order_relaxed)) {
        const uint64_t known = known_next_index();
        const uint64_t now = volume_->log().wait_for_change(known, kWakeInterval, opt_.follow_poll);
        // A stalled replay is retried every interval: the invalid entry may
        // be another host's append whose lines had not reached memory yet.
        if (now != known || stalled()) {
            catch_up();
        } else {
            last_poll_ns_ = steady_ns();
        }
    }
}

}  // namespace famfs::fused
