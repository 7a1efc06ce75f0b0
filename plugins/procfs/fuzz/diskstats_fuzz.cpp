// Fuzzes the /proc/diskstats parser. On success every device has a name,
// its byte counts are its line's sector counts times 512 exactly (no wrap,
// no out-of-range conversion), and every time is finite and not negative.
#include "fuzz_input.hpp"

#include "procfs_parsers.hpp"

#include "text/text.hpp"

#include <cmath>

namespace {

// The sectors read and written, from the line the device's name is in.
std::pair<std::uint64_t, std::uint64_t> sectors_of(std::string_view text, std::string_view device) {
    std::string_view rest = text.substr(static_cast<std::size_t>(device.data() - text.data()) + device.size());
    sonde::text::Fields fields(rest.substr(0, rest.find('\n')));
    std::string_view f;
    std::uint64_t column[7] = {};
    for (auto &value : column) {
        sonde::fuzz::require(fields.next(f), "device line shorter than parsed");
        value = sonde::text::number<std::uint64_t>(f).value_or(0);
    }
    return {column[2], column[6]};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    using sonde::fuzz::require;
    std::string_view text = sonde::fuzz::as_text(data, size);
    static std::vector<sonde::procfs::DiskStats> disks;
    if (sonde::procfs::parse_diskstats(text, disks)) return 0;
    for (const auto &d : disks) {
        require(!d.device.empty(), "device without a name");
        auto [read_sectors, written_sectors] = sectors_of(text, d.device);
        require(static_cast<sonde::fuzz::wide_uint>(read_sectors) * 512 == d.read_bytes, "read bytes not sectors * 512");
        require(static_cast<sonde::fuzz::wide_uint>(written_sectors) * 512 == d.written_bytes,
                "written bytes not sectors * 512");
        for (double seconds : {d.read_seconds, d.write_seconds, d.io_seconds, d.weighted_io_seconds})
            require(std::isfinite(seconds) && seconds >= 0, "time not a time");
    }
    return 0;
}
