// gzip (RFC 1952) compression for sinks that send or serve compressed
// bodies. Needs zlib (link ZLIB::ZLIB).
#pragma once

#include <zlib.h>

#include <string>

namespace sonde {

// Compresses `in` into `out` at `level` (Z_BEST_SPEED .. Z_BEST_COMPRESSION,
// or Z_DEFAULT_COMPRESSION); false (out unspecified) on failure.
inline bool gzip(const std::string &in, std::string &out, int level = Z_DEFAULT_COMPRESSION) {
    z_stream z{};
    if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return false;
    out.resize(deflateBound(&z, in.size()));
    z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = reinterpret_cast<Bytef *>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    int status = deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    return status == Z_STREAM_END;
}

}  // namespace sonde
