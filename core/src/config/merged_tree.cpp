#include "config/merged_tree.hpp"

#include <sstream>

namespace sonde::core {

SourceLocation location_of(const toml::node &node, const std::string &fallback_file) {
    const auto &src = node.source();
    return {src.path ? *src.path : fallback_file, src.begin.line, src.begin.column};
}

void merge_into(MergedNode &target, const toml::table &source, const std::string &file) {
    for (const auto &[key, node] : source) {
        MergedNode &slot = target.table[std::string(key.str())];
        if (const toml::table *sub = node.as_table()) {
            if (!slot.is_table()) slot = MergedNode{};
            // A table only opened implicitly (e.g. `inputs` in [inputs.x]) keeps
            // the first real location it was given.
            if (slot.where.file.empty() || sub->source().begin.line != 0) slot.where = location_of(*sub, file);
            merge_into(slot, *sub, file);
        } else {
            slot = MergedNode{};
            slot.leaf = &node;
            slot.where = location_of(node, file);
        }
        slot.key_where = {file, key.source().begin.line, key.source().begin.column};
    }
}

const char *type_name(const MergedNode &n) {
    if (n.is_table()) return "a table";
    switch (n.leaf->type()) {
        case toml::node_type::string: return "a string";
        case toml::node_type::integer: return "an integer";
        case toml::node_type::floating_point: return "a float";
        case toml::node_type::boolean: return "a boolean";
        case toml::node_type::array: return "an array";
        case toml::node_type::date: return "a date";
        case toml::node_type::time: return "a time";
        case toml::node_type::date_time: return "a date-time";
        default: return "a value";
    }
}

nlohmann::json to_json(const toml::node &node) {
    switch (node.type()) {
        case toml::node_type::string: return *node.value<std::string>();
        case toml::node_type::integer: return *node.value<std::int64_t>();
        case toml::node_type::floating_point: return *node.value<double>();
        case toml::node_type::boolean: return *node.value<bool>();
        case toml::node_type::array: {
            nlohmann::json out = nlohmann::json::array();
            for (const auto &item : *node.as_array()) out.push_back(to_json(item));
            return out;
        }
        case toml::node_type::table: {
            nlohmann::json out = nlohmann::json::object();
            for (const auto &[k, v] : *node.as_table()) out[std::string(k.str())] = to_json(v);
            return out;
        }
        default: {  // dates and times: their TOML text
            std::ostringstream text;
            node.visit([&](const auto &v) { text << v; });
            return text.str();
        }
    }
}

}  // namespace sonde::core
