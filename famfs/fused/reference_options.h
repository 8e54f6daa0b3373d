// The reference famfs_fused's command line, accepted beside ours:
//   famfs_fused [-f] [-d] [-s] -o daxdev=DEVICE,shadow=DIR[,...] MOUNTPOINT
// as the reference's `famfs mount` starts it. Every -o option is accepted
// or refused by name; kReferenceOptionsHelp lists them.
#pragma once

#include <string>

#include "famfs/result.h"
#include "server.h"

namespace famfs::fused {

extern const char kReferenceOptionsHelp[];

// What the -o lists said, before it is applied to ServerOptions.
struct ReferenceOptions {
    std::string device;  // daxdev=, or source= naming something not a directory
    std::string state_dir;
    std::string fsname;
    bool allow_other = false;
    bool default_permissions = false;
    bool timeout_set = false;
    double timeout_secs = 1.0;  // from cache= unless timeout= was given
};

// Parses one -o argument (a comma-separated list; "\," is a literal comma)
// into `ro`; an unknown or refused option is an error naming it.
Status parse_reference_list(const std::string& list, ReferenceOptions& ro);

// Applies what the -o lists said: the reference's defaults hold for what
// they leave out (no allow_other, no default_permissions: the server then
// checks permissions itself).
void apply_reference_options(const ReferenceOptions& ro, ServerOptions& opt);

}  // namespace famfs::fused
