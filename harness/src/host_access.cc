#include "host_access.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "files.h"
#include "qmp.h"
#include "signals.h"
#include "transcript.h"

namespace lab {

namespace {

class HostLock {
  public:
    HostLock(const std::string& path, Deadline deadline) {
        fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        while (fd_ >= 0 && ::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
            if (ms_left(deadline) == 0 || interrupted()) {
                ::close(fd_);
                fd_ = -1;
                return;
            }
            sleep_ms(10);
        }
    }
    ~HostLock() {
        if (fd_ >= 0) ::close(fd_);
    }
    HostLock(const HostLock&) = delete;
    HostLock& operator=(const HostLock&) = delete;
    bool held() const { return fd_ >= 0; }

  private:
    int fd_ = -1;
};

Status check_host(const RunDir& run, const std::string& host) {
    if (!file_exists(run.host_dir(host))) return fail("no host '" + host + "' in this lab");
    if (!run.host_running(host))
        return fail("host " + host + " is not running (QEMU exited; see " +
                    run.host_file(host, "console.log") + ")");
    return ok();
}

Result<Json> qmp_once(const std::string& sock, const std::string& command, const Json& args,
                      Deadline deadline) {
    auto q = Qmp::connect(sock, deadline);
    if (!q) return q.error();
    // QEMU closes the monitor while executing quit; that is the success case.
    if (command == "quit") {
        if (auto st = q->execute_final(command, deadline); !st) return st.error();
        return Json();
    }
    return q->execute(command, args, deadline);
}

// A failure to reach the guest is most often a guest that died meanwhile;
// say so instead of reporting a bare socket error.
Error explain(const RunDir& run, const std::string& host, const Error& e) {
    if (!run.host_running(host))
        return fail("host " + host + " died (QEMU exited; see " +
                    run.host_file(host, "console.log") + "): " + e.message);
    return fail("host " + host + ": " + e.message);
}

// The VM state QEMU reports ("running", "paused", ...), asked without a
// transcript record: it is a precondition check, not a command of the
// user's. An empty string when the monitor cannot say in time (then the
// exec goes ahead and reports what happens).
std::string vm_state(const RunDir& run, const std::string& host) {
    constexpr double kLimitS = 2;
    auto deadline = deadline_in(kLimitS);
    HostLock lock(run.host_file(host, "qmp.lock"), deadline);
    if (!lock.held()) return "";
    auto r = qmp_once(run.host_file(host, "qmp.sock"), "query-status", Json(), deadline);
    return r ? (*r)["status"].as_string() : "";
}

Result<ExecResult> exec_locked(const RunDir& run, const std::string& host,
                               const std::string& command, const ExecOptions& opts) {
    HostLock lock(run.host_file(host, "qga.lock"), deadline_in(opts.timeout_s));
    if (!lock.held()) return fail("host " + host + ": guest agent busy (lock timeout)");
    auto ga = GuestAgent::connect(run.host_file(host, "qga.sock"),
                                  deadline_in(opts.timeout_s < 10 ? opts.timeout_s : 10));
    if (!ga) return fail("guest agent not answering: " + ga.error().message);
    return ga->exec(command, opts.input, opts.timeout_s);
}

}  // namespace

Result<ExecResult> guest_exec(const RunDir& run, const std::string& host,
                              const std::string& command, const ExecOptions& opts) {
    if (auto st = check_host(run, host); !st) return st.error();
    auto start = Clock::now();
    // A frozen guest's agent cannot answer: say so now, not after a timeout.
    const Status runs = check_vm_runs(host, vm_state(run, host));
    auto r = runs ? exec_locked(run, host, command, opts) : Result<ExecResult>(runs.error());
    if (opts.record) {
        TranscriptRecord rec{host, "exec", command, 125, "", "", seconds_since(start)};
        if (r) {
            rec.exit_code = r->exit_code;
            rec.out = r->out;
            rec.err = r->err;
        } else {
            rec.err = "harness: " + r.error().message;
        }
        record_transcript(run, rec);
    }
    if (!r) return runs ? explain(run, host, r.error()) : r.error();
    return r;
}

Result<Json> host_qmp(const RunDir& run, const std::string& host, const std::string& command,
                      const Json& args, double timeout_s) {
    if (auto st = check_host(run, host); !st) return st.error();
    auto start = Clock::now();
    auto deadline = deadline_in(timeout_s);
    HostLock lock(run.host_file(host, "qmp.lock"), deadline);
    if (!lock.held()) return fail("host " + host + ": QMP busy (lock timeout)");
    auto r = qmp_once(run.host_file(host, "qmp.sock"), command, args, deadline);
    TranscriptRecord rec{host,
                         "qmp",
                         command + (args.is_null() ? "" : " " + args.dump()),
                         r ? 0 : 1,
                         r ? r->dump() : "",
                         r ? "" : r.error().message,
                         seconds_since(start)};
    record_transcript(run, rec);
    if (!r) return explain(run, host, r.error());
    return r;
}

Result<std::string> host_hmp(const RunDir& run, const std::string& host, const std::string& line,
                             double timeout_s) {
    auto r = host_qmp(run, host, "human-monitor-command",
                      Json::object().set("command-line", Json::string(line)), timeout_s);
    if (!r) return r.error();
    return r->as_string();
}

Status check_vm_runs(const std::string& host, const std::string& vm_state) {
    if (vm_state.empty() || vm_state == "running") return ok();
    if (vm_state == "paused")
        return fail("host " + host +
                    " is paused (harness stop); resume it with: harness cont --host " + host);
    return fail("host " + host + " cannot run commands: its VM state is '" + vm_state + "'");
}

bool agent_answers(const RunDir& run, const std::string& host, double timeout_s) {
    if (!run.host_running(host)) return false;
    auto deadline = deadline_in(timeout_s);
    HostLock lock(run.host_file(host, "qga.lock"), deadline);
    if (!lock.held()) return false;
    auto ga = GuestAgent::connect(run.host_file(host, "qga.sock"), deadline);
    return ga.ok();
}

}  // namespace lab
