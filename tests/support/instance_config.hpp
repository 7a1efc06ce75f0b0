// An instance's configuration as conf.d would give it, for tests that build
// instances by hand: 20 ms interval, a queue of 1000, located at test.toml:1:1.
#pragma once

#include "config/config.hpp"

#include <string>

inline sonde::core::InstanceConfig test_instance(sonde::core::InstanceRole role, const std::string &name,
                                                 const std::string &plugin) {
    sonde::core::InstanceConfig c;
    c.role = role;
    c.name = name;
    c.plugin = plugin;
    c.interval_ns = 20'000'000;
    c.queue_capacity = 1000;
    c.location = {"test.toml", 1, 1};
    return c;
}
