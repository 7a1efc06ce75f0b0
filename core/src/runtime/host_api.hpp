// The function table the host hands every plugin instance.
#pragma once

#include <sonde/plugin_api.h>

namespace sonde::core {

// Static table; each function forwards to the Instance behind the context.
const sonde_host_api &host_api();

}  // namespace sonde::core
