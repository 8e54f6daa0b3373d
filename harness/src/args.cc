#include "args.h"

#include <cstddef>

namespace lab {

namespace {
const std::set<std::string> kValueOptions = {
    "--run-dir", "--image",  "--timeout", "--host",   "--how",  "--lines",  "--stdin",   "--file",
    "--offset",  "--method", "--mount",   "--reason", "--qemu", "--kernel", "--topology"};
const std::set<std::string> kFlags = {"--keep-on-failure", "--help", "-h",       "--transcript",
                                      "--no-transcript",   "--only", "--version"};
}  // namespace

std::string Args::get(const std::string& name, const std::string& fallback) const {
    auto it = options.find(name);
    return it == options.end() ? fallback : it->second;
}

Result<Args> parse_args(const std::vector<std::string>& words) {
    Args a;
    for (size_t i = 0; i < words.size(); ++i) {
        const std::string& w = words[i];
        if (w == "--") {
            a.has_rest = true;
            a.rest.assign(words.begin() + static_cast<long>(i) + 1, words.end());
            break;
        }
        auto eq = w.find('=');
        std::string name = w.substr(0, eq);
        if (kValueOptions.count(name)) {
            if (eq != std::string::npos) {
                a.options[name] = w.substr(eq + 1);
            } else if (i + 1 < words.size()) {
                a.options[name] = words[++i];
            } else {
                return fail(name + " needs a value");
            }
        } else if (kFlags.count(w)) {
            a.flags.insert(w == "-h" ? "--help" : w);
        } else if (w.size() > 1 && w[0] == '-' && w[1] == '-') {
            return fail("unknown option " + w + " (see harness --help)");
        } else {
            a.positional.push_back(w);
        }
    }
    return a;
}

}  // namespace lab
