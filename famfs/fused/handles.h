// Open file and directory handles. The kernel names a handle by the number
// it got from open/opendir; operations look it up here and hold a reference
// while they work, so a RELEASE processed on another thread while a request
// on the same handle is still being answered cannot free memory under it
// (seen with the multi-threaded session: a READ of .meta/.status replying
// from freed text after its RELEASE).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>

namespace famfs::fused {

// Its mutex is a leaf of the lock order (server.h): nothing else is taken
// while it is held.
template <class T>
class HandleTable {
  public:
    uint64_t add(std::shared_ptr<T> h) {
        std::lock_guard lk(mutex_);
        const uint64_t id = next_++;
        map_.emplace(id, std::move(h));
        return id;
    }
    // Null when the handle is unknown (already released).
    std::shared_ptr<T> get(uint64_t id) const {
        std::lock_guard lk(mutex_);
        auto it = map_.find(id);
        return it == map_.end() ? nullptr : it->second;
    }
    void remove(uint64_t id) {
        std::shared_ptr<T> last;  // freed after the lock is dropped
        std::lock_guard lk(mutex_);
        auto it = map_.find(id);
        if (it == map_.end()) return;
        last = std::move(it->second);
        map_.erase(it);
    }

    // Calls fn(const T&) on every handle, under the table's mutex (fn may
    // take no other lock).
    template <class Fn>
    void for_each(Fn&& fn) const {
        std::lock_guard lk(mutex_);
        for (const auto& [id, h] : map_) fn(*h);
    }

    size_t size() const {
        std::lock_guard lk(mutex_);
        return map_.size();
    }

  private:
    mutable std::mutex mutex_;
    std::unordered_map<uint64_t, std::shared_ptr<T>> map_;
    uint64_t next_ = 1;
};

}  // namespace famfs::fused
