// famfs run: runs a command with the interception library preloaded, so an
// unmodified program reads, writes and maps famfs files at memory speed
// (famfs/intercept/). What the library cannot serve goes through the mount
// as before, so any command may be run this way.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "args.h"
#include "commands.h"
#include "report.h"

namespace famfs::cli {
namespace {

constexpr const char* kLibrary = "libfamfs_intercept.so";

void usage(FILE* out) {
    std::fprintf(out,
                 "usage: famfs run [-v] [--] COMMAND [ARG]...\n"
                 "  runs COMMAND with %s preloaded: reads, writes and mmap() of\n"
                 "  files opened through a famfs mount are served from the device's memory\n"
                 "  -v, --verbose  each process that met a famfs file reports at exit what was\n"
                 "                 served and what went to the mount, and why\n"
                 "                 (FAMFS_INTERCEPT_REPORT=1; a file name there collects reports)\n"
                 "  FAMFS_INTERCEPT_LIB names the library when it is not beside famfs\n",
                 kLibrary);
}

std::string directory_of_this_program() {
    char buf[4096];
    const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return ".";
    std::string path(buf, static_cast<size_t>(n));
    return path.substr(0, path.rfind('/'));
}

// Beside famfs (the build tree), or in the lib directories of an install.
std::string find_library() {
    if (const char* lib = std::getenv("FAMFS_INTERCEPT_LIB"); lib && *lib) return lib;
    const std::string bin = directory_of_this_program();
    for (const std::string& candidate :
         {bin + "/" + kLibrary, bin + "/../lib/famfs/" + kLibrary, bin + "/../lib/" + kLibrary}) {
        if (access(candidate.c_str(), R_OK) == 0) return candidate;
    }
    return "";
}

}  // namespace

int cmd_run(const GlobalOptions&, int argc, char** argv) {
    bool verbose = false;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; ++i) {
        const std::string a = argv[i];
        if (a == "--") {
            ++i;
            break;
        }
        if (a == "-v" || a == "--verbose") {
            verbose = true;
        } else if (a == "-?" || a == "-h") {
            usage(stdout);
            return 0;
        } else {
            std::fprintf(stderr, "famfs run: unknown option '%s'\n", a.c_str());
            usage(stderr);
            return kExitUsage;
        }
    }
    if (i == argc) return usage(stderr), kExitUsage;
    const std::string lib = find_library();
    if (lib.empty() || access(lib.c_str(), R_OK) != 0) {
        std::fprintf(stderr,
                     "famfs run: %s: not found beside famfs (%s) nor in its lib directory\n",
                     lib.empty() ? kLibrary : lib.c_str(), directory_of_this_program().c_str());
        return 1;
    }
    const char* old = std::getenv("LD_PRELOAD");
    const std::string preload = old && *old ? lib + " " + old : lib;
    setenv("LD_PRELOAD", preload.c_str(), 1);
    if (verbose && !std::getenv("FAMFS_INTERCEPT_REPORT")) setenv("FAMFS_INTERCEPT_REPORT", "1", 1);
    execvp(argv[i], argv + i);
    const int err = errno;
    std::fprintf(stderr, "famfs run: %s: %s\n", argv[i], std::strerror(err));
    return err == ENOENT ? 127 : 126;  // as a shell reports a command it cannot run
}

}  // namespace famfs::cli
