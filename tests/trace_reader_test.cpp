// `sonde trace` streams: records decoded from pieces of any size are those of
// the whole file, with the same damage reports; a line past the bound, a
// hostile file's definitions and its number of distinct names are bounded;
// inputs that are not regular files are refused by name.
#include "temp_dir.hpp"
#include "trace/trace.hpp"
#include "trace/latency_quantiles.hpp"
#include "trace/trace_reader.hpp"

#include "records/record_binary_reader.hpp"
#include "records/record_binary_writer.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
using namespace sonde::core;

using sonde_test::TempDir;

namespace {

const char *const keys[] = {"pid", "comm", "latency_ns"};
const sonde_record_info slow_info{sizeof(sonde_record_info), SONDE_RECORD_EVENT, 0, 3, "syscall.slow", "", "", keys,
                                  "syscall"};

// A binary file of `frames` frames of `per_frame` events each.
std::string binary_file(int frames, int per_frame) {
    sonde::RecordBinaryWriter writer("host", "test");
    std::string body;
    std::deque<std::string> comms;  // grows without moving: the values point into its strings
    for (int f = 0; f < frames; ++f) {
        std::vector<std::array<sonde_value, 3>> values(per_frame);
        std::vector<sonde_event> events;
        for (int i = 0; i < per_frame; ++i) {
            comms.push_back("comm-" + std::to_string((f * per_frame + i) % 5));
            values[i][0].type = SONDE_VALUE_INT;
            values[i][0].as.i = 100 + i;
            values[i][1].type = SONDE_VALUE_STRING;
            values[i][1].as.s = sonde_str{comms.back().data(), comms.back().size()};
            values[i][2].type = SONDE_VALUE_UINT;
            values[i][2].as.u = 1000u * static_cast<unsigned>(i + 1);
            events.push_back(sonde_event{sizeof(sonde_event), 3, values[i].data(), 1'700'000'000'000'000'000 + f * 1000 + i});
        }
        sonde_record_group group{sizeof(sonde_record_group), 0, &slow_info, nullptr, events.data(), events.size()};
        sonde_batch batch{sizeof(sonde_batch), 0, &group, 1};
        writer.append(batch);
        writer.seal(body);
    }
    return writer.file_preamble(body, 1) + body;
}

struct Decoded {
    std::string lines, errors;
    bool ok = false;
    bool operator==(const Decoded &) const = default;
};

// Feeds `file` to a TraceReader in pieces of `piece` bytes (0: whole).
Decoded decode(std::string_view file, std::size_t piece) {
    Decoded out;
    std::ostringstream err;
    trace::RecordSink sink{[&](std::string_view line) { out.lines += line; }, nullptr};
    trace::TraceReader reader("f", err, sink);
    bool ok = true;
    if (piece == 0) ok = reader.feed(file);
    for (std::size_t at = 0; piece && at < file.size() && ok; at += piece) ok = reader.feed(file.substr(at, piece));
    out.ok = ok && reader.finish();
    out.errors = err.str();
    return out;
}


}  // namespace

TEST_CASE("binary: pieces of any size decode to the records and damage of the whole file, at every cut and flipped byte") {
    const std::string file = binary_file(3, 4);
    const Decoded whole = decode(file, 0);
    REQUIRE(whole.ok);
    REQUIRE(whole.lines.find("\"comm\":\"comm-1\"") != std::string::npos);
    for (std::size_t piece : {1, 3, 8, 9, 64, 100000}) CHECK(decode(file, piece) == whole);
    for (std::size_t cut = 0; cut < file.size(); ++cut) {
        const std::string_view truncated = std::string_view(file).substr(0, cut);
        const Decoded expected = decode(truncated, 0);  // fine at frame ends, else torn
        for (std::size_t piece : {1, 5, 13}) CHECK(decode(truncated, piece) == expected);
    }
    for (std::size_t at = 0; at < file.size(); ++at) {
        std::string damaged = file;
        damaged[at] = static_cast<char>(damaged[at] ^ 0x41);
        const Decoded expected = decode(damaged, 0);
        for (std::size_t piece : {1, 7}) CHECK(decode(damaged, piece) == expected);
    }
}

