// famfs chkread: compares what read() through the mount returns with the
// file's memory read directly. "Read and mmap match", or exit 1.
#include <fcntl.h>
#include <getopt.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "args.h"
#include "commands.h"
#include "data_io.h"
#include "devmem.h"
#include "report.h"
#include "volumes.h"

namespace famfs::cli {
namespace {

constexpr const char* kCmd = "chkread";

void usage(FILE* out) {
    std::fprintf(out,
                 "usage: famfs chkread [-s|-l] FILE\n"
                 "  -s  small (4 KiB) reads\n"
                 "  -l  one large read of the whole file\n"
                 "  default: 1 MiB reads\n");
}

// First offset where read() and memory differ (or a read error).
Result<std::optional<uint64_t>> compare(int fd, const std::string& name, const OpenFile& f,
                                        uint64_t step) {
    std::vector<uint8_t> buf(std::min<uint64_t>(step, std::max<uint64_t>(f.map.size(), 1)));
    std::optional<uint64_t> differs;
    uint64_t pos = 0;
    while (pos < f.map.size() && !differs) {
        const ssize_t n = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(pos));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_error(errno, std::string("read failed: ") + std::strerror(errno));
        if (n == 0) return make_error(EIO, name + ": read() ended at " + std::to_string(pos));
        Status s = f.map.for_each_piece(
            pos, static_cast<uint64_t>(n), [&](uint64_t off, uint8_t* p, uint64_t len) {
                return f.map.guarded(off, p, len, [&] {
                    f.vol->device().invalidate_data(p, len);
                    auto d = first_difference(p, buf.data() + (off - pos), len);
                    if (d && !differs) differs = off + *d;
                    return Status{};
                });
            });
        if (!s) return s.error();
        pos += static_cast<uint64_t>(n);
    }
    return differs;
}

}  // namespace

int cmd_chkread(const GlobalOptions& g, int argc, char** argv) {
    uint64_t step = 1 << 20;
    reset_getopt();
    for (int c; (c = getopt(argc, argv, "slh?")) != -1;) {
        if (c == 's' || c == 'l') {
            step = c == 's' ? 4096 : UINT64_MAX;
            continue;
        }
        usage(help_requested(c, argv) ? stdout : stderr);
        return help_requested(c, argv) ? 0 : kExitUsage;
    }
    if (argc - optind != 1) return usage(stderr), kExitUsage;
    const std::string arg = argv[optind];
    if (!g.device.empty()) {
        return report_error(kCmd, arg, "needs a path in a famfs mount (read() goes through it)"),
               kExitUsage;
    }
    auto t = resolve_target(g, arg);
    Volumes volumes(Access::kReadOnly);
    auto f = t ? volumes.open_file(*t) : Result<OpenFile>(t.error());
    if (!f) return report_error(kCmd, arg, f.error(), t ? t->relpath : ""), 1;
    const int fd = ::open(arg.c_str(), O_RDONLY);
    if (fd < 0) return report_error(kCmd, arg, std::strerror(errno)), 1;
    auto differs = compare(fd, arg, *f, step);
    ::close(fd);
    if (!differs) return report_error(kCmd, arg, differs.error()), 1;
    if (*differs) {
        report_error(kCmd, arg, "read and mmap differ at offset " + std::to_string(**differs));
        return 1;
    }
    std::printf("Read and mmap match\n");
    return 0;
}

}  // namespace famfs::cli
