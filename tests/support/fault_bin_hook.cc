// Linked only into the test builds of famfs and famfs_fused (build/fault-bin):
// every device they open passes through the environment's faults
// (env_faults.h). A static initializer of the executable's own object, so
// it runs before main() opens anything.
#include "famfs/device.h"
#include "famfs/testing/env_faults.h"

namespace {

[[maybe_unused]] const bool kInstalled =
    (famfs::set_device_decorator(&famfs::testing::faults_from_environment), true);

}  // namespace
