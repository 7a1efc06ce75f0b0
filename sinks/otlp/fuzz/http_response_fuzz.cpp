// Fuzzes the reading of an OTLP receiver's HTTP answer (ResponseReader). The
// first byte picks the size of the pieces the rest arrives in; the answer
// read piece by piece must be the one read in a single piece (same outcome,
// status, body, Retry-After), the body stays within its 1 MiB limit, and a
// failure carries a reason.
#include "fuzz_input.hpp"

#include "http_response.hpp"

#include <string_view>

namespace {

using sonde::otlp::ResponseReader;

ResponseReader::State read_all(ResponseReader &reader, std::string_view bytes, std::size_t piece) {
    ResponseReader::State state = ResponseReader::State::need_more;
    while (state == ResponseReader::State::need_more && !bytes.empty()) {
        std::size_t n = std::min(piece, bytes.size());
        state = reader.feed(bytes.substr(0, n));
        bytes.remove_prefix(n);
    }
    return state == ResponseReader::State::need_more ? reader.finish_at_eof() : state;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    using sonde::fuzz::require;
    if (size == 0) return 0;
    std::size_t piece = data[0] % 64 + 1;
    std::string_view bytes = sonde::fuzz::as_text(data + 1, size - 1);
    ResponseReader whole, pieces;
    ResponseReader::State a = read_all(whole, bytes, bytes.size() + 1);
    ResponseReader::State b = read_all(pieces, bytes, piece);
    require(a == b, "outcome depends on how the bytes arrive");
    if (a == ResponseReader::State::failed) {
        require(!whole.error().empty(), "failure without a reason");
        return 0;
    }
    auto x = whole.result(), y = pieces.result();
    require(x.status == y.status && x.body == y.body && x.retry_after == y.retry_after,
            "answer depends on how the bytes arrive");
    require(x.status >= 0 && x.status <= 999, "status out of range");
    require(x.body.size() <= (1u << 20), "body above its limit");
    return 0;
}
