// Fuzzes the /proc/meminfo parser. On success every field is checked against
// its own line: the value is the number written, times 1024 when the unit is
// kB, exactly (no wrap-around for a huge number).
#include "fuzz_input.hpp"

#include "procfs_parsers.hpp"

#include "text/text.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    using sonde::fuzz::require;
    std::string_view text = sonde::fuzz::as_text(data, size);
    static sonde::procfs::MemInfo info;
    if (sonde::procfs::parse_meminfo(text, info)) return 0;
    require(info.find("MemTotal").has_value(), "parsed without MemTotal");
    for (const auto &field : info.fields) {
        // The name is a view into the text; the number follows its colon.
        std::string_view rest = text.substr(static_cast<std::size_t>(field.name.data() - text.data()) + field.name.size() + 1);
        sonde::text::Fields fields(rest.substr(0, rest.find('\n')));
        std::string_view number;
        require(fields.next(number), "field without its number");
        auto written = sonde::text::number<std::uint64_t>(number);
        require(written.has_value(), "field's number unreadable");
        sonde::fuzz::wide_uint expected = static_cast<sonde::fuzz::wide_uint>(*written) * (field.in_bytes ? 1024 : 1);
        require(expected == field.value, "value is not the number written (times 1024 for kB)");
    }
    return 0;
}
