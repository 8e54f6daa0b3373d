// famfs cp: copies files (and with -r trees) into famfs. The log is
// replayed once per call. Within one transaction (the append lock held
// throughout), every file is reserved, its data copied straight into device
// memory by a few threads (big files in several pieces at once), and only
// then logged: no host ever sees a file whose data is incomplete.
#include <fcntl.h>
#include <getopt.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "args.h"
#include "commands.h"
#include "copy_progress.h"
#include "copy_summary.h"
#include "cp_plan.h"
#include "data_io.h"
#include "famfs/dax.h"
#include "famfs/omf.h"
#include "famfs/volume.h"
#include "lifetime.h"
#include "parallel.h"
#include "report.h"
#include "target.h"

namespace famfs::cli {
namespace {

constexpr const char* kCmd = "cp";
// Big files are copied in pieces of at least this size.
constexpr uint64_t kMinPiece = 64ull << 20;
// Up to this many pieces per thread, so that a thread the scheduler holds
// back on a busy host leaves the others work instead of a wait at the end.
constexpr uint64_t kPiecesPerThread = 4;
// Without -t, copies of at least this many bytes use several threads: a
// copy is CPU-bound, as besides moving the bytes every 4 KiB page costs
// page-cache and page-table work: on 2 CPUs, 1 GiB takes ~40 % less time.
// Smaller copies take milliseconds, and on one thread their files are
// logged in command-line order.
constexpr uint64_t kParallelBytes = 64ull << 20;
// A few threads already saturate a memory link; more would only contend.
constexpr size_t kMaxDefaultThreads = 4;

void usage(FILE* out) {
    std::fprintf(out,
                 "usage: famfs cp [-r] [-t THREADS] [-m MODE] [-u UID] [-g GID] [-v] [-c] [-O]\n"
                 "                [-N NSTRIPS -B NBUCKETS -C CHUNK] SRC... DEST\n"
                 "Copies regular files (with -r, directory trees) into famfs. DEST must not\n"
                 "exist unless it already has the source's size (an interrupted copy).\n"
                 "Without -t, copies of 64 MiB or more use a thread per CPU (at most 4).\n"
                 "Ends with a one-line summary; on a terminal, long copies show progress.\n"
                 "  -m, --mode       permission bits in octal, masked with the umask\n"
                 "                   (default, or 0: the source's)\n"
                 "  -t, --threadct   copy threads\n"
                 "  -v, --verbose    a line per file and directory\n"
                 "  -c, --compare    compare each copy with its source; an existing DEST of\n"
                 "                   the right size is compared, not copied again\n"
                 "  -O, --readonly   log the copies read-only for all hosts (flags 1): no user,\n"
                 "                   root included, writes them once copied\n"
                 "  -N -B -C         interleave: strips, buckets, chunk size (default 2m)\n");
}

struct Options {
    bool recursive = false, verbose = false;
    // -c: compare every copy with its source; a destination that already
    // has the source's size is compared, not copied again.
    bool compare = false;
    std::optional<size_t> threads;  // -t; else chosen from the copy's size
    std::optional<uint32_t> mode;   // -m, masked with the umask; else the source's
    std::optional<uint32_t> uid, gid;
    uint32_t flags = omf::kFileFlagsAllRW;  // -O: omf::kFileFlagsAllRO
    InterleaveParams interleave;
    std::vector<std::string> sources;
    std::string dest;
};

std::optional<int> parse(int argc, char** argv, Options& o) {
    static const option longopts[] = {{"recursive", no_argument, nullptr, 'r'},
                                      {"threadct", required_argument, nullptr, 't'},
                                      {"threads", required_argument, nullptr, 't'},
                                      {"mode", required_argument, nullptr, 'm'},
                                      {"uid", required_argument, nullptr, 'u'},
                                      {"gid", required_argument, nullptr, 'g'},
                                      {"verbose", no_argument, nullptr, 'v'},
                                      {"compare", no_argument, nullptr, 'c'},
                                      {"readonly", no_argument, nullptr, 'O'},
                                      {"nstrips", required_argument, nullptr, 'N'},
                                      {"nbuckets", required_argument, nullptr, 'B'},
                                      {"chunksize", required_argument, nullptr, 'C'},
                                      {"help", no_argument, nullptr, 'h'},
                                      {nullptr, 0, nullptr, 0}};
    reset_getopt();
    for (int c; (c = getopt_long(argc, argv, "rt:m:u:g:vcON:B:C:h?", longopts, nullptr)) != -1;) {
        const std::string arg = optarg ? optarg : "";
        Status s;
        const auto take = [&s](auto r, auto& into) {
            if (r)
                into = *r;
            else
                s = r.error();
        };
        if (auto st = parse_interleave_option(c, arg.c_str(), o.interleave)) {
            if (!*st) return report_problem(kCmd, st->error().message), kExitUsage;
            continue;
        }
        switch (c) {
            case 'r':
                o.recursive = true;
                break;
            case 'v':
                o.verbose = true;
                break;
            case 'c':
                o.compare = true;
                break;
            case 'O':
                o.flags = omf::kFileFlagsAllRO;
                break;
            case 't':
                take(parse_thread_count(arg), o.threads);
                break;
            case 'm':
                take(parse_mode(arg), o.mode);
                break;
            case 'u':
                take(parse_id(arg, "uid"), o.uid);
                break;
            case 'g':
                take(parse_id(arg, "gid"), o.gid);
                break;
            default:
                usage(help_requested(c, argv) ? stdout : stderr);
                return help_requested(c, argv) ? 0 : kExitUsage;
        }
        if (!s) return report_problem(kCmd, s.error().message), kExitUsage;
    }
    if (argc - optind < 2) return usage(stderr), kExitUsage;
    // As in the reference tool: the mode is masked with the umask, and mode
    // 0 means "as the source".
    if (o.mode) *o.mode &= ~current_umask();
    if (o.mode == 0u) o.mode.reset();
    default_interleave_chunk(o.interleave);
    o.sources.assign(argv + optind, argv + argc - 1);
    o.dest = argv[argc - 1];
    return std::nullopt;
}

// A file reserved in the transaction; logged once its data is copied.
struct Reserved {
    const CopyItem* item;
    omf::FileEntry file;
    bool created;         // false: an existing file of the right size, rewritten in place
    bool broken = false;  // its copy failed (reported)
};

// Reserves every item in order (directories are logged at once). Running
// out of space or log entries stops reserving: the files reserved so far
// are still copied and logged, as the reference famfs cp keeps the files it
// copied before it ran out. Other failures skip just that item.
int reserve_items(Volume::Transaction& txn, const Options& o, const CopyPlan& plan,
                  std::vector<Reserved>& out, CopySummary& sum) {
    int failed = 0;
    const uint32_t uid = o.uid.value_or(static_cast<uint32_t>(::geteuid()));
    const uint32_t gid = o.gid.value_or(static_cast<uint32_t>(::getegid()));
    for (const CopyItem& it : plan.items) {
        const uint32_t mode = o.mode.value_or(it.mode);
        Status s;
        if (it.is_dir) {
            s = txn.mkdir(it.dest.relpath, mode, uid, gid);
            if (s) ++sum.dirs;
            if (s && o.verbose)
                std::printf("famfs cp: %s -> %s (directory)\n", it.src.c_str(),
                            it.dest.arg.c_str());
        } else {
            auto r = txn.reserve({it.dest.relpath, it.size, mode, uid, gid, o.interleave, o.flags});
            // An existing file is rewritten in place (compared only, with -c):
            // not one logged read-only.
            if (r && !r->created && !o.compare) s = dax::check_writable(r->file);
            if (!r)
                s = r.error();
            else if (s)
                out.push_back(Reserved{&it, std::move(r->file), r->created});
        }
        if (s) continue;
        report_error(kCmd, it.dest.arg, s.error(), it.dest.relpath);
        ++failed;
        if (s.error().code == ENOSPC) {
            report_problem(kCmd, "copy aborted: famfs ran out of space or log entries after " +
                                     std::to_string(out.size()) + " files");
            return failed;
        }
    }
    return failed;
}

struct Piece {
    size_t file;  // index into the reserved files
    uint64_t off, len;
};

size_t copy_threads(const Options& o, const std::vector<Reserved>& files) {
    if (o.threads) return std::max<size_t>(*o.threads, 1);
    uint64_t bytes = 0;
    for (const Reserved& f : files) bytes += f.file.size;
    return bytes >= kParallelBytes ? std::min(available_cpus(), kMaxDefaultThreads) : 1;
}

// Whether the file's bytes are copied (with -c an existing file of the
// right size is only compared).
bool copied(const Options& o, const Reserved& f) {
    return f.created || !o.compare;
}

std::vector<Piece> split(const Options& o, const std::vector<Reserved>& files, size_t threads) {
    std::vector<Piece> pieces;
    const uint64_t max_pieces = threads > 1 ? threads * kPiecesPerThread : 1;
    for (size_t i = 0; i < files.size(); ++i) {
        if (!copied(o, files[i])) continue;
        const uint64_t size = files[i].file.size;
        const uint64_t n = std::clamp<uint64_t>(size / kMinPiece, 1, max_pieces);
        // Pieces start on allocation-unit boundaries so no two share a cache line.
        const uint64_t step = (size / n + omf::kAllocUnit - 1) / omf::kAllocUnit * omf::kAllocUnit;
        for (uint64_t off = 0; off < size; off += step) {
            pieces.push_back(Piece{i, off, std::min(step, size - off)});
        }
    }
    return pieces;
}

Status copy_piece(Device& dev, const std::shared_ptr<Device>& shared, const Reserved& f,
                  const Piece& p, CopyProgress& progress) {
    const std::string& src = f.item->src;
    auto map = dax::FileMapping::from_entry(shared, f.file);
    if (!map) return map.error();
    const int fd = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return make_error(errno, std::string("cannot open: ") + std::strerror(errno));
    Status s = copy_in(dev, fd, src, *map, p.off, p.len,
                       [&progress](uint64_t n) { progress.add_bytes(n); });
    ::close(fd);
    return s;
}

// The progress display's totals: the files whose bytes are copied.
std::unique_ptr<CopyProgress> progress_for(const Options& o, const std::vector<Reserved>& files) {
    uint64_t bytes = 0, count = 0;
    for (const Reserved& f : files) {
        if (!copied(o, f)) continue;
        bytes += f.file.size;
        ++count;
    }
    return std::make_unique<CopyProgress>(bytes, count);
}

// Copies every file's data in parallel pieces; the thread that finishes a
// file's last piece logs it (if it is new), so each file appears on other
// hosts only once its bytes are all in place. Marks the files that failed.
int copy_pieces(Volume& vol, Volume::Transaction& txn, const Options& o,
                std::vector<Reserved>& files, CopyProgress& progress) {
    const size_t threads = copy_threads(o, files);
    const std::vector<Piece> pieces = split(o, files, threads);
    std::vector<std::atomic<size_t>> left(files.size());
    std::vector<std::atomic<bool>> broken(files.size());
    for (const Piece& p : pieces) ++left[p.file];
    std::atomic<int> failed{0};
    const std::shared_ptr<Device> shared = vol.shared_device();
    run_parallel(threads, pieces.size(), [&](size_t i) {
        const Piece& p = pieces[i];
        const Reserved& f = files[p.file];
        if (Status s = copy_piece(vol.device(), shared, f, p, progress); !s) {
            report_error(kCmd, f.item->src, s.error(), f.item->src);
            broken[p.file] = true;
            ++failed;
        }
        if (--left[p.file] != 0) return;
        progress.file_done();
        if (broken[p.file] || !f.created) return;
        if (Status s = txn.commit(f.file); !s) {
            report_error(kCmd, f.item->dest.arg, s.error(), f.item->dest.relpath);
            broken[p.file] = true;
            ++failed;
        }
    });
    for (size_t i = 0; i < files.size(); ++i) files[i].broken = broken[i];
    return failed;
}

int copy_data(Volume& vol, Volume::Transaction& txn, const Options& o,
              std::vector<Reserved>& files) {
    auto progress = progress_for(o, files);
    const int failed = copy_pieces(vol, txn, o, files, *progress);
    progress.reset();  // its line is erased before the per-file lines
    if (o.verbose) {
        for (const Reserved& f : files) {
            if (copied(o, f) && !f.broken)
                std::printf("famfs cp: %s -> %s\n", f.item->src.c_str(), f.item->dest.arg.c_str());
        }
    }
    return failed;
}

void count_files(const Options& o, const std::vector<Reserved>& files, CopySummary& sum) {
    for (const Reserved& f : files) {
        if (f.broken) continue;
        if (!copied(o, f)) {
            ++sum.compared;
            continue;
        }
        ++sum.files;
        sum.bytes += f.file.size;
    }
}

// The room left once the copy is logged, read back from the log.
void count_free(const Volume& vol, CopySummary& sum) {
    auto st = vol.load();
    if (!st) return;  // the summary then says 0 free; the copy itself is done
    sum.free_bytes = st->alloc.free_bytes();
    const uint64_t capacity = omf::log_capacity(vol.superblock().log_len);
    sum.free_entries = capacity > st->next_index ? capacity - st->next_index : 0;
}

// cp -c: each destination against its source, as it is in memory now.
int compare_data(Volume& vol, const Options& o, const std::vector<Reserved>& files) {
    std::atomic<int> failed{0};
    run_parallel(copy_threads(o, files), files.size(), [&](size_t i) {
        const Reserved& f = files[i];
        if (f.broken) return;
        auto map = dax::FileMapping::from_entry(vol.shared_device(), f.file);
        const int fd = ::open(f.item->src.c_str(), O_RDONLY | O_CLOEXEC);
        Result<std::optional<uint64_t>> d =
            !map     ? Result<std::optional<uint64_t>>(map.error())
            : fd < 0 ? Result<std::optional<uint64_t>>(make_error(errno, std::strerror(errno)))
                     : first_difference_from_file(vol.device(), fd, f.item->src, *map);
        if (fd >= 0) ::close(fd);
        if (!d) {
            report_error(kCmd, f.item->src, d.error(), f.item->src);
        } else if (*d) {
            report_error(kCmd, f.item->dest.arg,
                         "differs from " + f.item->src + " at offset " + std::to_string(**d));
        } else {
            if (o.verbose)
                std::printf("famfs cp: %s matches %s\n", f.item->dest.arg.c_str(),
                            f.item->src.c_str());
            return;
        }
        ++failed;
    });
    return failed;
}

}  // namespace

int cmd_cp(const GlobalOptions& g, int argc, char** argv) {
    Options o;
    if (auto stop = parse(argc, argv, o)) return *stop;
    auto dest = resolve_target(g, o.dest);
    if (!dest) return report_error(kCmd, o.dest, dest.error()), 1;
    auto opened = Volume::open(dest->device, g.dryrun ? Access::kReadOnly : Access::kReadWrite);
    if (!opened) return report_error(kCmd, o.dest, opened.error()), 1;
    Volume* vol = keep_until_exit(std::move(*opened));
    if (auto s = vol->require_master(); !s) {
        return report_error(kCmd, o.dest, master_only_reason(s.error())), 1;
    }
    // The plan reads one replay; the Volume keeps its own writer state from
    // then on, catching up incrementally under the append lock.
    auto loaded = vol->load();
    if (!loaded) return report_error(kCmd, o.dest, loaded.error()), 1;
    const State* state = keep_until_exit(std::make_unique<State>(std::move(*loaded)));
    auto plan = plan_copy(expand_sources(o.sources), *dest, state->ns, o.recursive);
    if (!plan) return report_error(kCmd, o.dest, plan.error(), dest->relpath), 1;
    if (g.dryrun) {
        for (const CopyItem& it : plan->items) {
            std::printf("famfs cp: %s -> %s (dry run)\n", it.src.c_str(), it.dest.arg.c_str());
        }
        return exit_status(plan->skipped);
    }
    // Data first, log entry second: a master that dies mid-copy leaves no
    // file with partial contents visible anywhere.
    auto txn = vol->begin_transaction();
    if (!txn) return report_error(kCmd, o.dest, txn.error(), dest->relpath), 1;
    std::vector<Reserved> files;
    CopySummary sum;
    sum.skipped = plan->skipped_kinds;
    int failed = reserve_items(**txn, o, *plan, files, sum);
    failed += copy_data(*vol, **txn, o, files);
    if (o.compare) failed += compare_data(*vol, o, files);
    txn->reset();  // ends the transaction: frees what was never logged, drops the lock
    reveal_in_mount(*dest);
    count_files(o, files, sum);
    sum.failed = static_cast<uint64_t>(failed);
    count_free(*vol, sum);
    std::fputs(format_copy_summary(sum).c_str(), stdout);
    // Like the reference's cp, every source not copied (skipped or failed)
    // makes the status non-zero.
    return exit_status(plan->skipped + failed);
}

}  // namespace famfs::cli
