// The merged view of a conf.d: every file's TOML tree merged into one, like
// systemd drop-ins (later files override keys, tables merge), with where
// each key and value was written, for errors with file:line:column.
#pragma once

#include "config/config.hpp"

#include <toml++/toml.h>

#include <map>
#include <string>

namespace sonde::core {

SourceLocation location_of(const toml::node &node, const std::string &fallback_file);

// Leaves point into the parsed documents, which must outlive the tree.
struct MergedNode {
    const toml::node *leaf = nullptr;  // set for non-table values
    std::map<std::string, MergedNode> table;
    SourceLocation where;      // the value (or table header)
    SourceLocation key_where;  // the key naming it
    bool is_table() const { return leaf == nullptr; }
};

// Merges `source` (parsed from `file`) into `target`.
void merge_into(MergedNode &target, const toml::table &source, const std::string &file);
// "a string", "an integer", ... for type errors.
const char *type_name(const MergedNode &n);
// A TOML value as JSON (dates and times as their TOML text).
nlohmann::json to_json(const toml::node &node);

}  // namespace sonde::core
