#include "commands.h"

#include <dirent.h>
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "console.h"
#include "files.h"
#include "host_access.h"
#include "inject.h"
#include "lab.h"
#include "lab_features.h"
#include "provision.h"
#include "stack.h"
#include "text_util.h"
#include "topology.h"

#ifndef HARNESS_TOPOLOGY_DIR
#define HARNESS_TOPOLOGY_DIR "topologies"
#endif

namespace lab {

namespace {

int report(const Error& e) {
    std::fprintf(stderr, "harness: %s\n", e.message.c_str());
    return kExitHarnessError;
}

int report(const Status& s) {
    return s ? 0 : report(s.error());
}

std::string run_dir_of(const Args& a) {
    return a.get("--run-dir", RunDir::default_path());
}

Result<RunDir> existing_run(const Args& a) {
    return RunDir::open(run_dir_of(a), false);
}

Result<std::string> host_of(const Args& a, const RunDir& run) {
    std::string host = a.get("--host");
    if (host.empty()) return fail("--host H is required");
    auto t = run.load_topology();
    if (!t) return t.error();
    if (!t->find_host(host)) {
        std::vector<std::string> names;
        for (const auto& h : t->hosts) names.push_back(h.name);
        return fail("no host '" + host + "' in lab " + t->name + " (hosts: " + join(names, ", ") +
                    ")");
    }
    return host;
}

double timeout_of(const Args& a, double fallback) {
    auto v = a.get("--timeout");
    if (v.empty()) return fallback;
    return std::strtod(v.c_str(), nullptr);
}

std::string command_text(const Args& a) {
    const auto& words = a.has_rest ? a.rest : a.positional;
    if (words.size() == 1) return words[0];
    std::vector<std::string> quoted;
    for (const auto& w : words) quoted.push_back(shell_quote(w));
    return join(quoted, " ");
}

}  // namespace

int cmd_up(const Args& a) {
    if (a.positional.size() != 1)
        return report(fail(
            "usage: harness up TOPOLOGY [--qemu system|10|11|PATH] [--kernel 6.1|6.12|VERSION]"));
    UpOptions o;
    o.topology = a.positional[0];
    o.run_dir = run_dir_of(a);
    o.image_root = a.get("--image");
    o.qemu = a.get("--qemu");
    o.kernel = a.get("--kernel");
    o.boot_timeout_s = timeout_of(a, o.boot_timeout_s);
    o.keep_on_failure = a.flag("--keep-on-failure");
    return report(lab_up(o));
}

int cmd_down(const Args& a) {
    auto run = existing_run(a);
    if (!run) return report(run.error());
    return report(lab_down(*run));
}

int cmd_status(const Args& a) {
    auto run = existing_run(a);
    if (!run) return report(run.error());
    return report(lab_status(*run));
}

int cmd_hosts(const Args& a) {
    auto run = existing_run(a);
    if (!run) return report(run.error());
    auto t = run->load_topology();
    if (!t) return report(t.error());
    std::printf("%s master\n", t->master().name.c_str());
    for (const auto& h : t->hosts) {
        if (!h.master) std::printf("%s client\n", h.name.c_str());
    }
    return 0;
}

int cmd_topologies(const Args&) {
    for (std::string dir : {std::string("topologies"), std::string(HARNESS_TOPOLOGY_DIR)}) {
        DIR* d = ::opendir(dir.c_str());
        if (!d) continue;
        std::vector<std::string> names;
        while (dirent* e = ::readdir(d)) {
            std::string n = e->d_name;
            if (n.size() > 5 && n.substr(n.size() - 5) == ".conf") names.push_back(dir + "/" + n);
        }
        ::closedir(d);
        std::sort(names.begin(), names.end());
        for (const auto& path : names) {
            auto t = load_topology_file(path);
            std::printf("%-10s %s\n", t ? t->name.c_str() : path.c_str(),
                        t ? t->description.c_str() : t.error().message.c_str());
        }
        return 0;
    }
    return report(fail("no topologies/ folder found"));
}

int cmd_exec(const Args& a) {
    auto run = existing_run(a);
    if (!run) return report(run.error());
    auto host = host_of(a, *run);
    if (!host) return report(host.error());
    if (!a.has_rest || a.rest.empty())
        return report(fail("usage: harness exec --host H -- CMD..."));
    ExecOptions o;
    o.timeout_s = timeout_of(a, o.timeout_s);
    if (a.options.count("--stdin")) {
        auto in =
            a.get("--stdin") == "-"
                ? Result<std::string>(std::string(std::istreambuf_iterator<char>(std::cin), {}))
                : read_file(a.get("--stdin"));
        if (!in) return report(in.error());
        o.input = *in;
    }
    auto r = guest_exec(*run, *host, command_text(a), o);
    if (!r) return report(r.error());
    std::fwrite(r->out.data(), 1, r->out.size(), stdout);
    std::fflush(stdout);
    std::fwrite(r->err.data(), 1, r->err.size(), stderr);
    return r->exit_code;
}

int cmd_qmp(const Args& a) {
    auto run = existing_run(a);
    if (!run) return report(run.error());
    auto host = host_of(a, *run);
    if (!host) return report(host.error());
    if (a.positional.empty() || a.positional.size() > 2)
        return report(fail("usage: harness qmp --host H COMMAND ['{\"arg\": ...}']"));
    Json args;
    if (a.positional.size() == 2) {
        auto parsed = parse_json(a.positional[1]);
        if (!parsed) return report(parsed.error());
        args = *parsed;
    }
    auto r = host_qmp(*run, *host, a.positional[0], args, timeout_of(a, 10));
    if (!r) return report(r.error());
    std::printf("%s\n", r->dump().c_str());
    return 0;
}

int cmd_hmp(const Args& a) {
    auto run = existing_run(a);
    if (!run) return report(run.error());
    auto host = host_of(a, *run);
    if (!host) return report(host.error());
    std::vector<std::string> words = a.positional;
    words.insert(words.end(), a.rest.begin(), a.rest.end());
    if (words.empty()) return report(fail("usage: harness hmp --host H \"monitor command\""));
    auto r = host_hmp(*run, *host, join(words, " "), timeout_of(a, 10));
    if (!r) return report(r.error());
    std::fputs(r->c_str(), stdout);
    return 0;
}

int cmd_stop_cont(const Args& a, const char* qmp_command) {
    auto run = existing_run(a);
    if (!run) return report(run.error());
    auto host = host_of(a, *run);
    if (!host) return report(host.error());
    auto r = host_qmp(*run, *host, qmp_command, Json(), timeout_of(a, 10));
    return r ? 0 : report(r.error());
}

int cmd_crash(const Args& a) {
    auto run = existing_run(a);
    if (!run) return report(run.error());
    auto host = host_of(a, *run);
    if (!host) return report(host.error());
    return report(lab_crash_host(*run, *host, a.get("--how", "quit")));
}

int cmd_restart(const Args& a) {
    auto run = existing_run(a);
    if (!run) return report(run.error());
    auto host = host_of(a, *run);
    if (!host) return report(host.error());
    return report(lab_restart_host(*run, *host, timeout_of(a, 240)));
}

// With a lab up (and no --qemu/--kernel): its stack, plus what the host's
// guest kernel shows live. Otherwise the stack named by the options.
int cmd_caps(const Args& a) {
    auto run = RunDir::open(run_dir_of(a), false);
    bool lab_up = run && run->has_lab() && a.get("--qemu").empty() && a.get("--kernel").empty();
    Topology t;
    std::string qemu = a.get("--qemu", t.qemu), kernel = a.get("--kernel", t.kernel), image;
    if (lab_up) {
        auto st = run->load_state();
        auto topo = run->load_topology();
        if (!st) return report(st.error());
        if (!topo) return report(topo.error());
        t = *topo;
        qemu = st->qemu_choice;
        kernel = st->kernel;
        image = st->image_dir;
    } else {
        if (!a.get("--topology").empty()) {
            auto path = find_topology(a.get("--topology"));
            if (!path) return report(path.error());
            auto topo = load_topology_file(*path);
            if (!topo) return report(topo.error());
            t = *topo;
            qemu = a.get("--qemu", t.qemu);
            kernel = a.get("--kernel", t.kernel);
        }
        auto img = resolve_image(a.get("--image", default_image_root()), kernel);
        if (!img) return report(img.error());
        image = *img;
    }
    std::string scratch = lab_up ? run->path("probe") : make_temp_dir("harness-caps");
    auto stack = open_stack(qemu, kernel, image, scratch);
    if (!lab_up) remove_tree(scratch);
    if (!stack) return report(stack.error());
    std::fputs(describe_stack(*stack, decide_features(t, *stack)).c_str(), stdout);
    if (!t.name.empty()) {
        auto supported = check_stack_supports(t, *stack);
        std::printf("\nTopology %s: %s\n", t.name.c_str(),
                    supported ? "supported" : supported.error().message.c_str());
    }
    if (lab_up) {
        std::string host = a.get("--host", t.master().name);
        auto r = guest_exec(*run, host, kGuestCapsProbe, ExecOptions{});
        if (!r) return report(r.error());
        std::printf("\nGuest %s (live)\n%s", host.c_str(), r->out.c_str());
    }
    return 0;
}

int cmd_logs(const Args& a) {
    auto run = existing_run(a);
    if (!run) return report(run.error());
    long lines = static_cast<long>(parse_uint(a.get("--lines", "0")).value_or(0));
    auto show = [&](const std::string& title, const std::string& path) {
        auto text = read_file(path);
        std::printf("==> %s (%s) <==\n", title.c_str(), path.c_str());
        if (!text) return;
        auto all = split(*text, '\n');
        size_t from = lines > 0 && all.size() > size_t(lines) ? all.size() - size_t(lines) : 0;
        for (size_t i = from; i < all.size(); ++i) std::printf("%s\n", all[i].c_str());
    };
    if (a.flag("--transcript")) {
        show("transcript", run->path("transcript.log"));
        return 0;
    }
    auto t = run->load_topology();
    if (!t) return report(t.error());
    for (const auto& h : t->hosts) {
        if (a.get("--host").empty() || a.get("--host") == h.name)
            show(h.name + " console", run->host_file(h.name, "console.log"));
    }
    return 0;
}

int cmd_inject(const Args& a) {
    auto run = existing_run(a);
    if (!run) return report(run.error());
    auto host = host_of(a, *run);
    if (!host) return report(host.error());
    if (a.positional.size() != 1)
        return report(
            fail("usage: harness inject poison|notify-failure|general-media-event|"
                 "uncorrectable-error --host H [--file PATH] --offset N "
                 "[--method auto|mce|hwpoison|cxl-poison-list] [--only] [--mount DIR] "
                 "[--reason TEXT]"));
    auto offset = parse_size(a.get("--offset", "0"));
    if (!offset) return report(fail("bad --offset " + a.get("--offset")));
    InjectRequest req;
    req.host = *host;
    req.kind = a.positional[0];
    req.file = a.get("--file");
    req.offset = *offset;
    req.method = a.get("--method", "auto");
    req.only_host = a.flag("--only");
    req.mount = a.get("--mount", req.mount);
    req.reason = a.get("--reason", req.reason);
    return report(inject_fault(*run, req));
}

int cmd_console(const Args& a) {
    auto run = existing_run(a);
    if (!run) return report(run.error());
    auto host = host_of(a, *run);
    if (!host) return report(host.error());
    if (a.rest.empty() && a.positional.empty()) return report(console_attach(*run, *host));
    auto r = console_run(*run, *host, command_text(a), timeout_of(a, 30));
    return r ? *r : report(r.error());
}

}  // namespace lab
