// famfs creat: allocates and logs files, optionally filled with the test
// pattern. A new file that is filled (-r, or -M with a seed) is reserved,
// filled and only then logged, as famfs cp does: a creat that dies mid-fill
// leaves nothing visible and its space free. An existing file of the same
// size is re-filled in place (it stays visible meanwhile, partly
// re-filled if the creat dies). Exit status: the number of files that
// failed.
#include <getopt.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "args.h"
#include "commands.h"
#include "data_io.h"
#include "famfs/dax.h"
#include "famfs/escape.h"
#include "famfs/omf.h"
#include "famfs/volume.h"
#include "lifetime.h"
#include "parallel.h"
#include "report.h"
#include "target.h"

namespace famfs::cli {
namespace {

constexpr const char* kCmd = "creat";

void usage(FILE* out) {
    std::fprintf(out,
                 "usage: famfs creat -s SIZE [-m MODE] [-u UID] [-g GID] [-r [-S SEED]] [-O]\n"
                 "                   [-t THREADS] [-N NSTRIPS -B NBUCKETS -C CHUNK] [-v] FILE\n"
                 "       famfs creat -M NAME,SIZE[,SEED] [-M ...] [options]\n"
                 "Allocates and logs famfs files (master only). SIZE takes k/m/g suffixes.\n"
                 "  -s, --size       the file's size; with -r, an existing file may omit it\n"
                 "  -r, --randomize  fill with the test pattern of SEED (-S, --seed); a new\n"
                 "                   file is logged once filled, an existing one is\n"
                 "                   re-filled in place\n"
                 "  -M, --multi      one more file: NAME,SIZE and optionally a pattern SEED\n"
                 "                   (SIZE 0: an existing file at its size; not with -S)\n"
                 "  -O, --readonly   log the files read-only for all hosts (flags 1): no user,\n"
                 "                   root included, writes them after this command fills them\n"
                 "  -t, --threadct   threads filling files with the pattern\n"
                 "  -N -B -C         interleave: strips, buckets, chunk size (default 2m)\n");
}

struct Options {
    std::vector<FileSpecArg> files;
    uint32_t mode = 0644;
    uint32_t uid = static_cast<uint32_t>(::geteuid());
    uint32_t gid = static_cast<uint32_t>(::getegid());
    uint32_t flags = omf::kFileFlagsAllRW;  // -O: omf::kFileFlagsAllRO
    size_t threads = 1;
    InterleaveParams interleave;
    bool verbose = false;
    bool single = false;  // files[0] is the FILE argument (not a -M file)
    // files[0] (the FILE argument) is filled with a seed chosen here, which
    // is printed once the file is there.
    bool random_seed = false;
};

// The command line as given, before the single FILE joins the -M list.
struct Given {
    std::optional<uint64_t> size, seed;
    bool randomize = false;
};

// Parses the options; returns an exit status when the command should stop.
std::optional<int> parse_options(int argc, char** argv, Options& o, Given& given) {
    static const option longopts[] = {{"size", required_argument, nullptr, 's'},
                                      {"mode", required_argument, nullptr, 'm'},
                                      {"uid", required_argument, nullptr, 'u'},
                                      {"gid", required_argument, nullptr, 'g'},
                                      {"randomize", no_argument, nullptr, 'r'},
                                      {"seed", required_argument, nullptr, 'S'},
                                      {"multi", required_argument, nullptr, 'M'},
                                      {"threadct", required_argument, nullptr, 't'},
                                      {"threads", required_argument, nullptr, 't'},
                                      {"nstrips", required_argument, nullptr, 'N'},
                                      {"nbuckets", required_argument, nullptr, 'B'},
                                      {"chunksize", required_argument, nullptr, 'C'},
                                      {"verbose", no_argument, nullptr, 'v'},
                                      {"readonly", no_argument, nullptr, 'O'},
                                      {"help", no_argument, nullptr, 'h'},
                                      {nullptr, 0, nullptr, 0}};
    reset_getopt();
    for (int c;
         (c = getopt_long(argc, argv, "s:m:u:g:rS:M:t:N:B:C:vOh?", longopts, nullptr)) != -1;) {
        const std::string arg = optarg ? optarg : "";
        Status s;
        const auto take = [&s](auto r, auto& into) {
            if (r)
                into = *r;
            else
                s = r.error();
        };
        FileSpecArg spec;
        if (auto st = parse_interleave_option(c, arg.c_str(), o.interleave)) {
            if (!*st) return report_problem(kCmd, st->error().message), kExitUsage;
            continue;
        }
        switch (c) {
            case 's':
                take(parse_size_arg(arg, "size"), given.size);
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
            case 'r':
                given.randomize = true;
                break;
            case 'S':
                take(parse_number(arg, "seed"), given.seed);
                break;
            case 'M':
                take(parse_file_spec(arg), spec);
                if (s) o.files.push_back(spec);
                break;
            case 't':
                take(parse_thread_count(arg), o.threads);
                break;
            case 'v':
                o.verbose = true;
                break;
            case 'O':
                o.flags = omf::kFileFlagsAllRO;
                break;
            default:
                usage(help_requested(c, argv) ? stdout : stderr);
                return help_requested(c, argv) ? 0 : kExitUsage;
        }
        if (!s) return report_problem(kCmd, s.error().message), kExitUsage;
    }
    return std::nullopt;
}

// The seed FILE is filled with: -S, or with -r alone a random one, which
// is printed (once the file exists) so the file can be verified later.
uint64_t seed_for(const Given& given, Options& o) {
    if (!given.randomize) return 0;
    if (given.seed) return *given.seed;
    o.random_seed = true;
    return std::random_device{}() | 1u;
}

// Parses argv; returns an exit status when the command should stop here.
std::optional<int> parse(int argc, char** argv, Options& o) {
    Given given;
    if (auto stop = parse_options(argc, argv, o, given)) return stop;
    const auto bad = [](const std::string& why) {
        report_problem(kCmd, why);
        return std::optional<int>(kExitUsage);
    };
    if (given.seed && !o.files.empty()) {
        return bad("-S SEED does not apply to -M files; give each its seed as -M NAME,SIZE,SEED");
    }
    if (given.seed && !given.randomize) return bad("-S SEED needs -r");
    if (argc - optind > 1)
        return bad(std::string("unexpected argument '") + argv[optind + 1] + "'");
    if (optind == argc && o.files.empty()) return usage(stderr), kExitUsage;
    if (optind < argc) {
        const std::string file = argv[optind];
        // Re-randomising an existing file may leave its size out (size 0:
        // the file's own size, checked once the device is open).
        const uint64_t size = given.size.value_or(0);
        if (size == 0 && !given.randomize) return bad(file + ": -s SIZE (> 0) is required");
        o.files.insert(o.files.begin(), FileSpecArg{file, size, seed_for(given, o)});
        o.single = true;
    }
    default_interleave_chunk(o.interleave);
    o.mode &= ~current_umask();
    if (o.threads == 0) o.threads = 1;
    return std::nullopt;
}

// One file of the command, resolved and (unless a dry run) reserved.
struct Job {
    Target target;
    Volume* vol = nullptr;
    Volume::Transaction* txn = nullptr;  // null: create_file() logged it already
    omf::FileEntry file;
    bool created = false;  // false: it existed with this size
    uint64_t seed = 0;     // 0: no fill
    bool single = false;   // the FILE argument (not a -M file)
};

// One Volume per device named: its writer state is replayed once and then
// kept up to date, however many files are created. When any file is
// filled, each device gets one transaction (the append lock held until the
// command ends), so a file is reserved, filled and only then logged: a
// creat killed mid-fill leaves nothing visible, and its space free.
class Writers {
  public:
    explicit Writers(bool transactions) : transactions_(transactions) {}

