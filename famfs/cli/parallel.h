// Runs independent work items on a few threads (data copies and checks;
// metadata stays serialised by the append lock).
#pragma once

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace famfs::cli {

// CPUs this process may run on: taskset and cpusets narrow it.
inline size_t available_cpus() {
    cpu_set_t set;
    if (::sched_getaffinity(0, sizeof set, &set) == 0)
        return static_cast<size_t>(std::max(CPU_COUNT(&set), 1));
    return static_cast<size_t>(std::max(::sysconf(_SC_NPROCESSORS_ONLN), 1L));
}

// Calls fn(i) for every i in [0, n) on up to `threads` threads.
template <class Fn>
void run_parallel(size_t threads, size_t n, Fn&& fn) {
    threads = std::clamp<size_t>(threads, 1, std::max<size_t>(n, 1));
    if (threads == 1) {
        for (size_t i = 0; i < n; ++i) fn(i);
        return;
    }
    std::atomic<size_t> next{0};
    std::vector<std::thread> pool;
    for (size_t t = 0; t < threads; ++t) {
        pool.emplace_back([&] {
            for (size_t i = next++; i < n; i = next++) fn(i);
        });
    }
    for (auto& th : pool) th.join();
}

}  // namespace famfs::cli
