// The CLI runs one command and exits. Tearing a replayed namespace down
// node by node costs about a third of a `famfs creat` on a log of 10 000
// files, so per-process state that lives as long as the command is handed
// here and left for the kernel to reclaim at exit.
#pragma once

#include <memory>
#include <vector>

namespace famfs::cli {

// Objects kept until exit (still reachable, so leak checkers stay quiet).
std::vector<const void*>& kept_until_exit();

template <class T>
T* keep_until_exit(std::unique_ptr<T> p) {
    T* raw = p.release();
    kept_until_exit().push_back(raw);
    return raw;
}

}  // namespace famfs::cli
