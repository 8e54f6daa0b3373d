// One function per subcommand; each returns the process exit status.
#pragma once

#include "args.h"

namespace lab {

inline constexpr int kExitHarnessError = 125;

int cmd_up(const Args& a);
int cmd_down(const Args& a);
int cmd_status(const Args& a);
int cmd_hosts(const Args& a);
int cmd_topologies(const Args& a);
int cmd_exec(const Args& a);
int cmd_qmp(const Args& a);
int cmd_hmp(const Args& a);
int cmd_stop_cont(const Args& a, const char* qmp_command);
int cmd_crash(const Args& a);
int cmd_restart(const Args& a);
int cmd_caps(const Args& a);
int cmd_logs(const Args& a);
int cmd_inject(const Args& a);
int cmd_console(const Args& a);

}  // namespace lab
