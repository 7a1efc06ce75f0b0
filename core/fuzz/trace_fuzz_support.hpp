// Shared by the `sonde trace` reader fuzz targets: decodes an input through
// TraceReader whole and again in pieces, and requires both to agree (records,
// damage report, outcome): streaming must never change what is read.
#pragma once

#include "fuzz_input.hpp"

#include "trace/trace_reader.hpp"

#include <sstream>
#include <string>
#include <string_view>

namespace sonde::fuzz {

struct TraceOutcome {
    std::string lines, errors;
    bool ok = false;
    std::uint64_t views = 0;
};

inline TraceOutcome read_trace(std::string_view file, std::size_t piece) {
    TraceOutcome out;
    std::ostringstream err;
    core::trace::RecordSink sink{[&](std::string_view line) { out.lines += line; },
                                 [&](const core::trace::RecordView &) { ++out.views; }};
    core::trace::TraceReader reader("input", err, sink);
    bool ok = true;
    if (piece == 0) ok = reader.feed(file);
    for (std::size_t at = 0; piece && ok && at < file.size(); at += piece) ok = reader.feed(file.substr(at, piece));
    out.ok = ok && reader.finish();
    out.errors = err.str();
    return out;
}

// `piece` in 1..64 from the caller's choice.
inline void check_trace_streaming(std::string_view file, std::size_t piece) {
    const TraceOutcome whole = read_trace(file, 0), pieces = read_trace(file, piece);
    require(whole.lines == pieces.lines, "records differ when the input comes in pieces");
    require(whole.errors == pieces.errors, "damage report differs when the input comes in pieces");
    require(whole.ok == pieces.ok, "outcome differs when the input comes in pieces");
    require(whole.views == pieces.views, "record views differ when the input comes in pieces");
    require(whole.ok || !whole.errors.empty(), "a failed read without a report");
    require(!whole.ok || whole.errors.empty(), "a report on a read that succeeded");
}

}  // namespace sonde::fuzz
