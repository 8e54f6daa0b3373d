#include "lab.h"

#include <unistd.h>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "files.h"
#include "host_access.h"
#include "lab_features.h"
#include "process.h"
#include "qemu_args.h"
#include "signals.h"
#include "stack.h"
#include "text_util.h"
#include "transcript.h"

#ifndef HARNESS_DEFAULT_IMAGE_DIR
#define HARNESS_DEFAULT_IMAGE_DIR "build/vm-image"
#endif

namespace lab {

namespace {

std::string new_uuid() {
    auto text = read_file("/proc/sys/kernel/random/uuid");
    return text ? trim(*text) : "00000000-0000-4000-8000-000000000001";
}

std::string tail_of(const std::string& path, size_t max_lines) {
    auto text = read_file(path);
    if (!text) return "";
    auto lines = split(*text, '\n');
    size_t from = lines.size() > max_lines ? lines.size() - max_lines : 0;
    std::string out;
    for (size_t i = from; i < lines.size(); ++i) out += "    " + lines[i] + "\n";
    return out;
}

Error host_died(const RunDir& run, const std::string& host) {
    return fail("host " + host + ": QEMU exited. qemu.log:\n" +
                tail_of(run.host_file(host, "qemu.log"), 10) + "  console.log:\n" +
                tail_of(run.host_file(host, "console.log"), 15));
}

void note(const RunDir& run, const std::string& host, const std::string& what, double seconds) {
    record_transcript(run, TranscriptRecord{host, "lab", what, 0, "", "", seconds});
}

// QEMU truncates its log file at start; a crashed boot's console is evidence,
// so each earlier boot's log is kept as console.N.log.
void keep_previous_console(const RunDir& run, const std::string& host) {
    std::string current = run.host_file(host, "console.log");
    if (!file_exists(current)) return;
    for (int n = 1; n < 1000; ++n) {
        std::string older = run.host_file(host, "console." + std::to_string(n) + ".log");
        if (!file_exists(older)) {
            ::rename(current.c_str(), older.c_str());
            return;
        }
    }
}

HostLaunch launch_from(const Stack& stack, const LabFeatures& f, const LabState& st) {
    HostLaunch l;
    l.qemu = stack.qemu;
    l.shm_path = st.shm_path;
    l.image_dir = st.image_dir;
    l.cxl_second_root_port = f.cxl_second_root_port;
    l.memhp_offline = f.memhp_offline;
    l.cpu_without_hypervisor_bit = f.cpu_without_hypervisor_bit;
    return l;
}

// A running lab's stack is probed again (a QEMU answers in a fraction of a
// second) rather than kept: how QEMU runs follows from its capabilities.
Result<HostLaunch> launch_of(const RunDir& run, const Topology& t, const LabState& st) {
    auto stack = open_stack(st.qemu_choice, st.kernel, st.image_dir, run.path("probe"));
    if (!stack) return stack.error();
    return launch_from(*stack, decide_features(t, *stack), st);
}

// Starts QEMU for one host; a persistent CXL region's label storage is
// zeroed first (a reused label area disables the region).
Status boot_host(const RunDir& run, const Topology& t, const HostLaunch& base, const HostSpec& h) {
    std::string dir = run.host_dir(h.name);
    if (auto s = make_dirs(dir); !s) return s;
    auto uuid = read_file(run.host_file(h.name, "system_uuid"));
    if (!uuid) {
        if (auto s = write_file(run.host_file(h.name, "system_uuid"), new_uuid() + "\n"); !s)
            return s;
        uuid = read_file(run.host_file(h.name, "system_uuid"));
    }
    if (t.model == DeviceModel::Cxl) {
        if (auto s = create_sparse_file(run.host_file(h.name, "lsa.raw"), t.lsa_size); !s) return s;
    }
    HostLaunch launch = base;
    launch.system_uuid = trim(*uuid);
    auto argv = qemu_argv(t, h, launch);
    std::string cmdline;
    for (const auto& a : argv) cmdline += shell_quote(a) + " ";
    (void)write_file(run.host_file(h.name, "qemu.cmdline"), cmdline + "\n");
    keep_previous_console(run, h.name);
    ::unlink(run.host_file(h.name, "qmp.sock").c_str());
    ::unlink(run.host_file(h.name, "qga.sock").c_str());
    ::unlink(run.host_file(h.name, "serial.sock").c_str());
    auto pid = spawn_detached(argv, absolute_path(dir), run.host_file(h.name, "qemu.log"));
    if (!pid) return pid.error();
    return write_file(run.host_file(h.name, "qemu.pid"), std::to_string(*pid) + "\n");
}

// The init script prints this once qemu-ga runs; asking the agent earlier
// only burns time in timeouts.
bool console_says_ready(const RunDir& run, const std::string& host) {
    auto text = read_file(run.host_file(host, "console.log"));
    return text && text->find("ready (qemu-ga started)") != std::string::npos;
}

// A guest whose kernel panicked never answers: waiting for the timeout only
// hides the reason. QEMU keeps running (the guest spins or halts), so the
// console is the only place that says so.
bool console_says_panic(const RunDir& run, const std::string& host) {
    auto text = read_file(run.host_file(host, "console.log"));
    return text && text->find("Kernel panic - not syncing") != std::string::npos;
}

Error host_panicked(const RunDir& run, const std::string& host) {
    const std::string log = run.host_file(host, "console.log");
    return fail("host " + host + ": the guest kernel panicked (" + log + "):\n" + tail_of(log, 25));
}

Status provision_host(const RunDir& run, const Topology& t, const LabState& st,
                      const std::string& host, Role role) {
    ExecOptions opts;
    opts.timeout_s = 120;
    auto r = guest_exec(run, host, provision_script(t, role, st.namespace_uuid), opts);
    if (!r) return r.error();
    if (r->exit_code != 0)
        return fail("host " + host + ": provisioning the shared device failed (exit " +
                    std::to_string(r->exit_code) + "): " + r->err + r->out);
    std::fprintf(stderr, "harness: %s: %s", host.c_str(), r->out.c_str());
    return ok();
}

Status start_all(const RunDir& run, const Topology& t, const LabState& st, const HostLaunch& launch,
                 double timeout_s) {
    auto start = Clock::now();
    std::vector<std::string> names;
    for (const auto& h : t.hosts) {
        if (auto s = boot_host(run, t, launch, h); !s) return s;
        names.push_back(h.name);
    }
    if (auto s = wait_ready(run, names, timeout_s); !s) return s;
    double booted = seconds_since(start);
    note(run, "*", "boot " + join(names, ",") + " (guest agents answer)", booted);
    std::fprintf(stderr, "harness: %zu hosts booted in %.1f s\n", names.size(), booted);
    const std::string& master = t.master().name;
    if (auto s = provision_host(run, t, st, master, Role::Create); !s) return s;
    for (const auto& h : t.hosts) {
        if (h.name == master) continue;
        if (auto s = provision_host(run, t, st, h.name, Role::Attach); !s) return s;
    }
    note(run, "*", "up (shared device provisioned)", seconds_since(start));
    std::fprintf(stderr, "harness: lab %s up in %.1f s (master %s); run dir %s\n", t.name.c_str(),
                 seconds_since(start), master.c_str(), run.root().c_str());
    return ok();
}

// A previous lab in this run directory whose QEMUs are all gone is stale.
Status refuse_if_running(const RunDir& run) {
    if (!run.has_lab()) return ok();
    auto t = run.load_topology();
    if (t) {
        for (const auto& h : t->hosts) {
            if (run.host_running(h.name))
                return fail("a lab is already up in " + run.root() + " (harness down first)");
        }
    }
    return lab_down(run);
}

void clear_previous_run(const RunDir& run) {
    std::error_code ec;
    std::filesystem::remove_all(run.path("hosts"), ec);
    std::filesystem::remove(run.path("transcript.jsonl"), ec);
    std::filesystem::remove(run.path("transcript.log"), ec);
}

struct Prepared {
    LabState state;
    HostLaunch launch;
};

// Everything that can be refused is checked before the shared memory file
// exists, so a refused `up` leaves nothing in /dev/shm.
Result<Prepared> prepare(const RunDir& run, const UpOptions& opts, const std::string& topo_path,
                         const Topology& t) {
    std::string qemu = opts.qemu.empty() ? t.qemu : opts.qemu;
    std::string kernel = opts.kernel.empty() ? t.kernel : opts.kernel;
    auto image =
        resolve_image(opts.image_root.empty() ? default_image_root() : opts.image_root, kernel);
    if (!image) return image.error();
    auto stack = open_stack(qemu, kernel, *image, run.path("probe"));
    if (!stack) return stack.error();
    if (auto s = check_stack_supports(t, *stack); !s) return s.error();
    LabFeatures features = decide_features(t, *stack);
    if (auto s = write_file(run.path("stack.txt"), describe_stack(*stack, features)); !s)
        return s.error();
    std::fprintf(stderr, "harness: stack: QEMU %s (%s), guest kernel %s; see %s\n",
                 stack->qemu_caps.version.c_str(), qemu.c_str(), stack->kernel_caps.release.c_str(),
                 run.path("stack.txt").c_str());
    auto text = read_file(topo_path);
    if (!text) return text.error();
    if (auto s = write_file(run.path("topology.conf"), *text); !s) return s.error();
    LabState st{t.name,
                qemu,
                kernel,
                *image,
                "/dev/shm/famfs-lab-" + std::to_string(::getpid()) + "-" + t.name,
                new_uuid()};
    if (auto s = create_sparse_file(st.shm_path, t.shared_size); !s) return s.error();
    if (auto s = run.save_state(st); !s) {
        ::unlink(st.shm_path.c_str());
        return s.error();
    }
    return Prepared{st, launch_from(*stack, features, st)};
}

}  // namespace

Status wait_ready(const RunDir& run, const std::vector<std::string>& hosts, double timeout_s) {
    auto start = Clock::now();
    auto deadline = deadline_in(timeout_s);
    std::vector<std::string> pending = hosts;
    while (!pending.empty()) {
        if (interrupted()) return fail("interrupted");
        std::vector<std::string> still;
        for (const auto& h : pending) {
            if (console_says_panic(run, h)) return host_panicked(run, h);
            if (!run.host_running(h)) return host_died(run, h);
            if (console_says_ready(run, h) && agent_answers(run, h, 2.0)) {
                note(run, h, "ready (guest agent answers)", seconds_since(start));
            } else {
                still.push_back(h);
            }
        }
        pending = still;
        if (pending.empty()) break;
        if (ms_left(deadline) == 0)
            return fail("timed out after " + std::to_string(int(timeout_s)) + " s waiting for " +
                        join(pending, ", ") + " (guest agent silent); console tail (" +
                        run.host_file(pending.front(), "console.log") + "):\n" +
                        tail_of(run.host_file(pending.front(), "console.log"), 15));
        sleep_ms(100);
    }
    return ok();
}

std::string default_image_root() {
    if (const char* env = std::getenv("LAB_IMAGE")) return env;
    return HARNESS_DEFAULT_IMAGE_DIR;
}

Status lab_up(const UpOptions& opts) {
    auto topo_path = find_topology(opts.topology);
    if (!topo_path) return topo_path.error();
    auto t = load_topology_file(*topo_path);
    if (!t) return t.error();
    auto run = RunDir::open(opts.run_dir, true);
    if (!run) return run.error();
    if (auto s = refuse_if_running(*run); !s) return s;
    clear_previous_run(*run);
    auto prepared = prepare(*run, opts, *topo_path, *t);
    if (!prepared) return prepared.error();
    auto s = start_all(*run, *t, prepared->state, prepared->launch, opts.boot_timeout_s);
    if (!s && !opts.keep_on_failure) {
        std::fprintf(stderr, "harness: up failed, tearing the lab down (logs stay in %s)\n",
                     run->root().c_str());
        (void)lab_down(*run);
    }
    return s;
}

Status lab_down(const RunDir& run) {
    auto state = run.load_state();
    if (!state) return state.error();
    auto t = run.load_topology();
    if (t) {
        for (const auto& h : t->hosts) {
            std::string dir = absolute_path(run.host_dir(h.name));
            pid_t pid = run.host_pid(h.name);
            if (process_alive(pid, dir)) {
                (void)host_qmp(run, h.name, "quit", Json(), 3);
                if (!wait_process_exit(pid, dir, 5)) stop_process(pid, dir, 3);
            }
            // Sparse, but artifact collectors may copy it at full size.
            ::unlink(run.host_file(h.name, "lsa.raw").c_str());
        }
    }
    if (!state->shm_path.empty()) ::unlink(state->shm_path.c_str());
    note(run, "*", "down", 0);
    return run.clear_state();
}

Status lab_restart_host(const RunDir& run, const std::string& host, double timeout_s) {
    auto state = run.load_state();
    if (!state) return state.error();
    auto t = run.load_topology();
    if (!t) return t.error();
    const HostSpec* h = t->find_host(host);
    if (!h) return fail("no host '" + host + "' in this lab");
    if (run.host_running(host)) return fail("host " + host + " is still running (crash it first)");
    auto start = Clock::now();
    auto launch = launch_of(run, *t, *state);
    if (!launch) return launch.error();
    if (auto s = boot_host(run, *t, *launch, *h); !s) return s;
    if (auto s = wait_ready(run, {host}, timeout_s); !s) return s;
    // Even the master attaches: the namespace already lives in shared memory.
    if (auto s = provision_host(run, *t, *state, host, Role::Attach); !s) return s;
    note(run, host, "restart", seconds_since(start));
    return ok();
}

Status lab_crash_host(const RunDir& run, const std::string& host, const std::string& how) {
    std::string dir = absolute_path(run.host_dir(host));
    pid_t pid = run.host_pid(host);
    if (!process_alive(pid, dir)) return fail("host " + host + " is not running");
    if (how == "kill") {
        ::kill(pid, SIGKILL);
    } else if (how == "quit" || how == "reset") {
        auto r = host_qmp(run, host, how == "quit" ? "quit" : "system_reset", Json(), 5);
        if (!r) return r.error();
    } else {
        return fail("unknown crash mode '" + how + "' (quit, reset, kill)");
    }
    if (!wait_process_exit(pid, dir, 10)) stop_process(pid, dir, 2);
    note(run, host, "crash " + how, 0);
    return ok();
}

Status lab_status(const RunDir& run) {
    auto state = run.load_state();
    if (!state) return state.error();
    auto t = run.load_topology();
    if (!t) return t.error();
    std::printf("lab %s (%s, %s shared, %llu MiB) in %s\n", t->name.c_str(), model_name(t->model),
                state->shm_path.c_str(), static_cast<unsigned long long>(t->shared_size >> 20),
                run.root().c_str());
    for (const auto& h : t->hosts) {
        std::string vm = "dead", agent = "-";
        if (run.host_running(h.name)) {
            auto q = host_qmp(run, h.name, "query-status", Json(), 3);
            vm = q ? (*q)["status"].as_string() : "no-monitor";
            agent = agent_answers(run, h.name, 1.0) ? "answers" : "silent";
        }
        std::printf("  %-10s %-7s pid %-8d vm %-10s agent %s\n", h.name.c_str(),
                    h.master ? "master" : "client", run.host_pid(h.name), vm.c_str(),
                    agent.c_str());
    }
    return ok();
}

}  // namespace lab
