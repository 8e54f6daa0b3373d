// Guest-side shell scripts that turn the shared memory into one device name,
// /dev/famfs0, in every guest. The first host creates the devdax namespace
// (or CXL region + namespace); the others attach to what it created.
#pragma once

#include <string>

#include "topology.h"

namespace lab {

enum class Role { Create, Attach };

// The path every guest uses for the shared memory device.
inline constexpr const char* kGuestDevice = "/dev/famfs0";

std::string provision_script(const Topology& t, Role role, const std::string& namespace_uuid);

// Prints, one "name  yes|no" line each, what a running guest kernel offers
// the lab (`harness caps` with a lab up).
extern const char* const kGuestCapsProbe;

}  // namespace lab
