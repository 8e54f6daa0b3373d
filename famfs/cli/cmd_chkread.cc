// famfs chkread: compares what read() through the mount returns with the
// file's memory read directly. "Read and mmap match", or exit 1. As in the
// reference tool, -s and -l say the file is the superblock or the log
// (.meta/.superblock, .meta/.log) and print its header both ways first.
#include <fcntl.h>
#include <getopt.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <span>
#include <vector>

#include "args.h"
#include "commands.h"
#include "data_io.h"
#include "devmem.h"
#include "report.h"
#include "target_resolver.h"

namespace famfs::cli {
namespace {

constexpr const char* kCmd = "chkread";

void usage(FILE* out) {
    std::fprintf(out,
                 "usage: famfs chkread [-s|-l] FILE\n"
                 "  -s  FILE is the superblock (.meta/.superblock): print it\n"
                 "  -l  FILE is the log (.meta/.log): print its header\n");
}

enum class Header { kNone, kSuperblock, kLog };

void print_header(Header h, const char* how, std::span<const uint8_t> bytes) {
    if (h == Header::kSuperblock && bytes.size() >= omf::kSuperblockBytes) {
        const omf::Superblock sb = omf::decode_superblock(bytes);
        std::printf(
            "superblock by %s: magic %#llx version %llu log_offset %#llx log_len %llu "
            "dev_size %llu crc %#llx\n",
            how, static_cast<unsigned long long>(sb.magic),
            static_cast<unsigned long long>(sb.version),
            static_cast<unsigned long long>(sb.log_offset),
            static_cast<unsigned long long>(sb.log_len),
            static_cast<unsigned long long>(sb.dev_size), static_cast<unsigned long long>(sb.crc));
    } else if (h == Header::kLog && bytes.size() >= omf::kLogHeaderBytes) {
        const omf::LogHeader lh = omf::decode_log_header(bytes);
        std::printf("log by %s: magic %#llx log_len %llu last_index %llu next_index %llu\n", how,
                    static_cast<unsigned long long>(lh.magic),
                    static_cast<unsigned long long>(lh.log_len),
                    static_cast<unsigned long long>(lh.last_index),
                    static_cast<unsigned long long>(lh.next_index));
    }
}

// The header through read() and through the memory (-s, -l).
Status print_headers(int fd, Header h, const MappedFile& f) {
    if (h == Header::kNone) return {};
    std::vector<uint8_t> by_read(std::min<uint64_t>(4096, f.map.size()));
    const ssize_t n = ::pread(fd, by_read.data(), by_read.size(), 0);
    if (n < 0) return make_error(errno, std::string("read failed: ") + std::strerror(errno));
    by_read.resize(static_cast<size_t>(n));
    std::vector<uint8_t> by_memory(by_read.size());
    FAMFS_TRY(f.map.read_checked(0, by_memory));
    print_header(h, "mmap", by_memory);
    print_header(h, "read", by_read);
    return {};
}

}  // namespace

int cmd_chkread(const GlobalOptions& g, int argc, char** argv) {
    Header header = Header::kNone;
    reset_getopt();
    for (int c; (c = getopt(argc, argv, "slh?")) != -1;) {
        if (c == 's' || c == 'l') {
            header = c == 's' ? Header::kSuperblock : Header::kLog;
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
    TargetResolver resolver(Access::kReadOnly);
    auto f = t ? resolver.open_file(*t) : Result<MappedFile>(t.error());
    if (!f) return report_error(kCmd, arg, f.error(), t ? t->relpath : ""), 1;
    const int fd = ::open(arg.c_str(), O_RDONLY);
    if (fd < 0) return report_error(kCmd, arg, std::strerror(errno)), 1;
    Status shown = print_headers(fd, header, *f);
    auto differs = shown ? first_difference_from_file(f->vol->device(), fd, arg, f->map)
                         : Result<std::optional<uint64_t>>(shown.error());
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
