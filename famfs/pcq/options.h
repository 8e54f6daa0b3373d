// pcq's command line: the reference pcq's options and their rules, plus
// --help and --version.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "famfs/result.h"

namespace famfs::pcq {

// --setperm: which side(s) of the queue may write on this host.
enum class Perm { kProducer, kConsumer, kBoth, kNeither };

struct Options {
    bool create = false;
    bool producer = false;
    bool consumer = false;
    bool info = false;
    bool drain = false;
    bool dont_flush = false;
    bool help = false;
    bool version = false;
    int verbose = 0;
    uint64_t bucket_size = 0;
    uint64_t nbuckets = 0;
    uint64_t nmessages = 0;  // 0 without --time: one message, as the reference
    uint64_t runtime_s = 0;
    uint64_t seed = 0;  // 0: no payload pattern (and no payload check)
    uint64_t status_interval_s = 0;
    std::optional<uid_t> uid;
    std::optional<gid_t> gid;
    std::optional<Perm> setperm;
    std::string status_file;
    std::string queue;
};

// Parses and checks the combinations; the error says what is wrong.
Result<Options> parse_options(int argc, char** argv);
std::string usage(const std::string& program);

}  // namespace famfs::pcq
