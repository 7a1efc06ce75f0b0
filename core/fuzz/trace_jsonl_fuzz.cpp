// Fuzzes `sonde trace` reading JSON lines: arbitrary bytes, read whole and in
// pieces of a size taken from the input's length; both must agree, and damage is
// always reported (core/fuzz/trace_fuzz_support.hpp).
#include "trace_fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    const std::size_t piece = 1 + size % 64;  // no byte spent on it: seeds are the file sink's files as written
    sonde::fuzz::check_trace_streaming(sonde::fuzz::as_text(data, size), piece);
    return 0;
}
