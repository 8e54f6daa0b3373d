// famfs verify: checks files against the test pattern, reading device
// memory directly (never through the page cache).
#include <getopt.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "args.h"
#include "commands.h"
#include "data_io.h"
#include "famfs/escape.h"
#include "parallel.h"
#include "report.h"
#include "target_resolver.h"

namespace famfs::cli {
namespace {

constexpr const char* kCmd = "verify";

void usage(FILE* out) {
    std::fprintf(out,
                 "usage: famfs verify -S SEED -f FILE [-t THREADS] [-q] [-v]\n"
                 "       famfs verify -m FILE,SEED [-m ...] [-t THREADS] [-q] [-v]\n"
                 "Checks files against the famfs test pattern of SEED (not 0).\n"
                 "  -S, --seed  -f, --filename  -m, --multi  -t, --threadct  -q, --quiet\n"
                 "  -v, --verbose  accepted for compatibility\n");
}

struct Job {
    std::string file;
    uint64_t seed = 0;
    std::string outcome;  // the line to print: stdout when ok, else stderr
    bool ok = false;
};

Result<Job> parse_file_seed(const std::string& text) {
    const size_t comma = text.rfind(',');
    if (comma == std::string::npos || comma == 0) {
        return make_error(EINVAL, "invalid -m '" + text + "' (FILE,SEED expected)");
    }
    auto seed = parse_number(text.substr(comma + 1), "seed");
    if (!seed) return seed.error();
    return Job{text.substr(0, comma), *seed};
}

// Opens the files in order first (one log replay per device), then checks
// the data in parallel.
void run(const GlobalOptions& g, std::vector<Job>& jobs, size_t threads) {
    TargetResolver resolver(Access::kReadOnly);
    std::vector<std::optional<MappedFile>> files(jobs.size());
    for (size_t i = 0; i < jobs.size(); ++i) {
        if (jobs[i].seed == 0) {
            // Seed 0 fills nothing (creat leaves the file as it is): there is
            // no pattern to compare with.
            jobs[i].outcome = "famfs verify: " + jobs[i].file +
                              ": seed 0 means no pattern; give the seed the file was created with";
            continue;
        }
        auto t = resolve_target(g, jobs[i].file);
        auto f = t ? resolver.open_file(*t) : Result<MappedFile>(t.error());
        if (!f) {
            jobs[i].outcome = "famfs verify: " + jobs[i].file + ": " + explain(f.error());
            continue;
        }
        files[i].emplace(std::move(*f));
    }
    run_parallel(threads, jobs.size(), [&](size_t i) {
        if (!files[i]) return;
        Job& j = jobs[i];
        const MappedFile& f = *files[i];
        auto bad = find_pattern_mismatch(f.vol->device(), f.map, j.seed);
        const std::string size = std::to_string(f.map.size());
        if (!bad) {
            j.outcome = "famfs verify: " + j.file + ": " + explain(bad.error());
        } else if (*bad) {
            j.outcome = "Verify fail: " + j.file + " at offset " + std::to_string(**bad) + " of " +
                        size + " bytes";
        } else {
            j.ok = true;
            j.outcome = "Success: verified " + size + " bytes in file " + j.file;
        }
    });
}

}  // namespace

int cmd_verify(const GlobalOptions& g, int argc, char** argv) {
    std::vector<Job> jobs;
    std::optional<uint64_t> seed;
    std::optional<std::string> file;
    size_t threads = 1;
    bool quiet = false;
    static const option longopts[] = {{"seed", required_argument, nullptr, 'S'},
                                      {"filename", required_argument, nullptr, 'f'},
                                      {"multi", required_argument, nullptr, 'm'},
                                      {"threadct", required_argument, nullptr, 't'},
                                      {"threads", required_argument, nullptr, 't'},
                                      {"quiet", no_argument, nullptr, 'q'},
                                      {"verbose", no_argument, nullptr, 'v'},
                                      {"help", no_argument, nullptr, 'h'},
                                      {nullptr, 0, nullptr, 0}};
    reset_getopt();
    for (int c; (c = getopt_long(argc, argv, "S:f:m:t:qvh?", longopts, nullptr)) != -1;) {
        const std::string arg = optarg ? optarg : "";
        Status s;
        if (c == 'S') {
            auto v = parse_number(arg, "seed");
            if (v)
                seed = *v;
            else
                s = v.error();
        } else if (c == 'f') {
            file = arg;
        } else if (c == 'm') {
            auto j = parse_file_seed(arg);
            if (j)
                jobs.push_back(*j);
            else
                s = j.error();
        } else if (c == 't') {
            auto v = parse_thread_count(arg);
            if (v)
                threads = *v;
            else
                s = v.error();
        } else if (c == 'q') {
            quiet = true;
        } else if (c == 'v') {
            // The reference tool's scripts pass -v; there is nothing more to say.
        } else {
            usage(help_requested(c, argv) ? stdout : stderr);
            return help_requested(c, argv) ? 0 : kExitUsage;
        }
        if (!s) return report_problem(kCmd, s.error().message), kExitUsage;
    }
    if (optind != argc)
        return report_problem(kCmd, std::string("unexpected argument '") + argv[optind] + "'"),
               kExitUsage;
    if (file.has_value() != seed.has_value()) {
        return report_problem(kCmd, "-f FILE and -S SEED go together"), kExitUsage;
    }
    if (file) jobs.insert(jobs.begin(), Job{*file, *seed});
    if (jobs.empty()) return usage(stderr), kExitUsage;

    run(g, jobs, threads);
    int failed = 0;
    for (const Job& j : jobs) {
        if (!j.ok) ++failed;
        // As in the reference tool, "Verify fail" goes to stderr with the errors.
        if (!j.ok || !quiet)
            std::fprintf(j.ok ? stdout : stderr, "%s\n", escaped(j.outcome).c_str());
    }
    return exit_status(failed);
}

}  // namespace famfs::cli
