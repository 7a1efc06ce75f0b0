// The exceptions a plugin throws from its constructor or start(); the export
// glue (sonde/sdk/export.hpp) turns them into the ABI's status codes.
#pragma once

#include <stdexcept>
#include <string>

namespace sonde {

// The instance's configuration is wrong: SONDE_ERR_CONFIG. `key` is the dotted
// path inside the instance's table ("devices.include"), or empty for the table
// as a whole; the host shows the error at that key's file:line:column.
class ConfigError : public std::runtime_error {
public:
    ConfigError(std::string key, const std::string &message)
        : std::runtime_error(message), key_(std::move(key)) {}
    const std::string &key() const noexcept { return key_; }

private:
    std::string key_;
};

// The source, privilege or kernel feature the instance needs is missing:
// SONDE_ERR_UNAVAILABLE. Any other exception is SONDE_ERR_INTERNAL.
class Unavailable : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

}  // namespace sonde
