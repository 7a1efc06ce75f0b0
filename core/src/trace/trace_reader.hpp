// Reading the file sink's files back, streamed: JSON lines line by line,
// the binary format frame by frame, so memory stays bounded whatever the
// file's size. The format is told apart by the first bytes. The first damage
// (a torn or corrupt record, a line longer than max_line_bytes) is reported
// once with file:line or the byte offset where it starts; every record before
// it is delivered.
#pragma once

#include <sonde/plugin_api.h>
#include "records/record_binary_reader.hpp"
#include "records/record_json.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace sonde::core::trace {

// What the summary needs of one record, from either format.
struct RecordView {
    std::string_view name;
    std::int64_t time_ns = 0;
    std::optional<double> latency_ns;  // events with a numeric latency_ns attribute
    // Histograms: the series (input and attributes, canonical JSON), bounds and bucket counts.
    std::string series;
    std::vector<double> bounds;
    std::vector<std::uint64_t> counts;
    bool histogram = false;
};

// What a reader hands each record to: its JSON line with the newline (dump),
// its view (summary), or both. Either may be empty.
struct RecordSink {
    std::function<void(std::string_view line)> line;
    std::function<void(const RecordView &)> view;
};

// A JSON line longer than this is damage (the file sink's longest lines, with
// large histograms, are tens of KiB).
inline constexpr std::size_t max_line_bytes = 4u << 20;

// Decodes one file's bytes handed in pieces of any size. Damage is written to
// `err` as one line starting with the file's name; the reader then ignores
// the rest.
class TraceReader {
public:
    TraceReader(std::string file, std::ostream &err, const RecordSink &sink);
    ~TraceReader();
    TraceReader(const TraceReader &) = delete;
    TraceReader &operator=(const TraceReader &) = delete;

    // False once the file is found damaged.
    bool feed(std::string_view bytes);
    // The end of the file; false when it was damaged (a torn last record).
    bool finish();

    std::uint64_t records() const { return records_; }
    // For a binary file: "binary format 1, host h, writer, created <time>";
    // empty for JSON lines or before the header was read.
    std::string origin() const;

private:
    enum class Format { unknown, json_lines, binary };
    bool decide_format(std::string_view bytes);
    bool feed_json(std::string_view bytes);
    bool json_line(std::string_view line);  // without its newline
    bool feed_binary(std::string_view bytes);
    bool report_binary(const std::optional<RecordBinaryReader::Damage> &damage);

    std::string file_;
    std::ostream &err_;
    const RecordSink &sink_;
    Format format_ = Format::unknown;
    bool damaged_ = false;
    std::uint64_t records_ = 0;
    std::string pending_;        // JSON lines: the start of an incomplete line; or bytes before the format is known
    std::uint64_t line_ = 0;     // JSON lines: number of the line being read (1-based once started)
    std::uint64_t offset_ = 0;   // JSON lines: file offset of pending_'s first byte
    std::unique_ptr<RecordBinaryReader> binary_;
    RecordJsonWriter writer_;
    std::string line_text_;
};

// Reads a whole file (checked first: a regular file, see checked_file.hpp)
// in bounded chunks into the sink. Returns false when the file could not be
// opened or was damaged (reported on err); *origin describes a binary file.
bool read_trace_file(const std::string &file, std::ostream &err, const RecordSink &sink, std::string *origin = nullptr);

// Unix nanoseconds -> "2026-11-21T23:10:16.637407839Z", as the JSON lines write it.
std::string format_time(std::int64_t ns);

}  // namespace sonde::core::trace
