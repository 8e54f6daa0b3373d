// Set-up shared by the benchmarks that go through a famfs mount: a device
// file in /dev/shm formatted for the run, master mounts of it (the FUSE
// test hosts), and rounds that alternate the ways being compared.
#pragma once

#include <errno.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench_stats.h"
#include "famfs/omf.h"
#include "famfs/volume.h"
#include "fuse_hosts.h"

namespace famfs::bench {

// Set-up that fails leaves no figure worth printing.
[[noreturn]] inline void die(const std::string& what) {
    std::fprintf(stderr, "%s: %s\n", program_invocation_short_name, what.c_str());
    std::exit(2);
}

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

// A sparse device file in /dev/shm, formatted, with its volume open for
// creating files; removed with the object. `tag` names the program.
struct BenchDevice {
    std::string path;
    std::unique_ptr<Volume> vol;
    BenchDevice(const std::string& tag, uint64_t size)
        : path("/dev/shm/famfs-" + tag + "-" + std::to_string(getpid())) {
        MkfsOptions opt;
        opt.allow_small = true;
        opt.create_size = size;
        if (auto st = mkfs(path, opt); !st) die(st.error().message);
        auto v = Volume::open(path, Access::kReadWrite);
        if (!v) die(v.error().message);
        vol = std::move(v.value());
    }
    ~BenchDevice() {
        vol.reset();
        unlink(path.c_str());
    }
    BenchDevice(const BenchDevice&) = delete;
    BenchDevice& operator=(const BenchDevice&) = delete;

    omf::FileEntry create(const std::string& relpath, uint64_t size) {
        CreateSpec spec;
        spec.relpath = relpath;
        spec.size = size;
        spec.mode = 0666;
        auto c = vol->create_file(spec);
        if (!c) die(relpath + ": " + c.error().message);
        return c->file;
    }
    void mkdir(const std::string& relpath) {
        if (auto st = vol->mkdir(relpath, 0755, 0, 0, false); !st) die(st.error().message);
    }
};

inline std::unique_ptr<fusetest::Host> mount_master(const fusetest::Scratch& s,
                                                    const std::string& name, BenchDevice& d,
                                                    const std::vector<std::string>& flags = {}) {
    auto h = fusetest::Host::master(s, name);
    if (auto err = h->mount(d.path, flags); !err.empty()) die(err);
    return h;
}

}  // namespace famfs::bench
