// Set-up shared by the benchmarks that go through a famfs mount: master
// mounts of a BenchDevice (the FUSE test hosts), and rounds that alternate
// the ways being compared.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench_device.h"
#include "bench_stats.h"
#include "fuse_hosts.h"

namespace famfs::bench {

// Runs the ways in turn, round after round, and returns each one's median
// time in seconds: the machine's speed drifts within a run, and a drift
// should hit a figure and its baseline alike.
inline std::vector<double> alternate(const std::vector<std::function<void()>>& ways,
                                     int rounds = 5) {
    std::vector<std::vector<double>> t(ways.size());
    for (int r = 0; r < rounds; ++r)
        for (size_t w = 0; w < ways.size(); ++w) t[w].push_back(seconds_of(ways[w]));
    std::vector<double> medians;
    for (auto& v : t) medians.push_back(median(v));
    return medians;
}

inline std::unique_ptr<fusetest::Host> mount_master(const fusetest::Scratch& s,
                                                    const std::string& name, BenchDevice& d,
                                                    const std::vector<std::string>& flags = {}) {
    auto h = fusetest::Host::master(s, name);
    if (auto err = h->mount(d.path, flags); !err.empty()) die(err);
    return h;
}

}  // namespace famfs::bench
