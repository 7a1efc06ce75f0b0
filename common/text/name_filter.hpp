// Include/exclude shell globs over names that repeat (devices, interfaces),
// resolved once per distinct name and cached.
#pragma once

#include <fnmatch.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace sonde {

class NameFilter {
public:
    // An empty include list admits every name; exclude wins over include.
    NameFilter(std::vector<std::string> include, std::vector<std::string> exclude)
        : include_(std::move(include)), exclude_(std::move(exclude)) {}

    bool admits(std::string_view name) {
        auto it = cache_.find(name);
        if (it != cache_.end()) return it->second;
        std::string key(name);
        bool admitted = (include_.empty() || any(include_, key)) && !any(exclude_, key);
        cache_.emplace(std::move(key), admitted);
        return admitted;
    }

private:
    static bool any(const std::vector<std::string> &globs, const std::string &name) {
        for (const auto &g : globs)
            if (fnmatch(g.c_str(), name.c_str(), 0) == 0) return true;
        return false;
    }

    std::vector<std::string> include_, exclude_;
    std::map<std::string, bool, std::less<>> cache_;
};

}  // namespace sonde
