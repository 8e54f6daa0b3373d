// famfs flush: writes CPU caches back to memory and invalidates them for
// whole files, so stores reach other hosts and later loads see theirs.
#include <getopt.h>

#include <cstdio>

#include "args.h"
#include "commands.h"
#include "data_io.h"
#include "report.h"
#include "target_resolver.h"

namespace famfs::cli {
namespace {

constexpr const char* kCmd = "flush";

void usage(FILE* out) {
    std::fprintf(out, "usage: famfs flush [-v] FILE...\n");
}

Status flush_file(const MappedFile& f) {
    Device& dev = f.vol->device();
    return f.map.for_each_piece(0, f.map.size(), [&](uint64_t off, uint8_t* p, uint64_t n) {
        return f.map.guarded(off, p, n, [&]() -> Status {
            FAMFS_TRY(dev.persist(p, n));
            dev.invalidate(p, n);
            return {};
        });
    });
}

}  // namespace

int cmd_flush(const GlobalOptions& g, int argc, char** argv) {
    bool verbose = false;
    if (auto stop = parse_flag_only(argc, argv, usage, 'v', verbose)) return *stop;
    if (optind == argc) return usage(stderr), kExitUsage;
    TargetResolver resolver(Access::kReadWrite);
    int failed = 0;
    for (int i = optind; i < argc; ++i) {
        auto t = resolve_target(g, argv[i]);
        auto f = t ? resolver.open_file(*t) : Result<MappedFile>(t.error());
        if (!f && f.error().code == kNotDeviceMemory) {
            // `flush $(find MNT -type f)` names the server's text files too.
            if (verbose)
                std::printf("famfs flush: %s: not device memory, nothing to flush\n", argv[i]);
            continue;
        }
        Status s = f ? flush_file(*f) : Status(f.error());
        if (!s) {
            report_error(kCmd, argv[i], s.error(), t ? t->relpath : "");
            ++failed;
        } else if (verbose) {
            std::printf("famfs flush: %s: %llu bytes written back and invalidated\n", argv[i],
                        static_cast<unsigned long long>(f->map.size()));
        }
    }
    return exit_status(failed);
}

}  // namespace famfs::cli
