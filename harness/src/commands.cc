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
    if (a.positional.size() != 1) return report(fail("usage: harness up TOPOLOGY [--run-dir DIR]"));
    UpOptions o;
    o.topology = a.positional[0];
    o.run_dir = run_dir_of(a);
    o.image_dir = a.get("--image");
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

int cmd_caps(const Args& a) {
    auto run = existing_run(a);
    if (!run) return report(run.error());
    auto host = host_of(a, *run);
    if (!host) return report(host.error());
    auto r = host_qmp(*run, *host, "query-commands", Json(), 10);
    if (!r) return report(r.error());
    std::set<std::string> names;
    for (const auto& c : r->items()) names.insert(c["name"].as_string());
    auto yes = [&](const char* n) { return names.count(n) ? "yes" : "no"; };
    std::printf("cxl-inject-poison        %s\n", yes("cxl-inject-poison"));
    std::printf("cxl-inject-uncorrectable-errors %s\n", yes("cxl-inject-uncorrectable-errors"));
    std::printf("human-monitor-command    %s (HMP mce: machine check into the guest)\n",
                yes("human-monitor-command"));
    std::printf("inject-nmi               %s\n", yes("inject-nmi"));
    std::printf("in-guest hwpoison        yes (madvise MADV_HWPOISON, debugfs hwpoison)\n");
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
            fail("usage: harness inject poison|notify-failure --host H "
                 "[--file PATH] --offset N [--method auto|cxl|mce|hwpoison] [--only] "
                 "[--mount DIR] [--reason TEXT]"));
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
