// pcq's actions: create, info, set permissions, drain, and running a
// producer and/or a consumer (a thread each) with the status printer. Each
// returns the process's exit status and prints what the reference prints.
#pragma once

#include "options.h"

namespace famfs::pcq {

int run_create(const Options& o);
int run_info(const Options& o);
int run_setperm(const Options& o);
int run_drain(const Options& o);
int run_sides(const Options& o);

}  // namespace famfs::pcq
