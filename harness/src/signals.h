// SIGINT/SIGTERM only set a flag: long waits poll it and unwind through the
// normal error path, so cleanup code runs instead of leaving QEMUs behind.
#pragma once

namespace lab {

void install_interrupt_handlers();
bool interrupted();

}  // namespace lab