TEST_CASE("binary: the reader's own incremental interface reports the same offsets as read()") {
    const std::string file = binary_file(2, 3);
    const std::string cut = file.substr(0, file.size() - 5);
    sonde::RecordBinaryReader whole, pieces;
    auto ignore = [](const sonde_record_info &, const sonde_metric_point *, const sonde_event *) {};
    auto expected = whole.read(cut, ignore);
    REQUIRE(expected);
    for (char c : cut) REQUIRE_FALSE(pieces.feed(std::string_view(&c, 1), ignore));
    auto got = pieces.finish();
    REQUIRE(got);
    CHECK(got->offset == expected->offset);
    CHECK(got->what == expected->what);
    CHECK(got->what.rfind("torn frame (", 0) == 0);
}

TEST_CASE("binary: a file defining more than 64 MiB of strings is damage, not a reader growing without bound") {
    using namespace sonde::binary_format;
    std::string file(magic);
    auto frame = [&](const std::string &payload) {
        char header[frame_header_bytes];
        put_u32le(header, static_cast<std::uint32_t>(payload.size()));
        put_u32le(header + 4, checksum(payload));
        file.append(header, sizeof header);
        file += payload;
    };
    std::string payload;
    for (std::uint64_t v : {0, 0, 0, 0, static_cast<int>(op_header), 1}) put_varint(payload, v);
    put_varint(payload, 1), payload += "h", put_varint(payload, 1), payload += "w", put_varint(payload, 0);
    frame(payload);
    const std::string text(1 << 20, 's');
    std::uint64_t strings = 0;
    for (int f = 0; f < 70; ++f) {  // 70 frames of 1 MiB strings
        payload.clear();
        for (std::uint64_t v : {strings, std::uint64_t{0}, std::uint64_t{0}, std::uint64_t{0}}) put_varint(payload, v);
        put_varint(payload, op_string);
        put_varint(payload, text.size());
        payload += text;
        ++strings;
        frame(payload);
    }
    sonde::RecordBinaryReader reader;
    auto damage = reader.read(file, [](const sonde_record_info &, const sonde_metric_point *, const sonde_event *) {});
    REQUIRE(damage);
    CHECK(damage->what == "corrupt frame (definitions exceed 64 MiB)");
}

TEST_CASE("JSON lines: pieces of any size give the whole file's lines and damage, at every cut") {
    const std::string file = decode(binary_file(2, 3), 0).lines;
    const Decoded whole = decode(file, 0);
    REQUIRE(whole.ok);
    CHECK(whole.lines == file);
    for (std::size_t piece : {1, 2, 7, 8, 9, 50}) CHECK(decode(file, piece) == whole);
    for (std::size_t cut = 0; cut < file.size(); cut += 3) {
        const std::string_view truncated = std::string_view(file).substr(0, cut);
        const Decoded expected = decode(truncated, 0);
        for (std::size_t piece : {1, 6}) CHECK(decode(truncated, piece) == expected);
    }
    const Decoded torn = decode(std::string_view(file).substr(0, file.size() - 1), 4);
    CHECK(torn.errors.find("f:6: torn record at byte ") == 0);
    CHECK(torn.errors.find("(no final newline); 5 records read before it\n") != std::string::npos);
}

TEST_CASE("JSON lines: a line longer than 4 MiB is damage at its line, and is never held whole") {
    const std::string good = decode(binary_file(1, 1), 0).lines;
    const std::string huge(5u << 20, 'x');
    for (std::size_t piece : {std::size_t{0}, std::size_t{65536}}) {
        const Decoded d = decode(good + huge + "\n" + good, piece);
        CHECK_FALSE(d.ok);
        CHECK(d.lines == good);
        CHECK(d.errors == "f:2: line longer than 4 MiB at byte " + std::to_string(good.size()) +
                              "; 1 records read before it\n");
    }
    // Fed a piece at a time, reading stops once the bound is passed.
    std::ostringstream err;
    trace::RecordSink sink{};
    trace::TraceReader reader("f", err, sink);
    const std::string piece(1u << 20, 'y');
    int fed = 0;
    while (reader.feed(piece) && fed < 100) ++fed;
    CHECK(fed == 4);
}