    Result<Volume*> get(const std::string& device) {
        Volume*& v = open_[device];
        if (v == nullptr) {
            auto opened = Volume::open(device, Access::kReadWrite);
            if (!opened) {
                open_.erase(device);
                return opened.error();
            }
            v = keep_until_exit(std::move(*opened));
        }
        FAMFS_TRY(v->require_master());
        return v;
    }
    // The device's transaction (null without transactions).
    Result<Volume::Transaction*> transaction(const std::string& device, Volume& vol) {
        if (!transactions_) return nullptr;
        std::unique_ptr<Volume::Transaction>& t = txns_[device];
        if (t == nullptr) {
            auto begun = vol.begin_transaction();
            if (!begun) {
                txns_.erase(device);
                return begun.error();
            }
            t = std::move(*begun);
        }
        return t.get();
    }
    // Ends every transaction: space reserved and never logged is free again
    // and the append locks are dropped.
    void finish() { txns_.clear(); }

  private:
    bool transactions_;
    std::map<std::string, Volume*> open_;
    std::map<std::string, std::unique_ptr<Volume::Transaction>> txns_;
};

// Size 0 (no -s, or NAME,0 in -M): the size of the existing famfs file, to
// re-randomise it in place; a file that does not exist needs a size.
Result<uint64_t> existing_size(const Volume& vol, const std::string& relpath, bool single) {
    auto st = vol.load();
    if (!st) return st.error();
    const Node* n = st->ns.lookup(relpath);
    if (n == nullptr) {
        return make_error(EINVAL, single ? "-s SIZE (> 0) is required to create a new file"
                                         : "size must be > 0 to create a new file");
    }
    if (n->is_dir) return make_error(EISDIR, "is a directory");
    return n->file.size;
}

// The file is there (logged, or it existed): shown through its mount and,
// with -v, said so.
void announce(const Options& o, const Job& j) {
    if (j.created) reveal_in_mount(j.target);
    if (o.verbose) {
        std::printf("famfs creat: %s: %s (%llu bytes)\n", escaped(j.target.arg).c_str(),
                    j.created ? "created" : "exists with this size",
                    static_cast<unsigned long long>(j.file.size));
    }
    if (j.seed != 0 && j.single && o.random_seed) {
        std::printf("famfs creat: %s: filled with seed %llu\n", escaped(j.target.arg).c_str(),
                    static_cast<unsigned long long>(j.seed));
    }
}

// Reserves one file (in a transaction) or logs it (without one); returns
// nothing for a dry run.
Result<std::optional<Job>> prepare_one(const GlobalOptions& g, FileSpecArg f, bool single,
                                       const Options& o, Writers& writers) {
    auto t = resolve_target(g, f.name);
    if (!t) return t.error();
    auto vol = writers.get(t->device);
    if (!vol) return make_error(vol.error().code, master_only_reason(vol.error()));
    if (f.size == 0) {
        auto size = existing_size(**vol, t->relpath, single);
        if (!size) return size.error();
        f.size = *size;
    }
    if (g.dryrun) {
        FAMFS_TRY(validate_relpath(t->relpath));
        std::printf("famfs creat: %s: dry run, nothing logged\n", escaped(f.name).c_str());
        return std::optional<Job>{};
    }
    auto txn = writers.transaction(t->device, **vol);
    if (!txn) return make_error(txn.error().code, explain(txn.error(), t->relpath));
    const CreateSpec spec{t->relpath, f.size, o.mode, o.uid, o.gid, o.interleave, o.flags};
    auto c = *txn ? (*txn)->reserve(spec) : (*vol)->create_file(spec);
    if (!c) return make_error(c.error().code, explain(c.error(), t->relpath));
    // Re-filling an existing file writes it: not one logged read-only.
    if (auto w = c->created || f.seed == 0 ? Status{} : dax::check_writable(c->file); !w)
        return make_error(w.error().code, explain(w.error(), t->relpath));
    return std::optional<Job>{Job{*t, *vol, *txn, std::move(c->file), c->created, f.seed, single}};
}

// Fills a reserved (or existing) file and logs it if it is new.
Status fill_and_log(const Job& j) {
    auto map = dax::FileMapping::from_entry(j.vol->shared_device(), j.file);
    if (!map) return map.error();
    FAMFS_TRY(write_pattern(j.vol->device(), *map, j.seed));
    if (j.created && j.txn != nullptr) {
        if (auto s = j.txn->commit(j.file); !s)
            return make_error(s.error().code, explain(s.error(), j.target.relpath));
    }
    return {};
}

}  // namespace

int cmd_creat(const GlobalOptions& g, int argc, char** argv) {
    Options o;
    if (auto stop = parse(argc, argv, o)) return *stop;

    const bool fills = std::any_of(o.files.begin(), o.files.end(),
                                   [](const FileSpecArg& f) { return f.seed != 0; });
    Writers writers(fills && !g.dryrun);
    int failed = 0;
    std::vector<Job> to_fill;
    std::set<std::pair<std::string, std::string>> reserved;  // (device, relpath) not yet logged
    for (size_t i = 0; i < o.files.size(); ++i) {
        const FileSpecArg& f = o.files[i];
        auto job = prepare_one(g, f, i == 0 && o.single, o, writers);
        Status s = job ? Status{} : Status(job.error());
        if (job && *job) {
            Job& j = **job;
            if (j.created && j.txn != nullptr &&
                !reserved.emplace(j.target.device, j.target.relpath).second) {
                s = make_error(EEXIST, "named more than once");
            } else if (j.seed != 0) {
                to_fill.push_back(std::move(j));
            } else if (j.created && j.txn != nullptr) {
                s = j.txn->commit(j.file);
                if (s) announce(o, j);
            } else {
                announce(o, j);
            }
        }
        if (!s) {
            report_error(kCmd, f.name, s.error());
            ++failed;
        }
    }
    // Each file is logged by the thread that filled it, once it is full.
    std::atomic<int> fill_failed{0};
    std::mutex out;
    run_parallel(o.threads, to_fill.size(), [&](size_t i) {
        const Job& j = to_fill[i];
        Status s = fill_and_log(j);
        std::lock_guard<std::mutex> lock(out);
        if (s) {
            announce(o, j);
        } else {
            report_error(kCmd, j.target.arg, s.error());
            ++fill_failed;
        }
    });
    writers.finish();
    return exit_status(failed + fill_failed);
}

}  // namespace famfs::cli
