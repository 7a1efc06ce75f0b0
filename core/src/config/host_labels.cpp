#include "config/host_labels.hpp"

#include <fnmatch.h>
#include <sys/utsname.h>

#include <algorithm>
#include <iterator>

namespace sonde::core {

bool is_host_fact(const std::string &key) {
    return std::find(std::begin(host_fact_names), std::end(host_fact_names), key) != std::end(host_fact_names);
}

HostLabels host_facts() {
    HostLabels facts{{"os.type", "linux"}};
    utsname u{};
    if (uname(&u) == 0) {
        facts["host.name"] = u.nodename;
        facts["os.kernel"] = u.release;
        facts["os.arch"] = u.machine;
    }
    return facts;
}

HostLabels merge_labels(HostLabels facts, const std::map<std::string, std::string> &labels) {
    for (const auto &[key, value] : labels)
        if (!is_host_fact(key)) facts[key] = value;
    return facts;
}

bool when_matches(const std::map<std::string, std::string> &when, const HostLabels &labels, std::string &why) {
    for (const auto &[key, glob] : when) {
        auto it = labels.find(key);
        if (it == labels.end()) {
            why = key + " is not set on this host";
            return false;
        }
        if (fnmatch(glob.c_str(), it->second.c_str(), 0) != 0) {
            why = key + " = \"" + it->second + "\" does not match \"" + glob + "\"";
            return false;
        }
    }
    return true;
}

}  // namespace sonde::core