TEST_CASE("trace inputs that are not regular files are refused with what they are") {
    TempDir dir;
    REQUIRE(::mkfifo((dir.path / "fifo").c_str(), 0600) == 0);
    std::ostringstream out, err;
    CHECK(trace_dump({(dir.path / "fifo").string(), dir.path.string(), "/dev/zero"}, out, err) == 1);
    CHECK(err.str() == (dir.path / "fifo").string() + ": is a FIFO, not a regular file\n" + dir.path.string() +
                           ": is a directory, not a regular file\n/dev/zero: is a character device, not a regular file\n");
}

TEST_CASE("trace dump streams a file of many MiB to the same lines") {
    TempDir dir;
    const std::string file = binary_file(200, 500);  // 100,000 records
    std::ofstream(dir.path / "a.bin", std::ios::binary) << file;
    const std::string lines = decode(file, 0).lines;
    std::ofstream(dir.path / "a.jsonl", std::ios::binary) << lines;
    REQUIRE(lines.size() > (8u << 20));
    std::ostringstream out, err;
    CHECK(trace_dump({(dir.path / "a.bin").string(), (dir.path / "a.jsonl").string()}, out, err) == 0);
    CHECK(err.str() == "");
    CHECK(out.str() == lines + lines);
}

TEST_CASE("trace summary: distinct names beyond the cap are counted in the total and said") {
    TempDir dir;
    {
        std::ofstream f(dir.path / "names.jsonl");
        for (int i = 0; i < 10'005; ++i)
            f << R"({"record":"event","name":"n)" << i << R"(","time":"2026-11-21T23:10:16.000000000Z"})" << '\n';
    }
    std::ostringstream out, err;
    CHECK(trace_summary({(dir.path / "names.jsonl").string()}, out, err) == 0);
    CHECK(out.str().rfind("10005 records from", 0) == 0);
    CHECK(out.str().find("5 records of names beyond the first 10000 distinct names are counted in the total only\n") !=
          std::string::npos);
}

TEST_CASE("latency quantiles stay within 1% when samples are folded into buckets") {
    trace::LatencyQuantiles q;
    for (int i = 1; i <= 100'000; ++i) q.add_sample(i * 1e-6);  // 1 us .. 100 ms, uniform
    CHECK(q.approximate());
    CHECK(q.quantile(0.5) == doctest::Approx(0.05).epsilon(0.01));
    CHECK(q.quantile(0.99) == doctest::Approx(0.099).epsilon(0.01));
    CHECK(q.quantile(1.0) == doctest::Approx(0.1).epsilon(0.01));
    trace::LatencyQuantiles exact;
    for (int i = 1; i <= 100; ++i) exact.add_sample(i);
    CHECK_FALSE(exact.approximate());
    CHECK(exact.quantile(0.5) == 50);
}

TEST_CASE("summary: crafted JSON fields are corrupt records at their line, never a crash (fuzz findings)") {
    auto summary_errors = [](const std::string &text) {
        std::ostringstream err;
        trace::RecordSink sink{nullptr, [](const trace::RecordView &) {}};
        trace::TraceReader reader("f", err, sink);
        bool ok = reader.feed(text) && reader.finish();
        return std::make_pair(ok, err.str());
    };
    // A year far out of range overflowed the nanosecond arithmetic (UBSan); now the time is just unknown.
    CHECK(summary_errors(R"({"name":"x","time":"-30171870126-11-22T12:57:54.176703410Z"})" "\n").first);
    CHECK(summary_errors(R"({"name":"x","time":"9999-11-22T12:57:54.176703410Z"})" "\n").first);
    // Wrong types threw out of the reader and ended `sonde trace summary` with std::terminate.
    for (const char *line : {R"({"name":"x","time":"t","histogram":1})", R"({"name":"x","time":"t","record":2})",
                             R"({"name":"x","time":"t","histogram":{"bounds":[1],"counts":[-1,2]}})",
                             R"({"name":"x","time":"t","histogram":{"bounds":[1],"counts":[1e300,2]}})",
                             // A histogram without bounds or counts: [] on a const object's missing key (UB)
                             R"({"name":"x","time":"t","histogram":{}})", R"({"name":"x","time":"t","histogram":{"bounds":[1]}})"}) {
        auto [ok, errors] = summary_errors(std::string(line) + "\n");
        CHECK_FALSE(ok);
        CHECK(errors.rfind("f:1: corrupt record (", 0) == 0);
    }
}
