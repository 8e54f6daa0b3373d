// Set-up shared by the bench_* programs: how a failed step ends the run,
// and a device file in /dev/shm formatted for it.
#pragma once

#include <errno.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "famfs/omf.h"
#include "famfs/volume.h"

namespace famfs::bench {

// Set-up that fails leaves no figure worth printing.
[[noreturn]] inline void die(const std::string& what) {
    std::fprintf(stderr, "%s: %s\n", program_invocation_short_name, what.c_str());
    std::exit(2);
}

// A sparse device file in /dev/shm of `size` bytes, formatted, with its
// volume open for creating files; removed with the object. `tag` names the
// program.
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

}  // namespace famfs::bench
