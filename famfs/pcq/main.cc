// pcq: the reference famfs's producer/consumer queue test over famfs files
// (see run.h for the actions, queue.h for the protocol).
#include <cstdio>
#include <string>

#include "famfs_version.h"
#include "options.h"
#include "run.h"

int main(int argc, char** argv) {
    using namespace famfs::pcq;
    const std::string program = "pcq";
    auto o = parse_options(argc, argv);
    if (!o) {
        std::fprintf(stderr, "pcq: %s (pcq --help for usage)\n", o.error().message.c_str());
        return 1;
    }
    if (o->help) {
        std::fputs(usage(program).c_str(), stdout);
        return 0;
    }
    if (o->version) {
        std::printf("pcq (famfs) %s\n", famfs::kVersion);
        return 0;
    }
    if (o->setperm) return run_setperm(*o);
    if (o->create) return run_create(*o);
    if (o->info) return run_info(*o);
    if (o->drain) return run_drain(*o);
    return run_sides(*o);
}
