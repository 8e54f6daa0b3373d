// Deadlines: every wait in the harness is bounded (a panicked guest makes QEMU
// spin instead of exiting, so nothing may wait on a guest without a limit).
#pragma once

#include <chrono>

namespace lab {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

inline Deadline deadline_in(double seconds) {
    return Clock::now() +
           std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

inline int ms_left(Deadline d) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(d - Clock::now()).count();
    return left < 0 ? 0 : static_cast<int>(left);
}

inline double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

void sleep_ms(int ms);

}  // namespace lab
