#include "control/runtime_overlay.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <sstream>

namespace sonde::core {

namespace {

bool is_key(const std::string &key) {
    if (key.empty() || key.front() == '.' || key.back() == '.' || key.find("..") != std::string::npos) return false;
    return std::all_of(key.begin(), key.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
    });
}

std::string quoted(const std::string &text) {
    std::ostringstream out;
    out << toml::value<std::string>(text);
    return out.str();
}

// The value as TOML: itself when it parses as one value, else a quoted string.
std::string toml_value(const std::string &value) {
    try {
        (void)toml::parse("v = " + value + "\n");
        return value.find('\n') == std::string::npos ? value : quoted(value);
    } catch (const toml::parse_error &) {
        return quoted(value);
    }
}

}  // namespace

bool parse_setting(const std::string &text, Setting &out, std::string &error) {
    std::size_t eq = text.find('=');
    if (eq == std::string::npos) {
        error = "--set " + text + ": expected key=value";
        return false;
    }
    out.key = text.substr(0, eq);
    out.value = text.substr(eq + 1);
    if (!is_key(out.key)) {
        error = "--set " + text + ": '" + out.key + "' is not a key (letters, digits, '_', '-', dots between parts)";
        return false;
    }
    return true;
}

void RuntimeOverlay::set(RuntimeChange change) {
    erase(change.qualified_name());
    changes_.push_back(std::move(change));
}

bool RuntimeOverlay::erase(const std::string &qualified_name) {
    auto it = std::find_if(changes_.begin(), changes_.end(),
                           [&](const RuntimeChange &c) { return c.qualified_name() == qualified_name; });
    if (it == changes_.end()) return false;
    changes_.erase(it);
    return true;
}

const RuntimeChange *RuntimeOverlay::find(const std::string &qualified_name) const {
    for (const auto &c : changes_)
        if (c.qualified_name() == qualified_name) return &c;
    return nullptr;
}

std::vector<std::string> RuntimeOverlay::expire(std::chrono::system_clock::time_point now) {
    std::vector<std::string> gone;
    for (auto it = changes_.begin(); it != changes_.end();) {
        if (it->expires && *it->expires <= now) {
            gone.push_back(it->qualified_name());
            it = changes_.erase(it);
        } else {
            ++it;
        }
    }
    return gone;
}

std::optional<std::pair<std::string, std::string>> RuntimeOverlay::document() const {
    if (changes_.empty()) return std::nullopt;
    std::string text;
    for (const auto &c : changes_) {
        text += "[" + c.qualified_name() + "]\nenabled = " + (c.enable ? "true" : "false") + "\n";
        if (!c.plugin.empty()) text += "plugin = " + quoted(c.plugin) + "\n";
        for (const auto &s : c.settings) text += s.key + " = " + toml_value(s.value) + "\n";
    }
    return std::make_pair(std::string(document_name), text);
}

std::set<std::string> RuntimeOverlay::forced() const {
    std::set<std::string> out;
    for (const auto &c : changes_)
        if (c.enable) out.insert(c.qualified_name());
    return out;
}

}  // namespace sonde::core
