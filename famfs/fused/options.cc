#include <getopt.h>

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <chrono>
#include <cstdlib>
#include <iterator>
#include <string>
#include <vector>

#include "famfs_version.h"
#include "reference_options.h"
#include "session.h"

namespace famfs::fused {

namespace {

// One option of famfs_fused, defined once: the usage text and the getopt
// tables are made from these.
struct OptionDef {
    char letter;       // 0: a long name only
    const char* name;  // the long name (nullptr: the letter only)
    const char* arg;   // the argument's name in the usage (nullptr: none)
    const char* help;
    Status (*apply)(ServerOptions& opt, const char* arg);
};

Status timeout_option(ServerOptions& o, const char* arg) {
    char* end = nullptr;
    o.timeout_secs = std::strtod(arg, &end);
    if (end == arg || *end != '\0' || o.timeout_secs < 0) {
        return make_error(EINVAL,
                          std::string("-t ") + arg + ": timeout must be a number of seconds >= 0");
    }
    return {};
}

Status poison_poll_option(ServerOptions& o, const char* arg) {
    char* end = nullptr;
    const long ms = std::strtol(arg, &end, 10);
    if (end == arg || *end != '\0' || ms < 0 || ms > 3600 * 1000) {
        return make_error(EINVAL, std::string("--poison-poll-ms ") + arg +
                                      ": milliseconds from 0 (never) to 3600000");
    }
    o.poison_watch.interval = std::chrono::milliseconds(ms);
    return {};
}

// --NAME MS: milliseconds from `min` to one hour into `out`.
Status milliseconds_option(const char* name, const char* arg, long min,
                           std::chrono::milliseconds& out) {
    char* end = nullptr;
    const long ms = std::strtol(arg, &end, 10);
    if (end == arg || *end != '\0' || ms < min || ms > 3600 * 1000) {
        return make_error(EINVAL, std::string("--") + name + " " + arg + ": milliseconds from " +
                                      std::to_string(min) + " to 3600000");
    }
    out = std::chrono::milliseconds(ms);
    return {};
}

const OptionDef kOptions[] = {
    {'f', nullptr, nullptr, "stay in the foreground",
     [](ServerOptions& o, const char*) {
         o.foreground = true;
         return Status{};
     }},
    {'s', nullptr, nullptr, "single-threaded",
     [](ServerOptions& o, const char*) {
         o.single_thread = true;
         return Status{};
     }},
    {'d', nullptr, nullptr, "foreground, single-threaded, libfuse debug output",
     [](ServerOptions& o, const char*) {
         o.debug = o.foreground = true;
         return Status{};
     }},
    {'v', nullptr, nullptr, "verbose",
     [](ServerOptions& o, const char*) {
         o.verbose = true;
         return Status{};
     }},
    {'t', nullptr, "SECS", "attribute and entry timeout in seconds (default 1)", timeout_option},
    {'u', nullptr, nullptr, "no allow_other",
     [](ServerOptions& o, const char*) {
         o.allow_other = false;
         return Status{};
     }},
    {'p', nullptr, nullptr,
     "no default_permissions: the server checks the mode bits itself (timeouts 0)",
     [](ServerOptions& o, const char*) {
         o.default_permissions = false;
         return Status{};
     }},
    {'c', nullptr, nullptr, "cached I/O only: never open files with direct I/O",
     [](ServerOptions& o, const char*) {
         o.direct_io = false;
         return Status{};
     }},
    {'n', nullptr, nullptr, "do not follow the log (new entries appear on lookup misses only)",
     [](ServerOptions& o, const char*) {
         o.follow = false;
         return Status{};
     }},
    {'b', nullptr, nullptr, "copy read replies through a buffer on every kind of device",
     [](ServerOptions& o, const char*) {
         o.bounce_reads = true;
         return Status{};
     }},
    {'a', nullptr, nullptr, "serve data requests on whatever CPU reads them, not the requester's",
     [](ServerOptions& o, const char*) {
         o.serve_on_requester_cpu = false;
         return Status{};
     }},
    {0, "state-dir", "DIR",
     "the per-mount state directory, for the diagnostics socket DIR/sock (default: a new "
     "/tmp/famfs_shadow_*)",
     [](ServerOptions& o, const char* arg) {
         o.state_dir = arg;
         return Status{};
     }},
    {0, "poison-poll-ms", "MS",
     "how often to read the CXL memdevs' poison lists (default 200; 0: never)", poison_poll_option},
    {0, "heartbeat-ms", "MS",
     "how often this host's slot of the host table is rewritten (default 1000)",
     [](ServerOptions& o, const char* arg) {
         return milliseconds_option("heartbeat-ms", arg, 10, o.membership.heartbeat);
     }},
    {0, "grant-wait-ms", "MS",
     "how long a client's open waits for the master's grant of its slot (default 10000)",
     [](ServerOptions& o, const char* arg) {
         return milliseconds_option("grant-wait-ms", arg, 0, o.membership.grant_wait);
     }},
    {0, "lease-ms", "MS",
     "master: evict a host whose heartbeat stopped this long ago (default 0: never)",
     [](ServerOptions& o, const char* arg) {
         return milliseconds_option("lease-ms", arg, 0, o.membership.lease);
     }},
    {0, "poison-sysfs", "DIR", "where sysfs is, for the poison watch (default /sys)",
     [](ServerOptions& o, const char* arg) {
         o.poison_watch.sysfs = arg;
         return Status{};
     }},
    {0, "poison-tracefs", "DIR",
     "where tracefs is (default /sys/kernel/tracing, else /sys/kernel/debug/tracing)",
     [](ServerOptions& o, const char* arg) {
         o.poison_watch.tracefs = arg;
         return Status{};
     }},
    {0, "poison-test-dax", "NAME",
     "tests only: watch poison as if the device were dax device NAME of the sysfs",
     [](ServerOptions& o, const char* arg) {
         o.poison_watch.test_dax = arg;
         return Status{};
     }},
};

// What getopt_long did not recognise, by name.
std::string unknown_option(char** argv, int letter) {
    if (letter)
        return std::string("-") + static_cast<char>(letter) +
               ": unknown option or missing argument; famfs_fused --help lists the options";
    return std::string(argv[optind - 1]) +
           ": unknown option or missing argument; famfs_fused --help lists the options";
}

// getopt_long's value for a long-only option: above every letter.
constexpr int kLongOnly = 256;

std::string make_usage() {
    std::string u =
        "usage: famfs_fused [OPTION]... DEVICE MOUNTPOINT\n"
        "       famfs_fused [OPTION]... -o daxdev=DEVICE[,shadow=DIR][,...] MOUNTPOINT\n"
        "Serves the famfs file system on DEVICE at MOUNTPOINT through FUSE.\n"
        "  -h, --help              this text\n"
        "  -V, --version           the version of famfs_fused and of libfuse\n";
    for (const OptionDef& d : kOptions) {
        std::string left = d.letter ? std::string("-") + d.letter : std::string("--") + d.name;
        if (d.arg) left += std::string(" ") + d.arg;
        u +=
            "  " + left + std::string(left.size() < 24 ? 24 - left.size() : 1, ' ') + d.help + "\n";
    }
    u += "The reference famfs_fused's -o options (several may share one -o, comma-separated):\n";
    u += kReferenceOptionsHelp;
    return u;
}

// Letters and long names of options parse_command_line handles itself.
constexpr char kHelpLetter = 'h', kVersionLetter = 'V', kMountOptionLetter = 'o';

}  // namespace

const char* usage() {
    static const std::string text = make_usage();
    return text.c_str();
}

const char* version_text() {
    static const std::string text = std::string("famfs_fused ") + kVersion +
                                    "\nFUSE library version " + fuse_pkgversion() + "\n";
    return text.c_str();
}

Result<Command> parse_command_line(int argc, char** argv) {
    std::string letters = "+hVo:";
    std::vector<option> longs{{"help", no_argument, nullptr, kHelpLetter},
                              {"version", no_argument, nullptr, kVersionLetter}};
    constexpr int kCount = static_cast<int>(std::size(kOptions));
    for (int i = 0; i < kCount; i++) {
        const OptionDef& d = kOptions[i];
        if (d.letter) {
            letters += d.letter;
            if (d.arg) letters += ':';
        }
        if (d.name) {
            longs.push_back({d.name, d.arg ? required_argument : no_argument, nullptr,
                             d.letter ? d.letter : kLongOnly + i});
        }
    }
    longs.push_back({nullptr, 0, nullptr, 0});

    Command cmd;
    ServerOptions& opt = cmd.server;
    ReferenceOptions ref;
    bool reference_form = false;
    optind = 0;  // 0, not 1: glibc forgets the previous parse entirely
    opterr = 0;  // the error below names the option
    int c;
    while ((c = getopt_long(argc, argv, letters.c_str(), longs.data(), nullptr)) != -1) {
        if (c == kHelpLetter || c == kVersionLetter) {
            cmd.action = c == kHelpLetter ? Command::Action::kHelp : Command::Action::kVersion;
            return cmd;
        }
        if (c == kMountOptionLetter) {
            reference_form = true;
            if (auto st = parse_reference_list(optarg, ref); !st) return st.error();
            continue;
        }
        const OptionDef* def = nullptr;
        if (c >= kLongOnly && c < kLongOnly + kCount) def = &kOptions[c - kLongOnly];
        for (int i = 0; !def && c > 0 && c < kLongOnly && i < kCount; i++) {
            if (kOptions[i].letter == c) def = &kOptions[i];
        }
        if (!def) return make_error(EINVAL, unknown_option(argv, optopt));
        if (auto st = def->apply(opt, optarg); !st) return st.error();
    }
    if (reference_form) apply_reference_options(ref, opt);
    const bool device_given = !ref.device.empty();
    const int want = device_given ? 1 : 2;
    if (argc - optind != want) {
        return make_error(EINVAL, std::string(device_given ? "expected MOUNTPOINT (the device came "
                                                             "from -o)"
                                                           : "expected DEVICE MOUNTPOINT") +
                                      "; famfs_fused --help lists the options");
    }
    // Checked by the server, a path walk must reach it at every step: with
    // cached entries the kernel would walk into directories unasked.
    if (!opt.default_permissions) opt.timeout_secs = 0;
    if (!device_given) opt.device = argv[optind++];
    opt.mountpoint = argv[optind];
    if (opt.fsname.empty()) opt.fsname = opt.device;
    return cmd;
}

}  // namespace famfs::fused
