// Fuzzes the reading of an OTLP receiver's partial_success answer. The first
// byte's low bits choose the encoding (protobuf or JSON) and the signal
// (metrics or logs); the rest is the body. Neither encoding may crash, hang or
// leak on any body, and a body that did not parse rejects nothing.
#include "fuzz_input.hpp"

#include "otlp_encoding.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    using sonde::fuzz::require;
    if (size == 0) return 0;
    const bool json = data[0] & 1, metrics = data[0] & 2;
    std::string body(reinterpret_cast<const char *>(data) + 1, size - 1);
    sonde::otlp::PartialSuccess p = sonde::otlp::parse_partial_success(body, json, metrics);
    require(p.parsed || (p.rejected == 0 && p.message.empty()), "an unreadable body rejected records");
    return 0;
}
