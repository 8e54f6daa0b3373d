#include "famfs/testing/env_faults.h"

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "famfs/testing/faulty_device.h"

namespace famfs::testing {

Result<std::unique_ptr<Device>> faults_from_environment(std::unique_ptr<Device> device) {
    const char* spec = std::getenv("FAMFS_TEST_POISON");
    if (!spec || !*spec) return device;
    auto faulty = std::make_unique<FaultyDevice>(std::shared_ptr<Device>(std::move(device)));
    const std::string text(spec);
    for (size_t pos = 0; pos < text.size();) {
        size_t end = text.find(',', pos);
        if (end == std::string::npos) end = text.size();
        const std::string item = text.substr(pos, end - pos);
        uint64_t off = 0, len = 0;
        if (std::sscanf(item.c_str(), "%" SCNu64 ":%" SCNu64, &off, &len) != 2 || len == 0 ||
            off >= faulty->size())
            return make_error(EINVAL,
                              "FAMFS_TEST_POISON: bad range '" + item + "' for " + faulty->path());
        FAMFS_TRY(faulty->poison(off, len));
        pos = end + 1;
    }
    return std::unique_ptr<Device>(std::move(faulty));
}

}  // namespace famfs::testing
