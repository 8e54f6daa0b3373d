// Argument parsing helpers shared by the commands: numbers, modes, sizes
// (k/m/g suffixes) and the NAME,SIZE[,SEED] list of `creat -M`.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

#include "famfs/allocator.h"
#include "famfs/result.h"

namespace famfs::cli {

// Resets getopt for a command's argv (argv[0] is the command name).
void reset_getopt();
// After getopt returned c: did the user ask for help (-h or -?) rather
// than give an unknown option?
bool help_requested(int c, char** argv);
// Without argv: also true for an unknown long option (glibc reports both
// with optopt 0); prefer the form above.
bool help_requested(int c);

Result<uint64_t> parse_number(const std::string& text, const char* what);
// -t: 0..256 threads, the reference tool's range.
Result<uint64_t> parse_thread_count(const std::string& text);
Result<uint32_t> parse_id(const std::string& text, const char* what);  // uid/gid
Result<uint32_t> parse_mode(const std::string& text);                  // octal permission bits
Result<uint64_t> parse_size_arg(const std::string& text, const char* what);

struct FileSpecArg {
    std::string name;
    uint64_t size = 0;  // 0: the size of the existing famfs file NAME
    uint64_t seed = 0;  // 0: do not randomise
};
// NAME,SIZE[,SEED]; SIZE 0 (as in the reference tool) names an existing
// file at its current size, to re-randomise it.
Result<FileSpecArg> parse_file_spec(const std::string& text);

// -N NSTRIPS, -B NBUCKETS, -C CHUNK (creat and cp): nullopt when `c` is not
// one of them, else how parsing its argument went.
std::optional<Status> parse_interleave_option(int c, const char* arg, InterleaveParams& ip);
// The reference tool's chunk size for -N/-B given without -C.
inline constexpr uint64_t kDefaultChunkSize = uint64_t{2} << 20;
// After the options: -N or -B without -C interleave in kDefaultChunkSize chunks.
void default_interleave_chunk(InterleaveParams& ip);

// Commands whose only option is one flag (-v, -q): parses it (and -h/-?);
// returns the exit status to stop with, if the command should not go on.
// `long_name` ("verbose", "quiet") is the flag's --long form, if it has one.
std::optional<int> parse_flag_only(int argc, char** argv, void (*usage)(FILE*), char flag,
                                   const char* long_name, bool& set);
std::optional<int> parse_flag_only(int argc, char** argv, void (*usage)(FILE*), char flag,
                                   bool& set);

// -m/--mmap and -r/--read (fsck, mount, logplay): how the reference tool
// reads the log; here it is always mapped, so both are accepted and do
// nothing, but giving both is a usage error there and here.
class LogAccessFlags {
  public:
    // True when `c` is 'm' or 'r' (then recorded).
    bool take(int c);
    // Reports the conflict (naming both options) and returns false when both were given.
    bool check(const char* cmd) const;

  private:
    bool mmap_ = false, read_ = false;
};

// The process umask, read without changing it for longer than needed.
uint32_t current_umask();

}  // namespace famfs::cli
