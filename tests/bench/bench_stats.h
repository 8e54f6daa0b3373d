// Timing and summary helpers shared by the bench_* programs.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

namespace famfs::bench {

// Wall seconds that fn() took.
inline double seconds_of(const std::function<void()>& fn) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The middle sample (the upper one of an even count).
inline double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace famfs::bench
