#include "control/control_socket.hpp"

#include <unistd.h>

#include <cstdlib>

namespace sonde::core {

std::string default_socket_path() {
    if (::geteuid() == 0) return "/run/sonde/sonde.sock";
    if (const char *runtime = std::getenv("XDG_RUNTIME_DIR"); runtime && *runtime)
        return std::string(runtime) + "/sonde/sonde.sock";
    return "/tmp/sonde-" + std::to_string(::geteuid()) + "/sonde.sock";
}

std::string socket_path_for(const std::string &configured) {
    if (configured == "off") return "";
    return configured.empty() ? default_socket_path() : configured;
}

}  // namespace sonde::core
