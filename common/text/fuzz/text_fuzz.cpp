// Fuzzes the SDK's /proc-text helpers ("text/text.hpp") every parser is
// built on: lines put back together give the text, fields are never empty
// and hold no blank, trim leaves no blank at either end, a number parses the
// whole field or nothing, and a CPU list is strictly ascending and bounded.
#include "fuzz_input.hpp"

#include "text/text.hpp"

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    using sonde::fuzz::require;
    namespace text = sonde::text;
    std::string_view input = sonde::fuzz::as_text(data, size);

    text::Lines lines(input);
    std::string rebuilt;
    std::string_view line, field;
    while (lines.next(line)) {
        rebuilt.append(line).push_back('\n');
        text::Fields fields(line);
        while (fields.next(field)) {
            require(!field.empty(), "empty field");
            for (char c : field) require(!text::Fields::is_blank(c), "blank inside a field");
            if (auto n = text::number<std::uint64_t>(field)) require(std::to_string(*n).size() <= field.size(), "number longer than its field");
            (void)text::number<unsigned>(field, 16);
            (void)text::decimal(field);
        }
        std::string_view trimmed = text::trim(line);
        require(trimmed.empty() || (!text::Fields::is_blank(trimmed.front()) && !text::Fields::is_blank(trimmed.back())),
                "trim left a blank");
    }
    if (!input.empty() && input.back() != '\n') rebuilt.pop_back();
    require(rebuilt == input, "lines do not give the text back");
    require(text::incomplete(input).has_value() != text::Lines::ends_cleanly(input), "incomplete disagrees");

    if (auto cpus = text::cpu_list(input, 4096)) {
        require(cpus->size() <= 4096, "more CPUs than the bound");
        for (std::size_t i = 0; i < cpus->size(); ++i)
            require((*cpus)[i] >= 0 && (*cpus)[i] < 4096 && (i == 0 || (*cpus)[i] > (*cpus)[i - 1]),
                    "CPU list not ascending within the bound");
    }
    return 0;
}
