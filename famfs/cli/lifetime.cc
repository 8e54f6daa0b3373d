#include "lifetime.h"

namespace famfs::cli {

std::vector<const void*>& kept_until_exit() {
    static auto* kept = new std::vector<const void*>;
    return *kept;
}

}  // namespace famfs::cli
