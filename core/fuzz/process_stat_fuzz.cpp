// Fuzzes the readers of /proc/self/stat and /proc/stat behind the
// process_* self-metrics (control/process_metrics.hpp). Besides not
// crashing: a parsed stat turns into a snapshot whose values are finite and
// not negative, whatever the numbers were.
#include "fuzz_input.hpp"

#include "control/process_metrics.hpp"

#include <cmath>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    using namespace sonde::core;
    std::string_view text = sonde::fuzz::as_text(data, size);
    auto boot = parse_boot_time(text);
    if (auto stat = parse_process_stat(text)) {
        ProcessSnapshot s = snapshot_from(*stat, 100, 4096, boot.value_or(0));
        for (const auto &family : process_families(s))
            for (const auto &sample : family.samples)
                sonde::fuzz::require(std::isfinite(sample.value) && sample.value >= 0, "a process metric is not a count");
    }
    return 0;
}
