// Fuzzes `sonde trace` reading the binary format. Random changes would
// almost all stop at the first frame's CRC, so the target repairs the
// checksum of every frame whose length fits before reading: what is explored
// is the decoding of frame contents (definitions, shapes, deltas,
// histograms). An input is taken as binary when it starts with the magic
// number, else the magic number is put in front. Read whole and in pieces
// of a size taken from the input's length; both must agree.
#include "trace_fuzz_support.hpp"

#include "records/binary_format.hpp"

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    using namespace sonde::binary_format;
    const std::size_t piece = 1 + size % 64;  // no byte spent on it: seeds are the file sink's files as written
    std::string file(sonde::fuzz::as_text(data, size));
    if (file.compare(0, magic.size(), magic) != 0) file.insert(0, magic);
    for (std::size_t at = magic.size(); file.size() - at >= frame_header_bytes;) {
        const std::size_t length = get_u32le(file.data() + at);
        if (length > file.size() - at - frame_header_bytes) break;
        put_u32le(file.data() + at + 4, checksum(std::string_view(file).substr(at + frame_header_bytes, length)));
        at += frame_header_bytes + length;
    }
    sonde::fuzz::check_trace_streaming(file, piece);
    return 0;
}
