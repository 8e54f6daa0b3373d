#include "options.h"

#include <getopt.h>
#include <grp.h>
#include <pwd.h>

#include <cstdlib>
#include <cstring>

#include "famfs/sizes.h"

namespace famfs::pcq {
namespace {

enum LongOnly { kHelp = 1000, kVersion };

const option kLongOptions[] = {
    {"bsize", required_argument, nullptr, 'b'},
    {"nbuckets", required_argument, nullptr, 'n'},
    {"seed", required_argument, nullptr, 'S'},
    {"nmessages", required_argument, nullptr, 'N'},
    {"statusfile", required_argument, nullptr, 'f'},
    {"time", required_argument, nullptr, 't'},
    {"status", required_argument, nullptr, 's'},
    {"setperm", required_argument, nullptr, 'P'},
    {"uid", required_argument, nullptr, 'u'},
    {"gid", required_argument, nullptr, 'g'},
    {"create", no_argument, nullptr, 'C'},
    {"producer", no_argument, nullptr, 'p'},
    {"consumer", no_argument, nullptr, 'c'},
    {"info", no_argument, nullptr, 'i'},
    {"drain", no_argument, nullptr, 'd'},
    {"dontflush", no_argument, nullptr, 'D'},
    {"verbose", no_argument, nullptr, 'v'},
    {"help", no_argument, nullptr, kHelp},
    {"version", no_argument, nullptr, kVersion},
    {nullptr, 0, nullptr, 0},
};

Result<uint64_t> number(const char* opt, const char* text, bool suffixes) {
    if (suffixes) {
        auto v = parse_size(text);
        if (!v) return make_error(EINVAL, std::string(opt) + ": " + v.error().message);
        return v;
    }
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(text, &end, 0);
    if (errno || end == text || *end || text[0] == '-')
        return make_error(EINVAL, std::string(opt) + ": '" + text + "' is not a number");
    return static_cast<uint64_t>(v);
}

Result<uid_t> user(const char* text) {
    if (auto n = number("--uid", text, false)) return static_cast<uid_t>(*n);
    if (const passwd* pw = getpwnam(text)) return pw->pw_uid;
    return make_error(EINVAL, std::string("--uid: no user '") + text + "'");
}

Result<gid_t> group(const char* text) {
    if (auto n = number("--gid", text, false)) return static_cast<gid_t>(*n);
    if (const struct group* gr = getgrnam(text)) return gr->gr_gid;
    return make_error(EINVAL, std::string("--gid: no group '") + text + "'");
}

Result<Perm> perm(const char* text) {
    const std::string t = text;
    if (t == "p") return Perm::kProducer;
    if (t == "c") return Perm::kConsumer;
    if (t == "b") return Perm::kBoth;
    if (t == "n") return Perm::kNeither;
    return make_error(EINVAL, "--setperm: '" + t + "' is not p, c, b or n");
}

// Applies one parsed option.
Status apply(Options& o, int c, const char* arg) {
    switch (c) {
        case 'b': {
            auto v = number("--bsize", arg, true);
            if (!v) return v.error();
            o.bucket_size = *v;
            return {};
        }
        case 'n': {
            auto v = number("--nbuckets", arg, true);
            if (!v) return v.error();
            o.nbuckets = *v;
            return {};
        }
        case 'N': {
            auto v = number("--nmessages", arg, true);
            if (!v) return v.error();
            o.nmessages = *v;
            return {};
        }
        case 'S': {
            auto v = number("--seed", arg, false);
            if (!v) return v.error();
            o.seed = *v;
            return {};
        }
        case 't': {
            auto v = number("--time", arg, false);
            if (!v) return v.error();
            o.runtime_s = *v;
            return {};
        }
        case 's': {
            auto v = number("--status", arg, false);
            if (!v) return v.error();
            o.status_interval_s = *v;
            return {};
        }
        case 'u': {
            auto v = user(arg);
            if (!v) return v.error();
            o.uid = *v;
            return {};
        }
        case 'g': {
            auto v = group(arg);
            if (!v) return v.error();
            o.gid = *v;
            return {};
        }
        case 'P': {
            auto v = perm(arg);
            if (!v) return v.error();
            o.setperm = *v;
            return {};
        }
        case 'f':
            o.status_file = arg;
            return {};
        case 'C':
            o.create = true;
            return {};
        case 'p':
            o.producer = true;
            return {};
        case 'c':
            o.consumer = true;
            return {};
        case 'i':
            o.info = true;
            return {};
        case 'd':
            o.drain = true;
            return {};
        case 'D':
            o.dont_flush = true;
            return {};
        case 'v':
            ++o.verbose;
            return {};
        case 'h':
        case kHelp:
            o.help = true;
            return {};
        case kVersion:
            o.version = true;
            return {};
    }
    return make_error(EINVAL, "unrecognized option");
}

// The reference's rules for combining options, in its order.
Status check_combination(const Options& o) {
    if (o.info && (o.create || o.producer || o.consumer || o.drain))
        return make_error(EINVAL,
                          "--info cannot be combined with --create, --producer, "
                          "--consumer or --drain");
    if (o.create && (o.bucket_size == 0 || o.nbuckets == 0))
        return make_error(EINVAL, "--create needs --bsize and --nbuckets");
    if (!o.create && (o.uid || o.gid))
        return make_error(EINVAL, "--uid and --gid only apply with --create");
    if (o.drain && (o.producer || o.nmessages || o.runtime_s))
        return make_error(EINVAL,
                          "--drain cannot be combined with --producer, --time or "
                          "--nmessages");
    if (o.runtime_s && o.nmessages)
        return make_error(EINVAL, "--nmessages and --time cannot be used together");
    if (o.setperm && (o.create || o.producer || o.consumer || o.drain || o.info))
        return make_error(EINVAL,
                          "--setperm cannot be combined with --create, --producer, "
                          "--consumer, --drain or --info");
    const int actions =
        o.create + (o.producer || o.consumer) + o.info + o.drain + o.setperm.has_value();
    if (actions == 0)
        return make_error(EINVAL,
                          "nothing to do: give --create, --producer, --consumer, "
                          "--drain, --info or --setperm");
    if (o.create && (o.producer || o.consumer || o.drain))
        return make_error(EINVAL,
                          "--create runs on its own: create the queue, then run "
                          "--producer/--consumer");
    if (o.queue.empty()) return make_error(EINVAL, "missing the queue's file name");
    return {};
}

}  // namespace

Result<Options> parse_options(int argc, char** argv) {
    Options o;
    opterr = 0;  // our own messages
    optind = 0;  // 0: glibc starts over (parsing more than once, as tests do)
    int c;
    // '+': stop at the first non-option, as the reference does.
    while ((c = getopt_long(argc, argv, "+b:n:S:N:f:t:s:P:u:g:CpcidDvh?", kLongOptions, nullptr)) !=
           -1) {
        if (c == '?') {
            if (optopt == '?' || (optopt == 0 && std::strcmp(argv[optind - 1], "-?") == 0)) {
                o.help = true;
                continue;
            }
            const char* given = argv[optind - 1];
            if (optopt && std::strchr("bnSNftsPug", optopt) && given[0] == '-' &&
                given[1] == optopt && !given[2])
                return make_error(EINVAL, std::string("option '") + given + "' needs a value");
            return make_error(EINVAL, std::string("unrecognized option '") + given + "'");
        }
        if (c == ':') return make_error(EINVAL, "missing option value");
        FAMFS_TRY(apply(o, c, optarg));
    }
    if (o.help || o.version) return o;
    if (optind < argc) o.queue = argv[optind++];
    if (optind < argc)
        return make_error(EINVAL, std::string("unexpected argument '") + argv[optind] + "'");
    FAMFS_TRY(check_combination(o));
    return o;
}

std::string usage(const std::string& p) {
    return "\n"
           "pcq: a producer/consumer queue on famfs, to test memory shared between\n"
           "processes and hosts\n"
           "\n"
           "A queue is two famfs files: NAME holds the producer's index and the buckets,\n"
           "NAME.consumer the consumer's index. Each side maps its own file writable and\n"
           "the other read-only, writes its stores back from the CPU caches and\n"
           "invalidates what the other side wrote before reading it, so a producer on\n"
           "one host and a consumer on another work on memory that is not coherent.\n"
           "Each message carries a sequence number and a CRC; with --seed its payload\n"
           "is the famfs test pattern, checked by the consumer.\n"
           "\n"
           "Examples:\n"
           "  " +
           p +
           " --create --bsize 1024 --nbuckets 4K /mnt/famfs/q    (on the master)\n"
           "  " +
           p +
           " --producer --seed 7 -N 10000 /mnt/famfs/q\n"
           "  " +
           p +
           " --consumer --seed 7 -N 10000 /mnt/famfs/q            (any host)\n"
           "  " +
           p +
           " --producer --consumer --time 10 -s 1 /mnt/famfs/q    (one process)\n"
           "  " +
           p +
           " --drain /mnt/famfs/q\n"
           "  " +
           p +
           " --info /mnt/famfs/q\n"
           "\n"
           "Creating a queue (master only):\n"
           "  -C, --create              create queue NAME and NAME.consumer\n"
           "  -b, --bsize SIZE          bucket size (a power of 2, at least 32; k/m/g), which\n"
           "                            includes the 8-byte sequence number and 8-byte CRC\n"
           "  -n, --nbuckets N          number of buckets (k/m/g)\n"
           "  -u, --uid USER            owner of both files (default: you)\n"
           "  -g, --gid GROUP           group of both files (default: yours)\n"
           "\n"
           "Permissions on this host (on its own):\n"
           "  -P, --setperm p|c|b|n     writable for the (p)roducer, (c)onsumer, (b)oth or\n"
           "                            (n)either (chmod of the two files)\n"
           "\n"
           "Running:\n"
           "  -p, --producer            run the producer\n"
           "  -c, --consumer            run the consumer (both: two threads)\n"
           "  -N, --nmessages N         messages to send and/or receive (default 1; k/m/g)\n"
           "  -t, --time SECONDS        run for this long instead\n"
           "  -S, --seed SEED           payloads are the test pattern of SEED, checked by\n"
           "                            the consumer (0: no pattern)\n"
           "  -s, --status SECONDS      print the counters at this interval\n"
           "  -d, --drain               consume until the queue is empty, then exit\n"
           "  -i, --info                print the queue's state (maps both files read-only)\n"
           "  -D, --dontflush           no CPU cache write-back or invalidation (coherent\n"
           "                            memory only)\n"
           "  -f, --statusfile FILE     write the result to FILE: messages sent + received,\n"
           "                            minus the number of errors if any (info: messages\n"
           "                            in the queue)\n"
           "  -v, --verbose             a line per message (-vv: more)\n"
           "  -h, -?, --help            this text;  --version  the version\n"
           "\n"
           "Exit status: 0 success; the number of bad messages (at most 127); 1 for any\n"
           "other error, which is named on stderr.\n";
}

}  // namespace famfs::pcq
