// Where the agent's control socket is when [admin] socket does not say:
// /run/sonde/sonde.sock as root; else $XDG_RUNTIME_DIR/sonde/sonde.sock, or
// /tmp/sonde-<uid>/sonde.sock without XDG_RUNTIME_DIR. "off" means none.
#pragma once

#include <string>

namespace sonde::core {

std::string default_socket_path();
// The configured path, "" for "off", the default when unset.
std::string socket_path_for(const std::string &configured);

}  // namespace sonde::core
