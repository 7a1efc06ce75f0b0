// Fuzzes <sonde/utf8.hpp> and the JSON-lines writer's string encoding with
// arbitrary bytes, as a process name or a crafted binary file can hold them.
// Properties: the repair is valid UTF-8, as long as repaired_size says, and
// leaves valid text (and its own output) unchanged; valid_prefix is the
// longest valid prefix; is_ascii implies is_valid; the JSON writer's line
// parses as JSON (nlohmann refuses invalid UTF-8) and carries exactly the
// repaired text.
#include "fuzz_input.hpp"

#include "records/record_json.hpp"
#include <sonde/utf8.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace {

using sonde::fuzz::require;
namespace utf8 = sonde::utf8;

void check_json_line(std::string_view bytes, const std::string &repaired) {
    const char *keys[] = {"value"};
    const sonde_record_info info{sizeof(sonde_record_info), SONDE_RECORD_EVENT, 0, 1, "fuzz", "", "", keys, "fuzz"};
    sonde_value value{};
    value.type = SONDE_VALUE_STRING;
    value.as.s = {bytes.data(), bytes.size()};
    const sonde_event event{sizeof(sonde_event), 1, &value, 0};
    std::string line;
    sonde::RecordJsonWriter().append_event(line, info, event);
    require(!line.empty() && line.back() == '\n' && line.find('\n') == line.size() - 1, "not exactly one line");
    const auto parsed = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    require(!parsed.is_discarded(), "the JSON line does not parse");
    require(parsed["attributes"]["value"] == repaired, "the JSON string is not the repaired text");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    const std::string_view bytes = sonde::fuzz::as_text(data, size);
    const std::string repaired = utf8::repaired(bytes);
    const bool valid = utf8::is_valid(bytes);
    const std::size_t prefix = utf8::valid_prefix(bytes);
    require(utf8::is_valid(repaired), "the repair is not valid UTF-8");
    require(utf8::repaired_size(bytes) == repaired.size(), "repaired_size disagrees with the repair");
    require(utf8::repaired(repaired) == repaired, "repairing twice changes the text");
    require(valid == (prefix == bytes.size()), "is_valid disagrees with valid_prefix");
    require(!valid || repaired == bytes, "valid text was changed");
    require(!utf8::is_ascii(bytes) || valid, "ASCII text called invalid");
    require(utf8::is_valid(bytes.substr(0, prefix)), "the valid prefix is not valid");
    if (prefix < bytes.size()) {
        const utf8::Sequence at = utf8::sequence_at(bytes, prefix);
        require(!at.valid && at.length >= 1 && at.length <= 3, "no invalid sequence where the valid prefix ends");
        require(repaired.compare(0, prefix, bytes.substr(0, prefix)) == 0 &&
                    repaired.compare(prefix, utf8::replacement.size(), utf8::replacement) == 0,
                "the repair does not keep the prefix and then replace");
    }
    check_json_line(bytes, repaired);
    return 0;
}
