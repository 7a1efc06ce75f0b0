// What a `when` condition is matched against: the agent's labels
// ([agent.labels]) and the built-in facts of the host it runs on.
#pragma once

#include <map>
#include <string>

namespace sonde::core {

using HostLabels = std::map<std::string, std::string>;

// The built-in facts, which [agent.labels] may not set: host.name (the
// hostname), os.type ("linux"), os.kernel (the kernel release), os.arch
// (the machine, e.g. "x86_64").
inline constexpr const char *host_fact_names[] = {"host.name", "os.type", "os.kernel", "os.arch"};
bool is_host_fact(const std::string &key);
HostLabels host_facts();

// Facts and labels in one map.
HostLabels merge_labels(HostLabels facts, const std::map<std::string, std::string> &labels);

// True when every key of `when` names a label whose value matches the glob
// (fnmatch rules). Otherwise false, with `why` saying which did not, e.g.
// `role = "web" does not match "db"` or `role is not set on this host`.
bool when_matches(const std::map<std::string, std::string> &when, const HostLabels &labels, std::string &why);

}  // namespace sonde::core
