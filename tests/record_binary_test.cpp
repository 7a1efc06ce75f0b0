// The binary record format: every value type survives a round trip and comes
// back as the same JSON line; each file decodes alone after a rotation; a file
// cut at any byte or damaged in any byte is reported, never misread.
#include "records/record_binary_reader.hpp"
#include "records/record_binary_writer.hpp"
#include "records/record_json.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace {

sonde_value int_value(std::int64_t v) {
    sonde_value out{};
    out.type = SONDE_VALUE_INT;
    out.as.i = v;
    return out;
}
sonde_value uint_value(std::uint64_t v) {
    sonde_value out{};
    out.type = SONDE_VALUE_UINT;
    out.as.u = v;
    return out;
}
sonde_value double_value(double v) {
    sonde_value out{};
    out.type = SONDE_VALUE_DOUBLE;
    out.as.d = v;
    return out;
}
sonde_value bool_value(bool v) {
    sonde_value out{};
    out.type = SONDE_VALUE_BOOL;
    out.as.b = v;
    return out;
}
sonde_value string_value(const std::string &s) {
    sonde_value out{};
    out.type = SONDE_VALUE_STRING;
    out.as.s = sonde_str{s.data(), s.size()};
    return out;
}

const char *const event_keys[] = {"pid", "comm", "latency_ns", "ratio", "ok", "note"};
const char *const metric_keys[] = {"cpu", "state"};
const sonde_record_info event_info{sizeof(sonde_record_info), SONDE_RECORD_EVENT, 0, 6, "syscall.slow", "", "",
                                   event_keys, "syscall"};
const sonde_record_info gauge_info{sizeof(sonde_record_info), SONDE_RECORD_METRIC, SONDE_METRIC_GAUGE, 2,
                                   "system.cpu.utilization", "1", "", metric_keys, "procfs"};
const sonde_record_info counter_info{sizeof(sonde_record_info), SONDE_RECORD_METRIC, SONDE_METRIC_COUNTER, 2,
                                     "system.cpu.time", "s", "", metric_keys, "procfs"};
const sonde_record_info histogram_info{sizeof(sonde_record_info), SONDE_RECORD_METRIC, SONDE_METRIC_HISTOGRAM, 0,
                                       "sched.latency", "s", "", nullptr, "sched"};

// A batch of every kind of record, different for each `round`, owning its storage.
struct Batch {
    std::vector<std::string> strings;
    std::vector<std::vector<sonde_value>> values;
    std::vector<sonde_event> events;
    std::vector<sonde_metric_point> gauges, counters, histograms;
    std::vector<double> bounds;
    std::vector<std::uint64_t> counts;
    sonde_histogram histogram{};
    std::vector<sonde_record_group> groups;
    sonde_batch batch{};

    explicit Batch(int round) {
        const std::int64_t t = 1'763'770'000'123'456'789 + round * 1'000'000'007ll;
        strings = {"python3", round % 2 ? "kworker/0:1" : "sh", std::string(300, 'x'), "quote \" and \n newline",
                   "", "cpu" + std::to_string(round), "user"};
        values.reserve(16);
        for (int i = 0; i < 5; ++i) {
            const double ratios[] = {0.25, -1.5, std::nan(""), std::numeric_limits<double>::infinity(), 1e-300};
            values.push_back({int_value(4000 + i * (round + 1) - 9000 * (i % 2)), string_value(strings[i % 2]),
                              uint_value(10'000'000ull + static_cast<std::uint64_t>(i) * 7'777'777ull),
                              double_value(ratios[i]), bool_value((i + round) % 3 == 0),
                              string_value(strings[2 + i % 3])});
            events.push_back(sonde_event{sizeof(sonde_event), 6, nullptr, t + i * 12'345'678});
        }
        events[3].attribute_count = 2;  // fewer attributes than declared
        values.push_back({string_value(strings[5]), string_value(strings[6])});
        values.push_back({string_value(strings[5]), int_value(-7)});  // another type, another shape
        for (std::size_t i = 0; i < events.size(); ++i) events[i].attributes = values[i].data();
        sonde_metric_point gauge{};
        gauge.struct_size = sizeof gauge;
        gauge.attribute_count = 2;
        gauge.attributes = values[5].data();
        gauge.time_ns = t;
        gauge.value = double_value(0.125 * round);
        gauges.push_back(gauge);
        gauge.attributes = values[6].data();
        gauge.value = int_value(std::numeric_limits<std::int64_t>::min() + round);
        gauges.push_back(gauge);
        sonde_metric_point counter = gauge;
        counter.attributes = values[5].data();
        counter.start_time_ns = t - 3'600'000'000'000;
        counter.value = uint_value(std::numeric_limits<std::uint64_t>::max() - static_cast<std::uint64_t>(round));
        counters.push_back(counter);
        bounds = {0.001, 0.01, round > 1 ? 0.5 : 0.1};
        counts = {static_cast<std::uint64_t>(round), 0, 1000, 7};
        histogram = sonde_histogram{sizeof(sonde_histogram), 3, bounds.data(), counts.data(), 1007u + round, 12.75 * round};
        sonde_metric_point h = counter;
        h.attribute_count = 0;
        h.attributes = nullptr;
        h.histogram = &histogram;
        histograms.push_back(h);
        groups = {{sizeof(sonde_record_group), 0, &event_info, nullptr, events.data(), events.size()},
                  {sizeof(sonde_record_group), 0, &gauge_info, gauges.data(), nullptr, gauges.size()},
                  {sizeof(sonde_record_group), 0, &counter_info, counters.data(), nullptr, counters.size()},
                  {sizeof(sonde_record_group), 0, &histogram_info, histograms.data(), nullptr, histograms.size()}};
        batch = sonde_batch{sizeof(sonde_batch), 0, groups.data(), groups.size()};
    }
};

std::string as_json(const Batch &b) {
    std::string out;
    sonde::RecordJsonWriter().append(out, b.batch);
    return out;
}

// Decodes a file to JSON lines; `damage` receives the reader's report.
std::string decode(std::string_view file, std::optional<sonde::RecordBinaryReader::Damage> *damage = nullptr,
                   sonde::RecordBinaryReader::Header *header = nullptr) {
    sonde::RecordBinaryReader reader;
    sonde::RecordJsonWriter json;
    std::string out;
    auto result = reader.read(file, [&](const sonde_record_info &info, const sonde_metric_point *p, const sonde_event *e) {
        if (p) json.append_metric(out, info, *p);
        else json.append_event(out, info, *e);
    });
    if (damage) *damage = result;
    if (header) *header = reader.header();
    return out;
}

}  // namespace

TEST_CASE("binary records: every value type and kind round-trips to the same JSON lines, across frames and files") {
    sonde::RecordBinaryWriter writer("host-a", "test writer");
    std::string first_frames, second_frames, expected_first, expected_second;
    for (int round = 0; round < 4; ++round) {
        Batch b(round);
        writer.append(b.batch);
        if (round % 2) writer.seal(round < 2 ? first_frames : second_frames);  // two frames per file
        (round < 2 ? expected_first : expected_second) += as_json(b);
    }
    // Each file decodes on its own: the second one's preamble restores the strings and shapes its frames use.
    std::string first = writer.file_preamble(first_frames, 42) + first_frames;
    std::string second = writer.file_preamble(second_frames, 43) + second_frames;
    std::optional<sonde::RecordBinaryReader::Damage> damage;
    sonde::RecordBinaryReader::Header header;
    CHECK(decode(first, &damage, &header) == expected_first);
    CHECK_FALSE(damage);
    CHECK(header.version == 1);
    CHECK(header.host == "host-a");
    CHECK(header.writer == "test writer");
    CHECK(header.created_ns == 42);
    CHECK(decode(second, &damage) == expected_second);
    CHECK_FALSE(damage);
    // Smaller than the JSON by far.
    CHECK(second.size() * 3 < expected_second.size());
}

TEST_CASE("binary records: a file cut at any byte yields only whole records, and says where the damage starts") {
    sonde::RecordBinaryWriter writer("h", "w");
    std::string frames, expected;
    std::vector<std::size_t> frame_ends;
    for (int round = 0; round < 3; ++round) {
        Batch b(round);
        writer.append(b.batch);
        writer.seal(frames);
        expected += as_json(b);
        frame_ends.push_back(frames.size());
    }
    const std::string file = writer.file_preamble(frames, 0) + frames;
    const std::size_t preamble = file.size() - frames.size();
    for (std::size_t cut = 0; cut < file.size(); ++cut) {
        std::optional<sonde::RecordBinaryReader::Damage> damage;
        std::string read = decode(std::string_view(file).substr(0, cut), &damage);
        INFO("cut at byte " << cut);
        // Every frame that ends before the cut was read; a cut between frames is a shorter, sound file.
        std::size_t whole = 0;
        bool between_frames = cut == preamble;
        for (std::size_t end : frame_ends) {
            whole += preamble + end <= cut;
            between_frames |= preamble + end == cut;
        }
        CHECK(bool(damage) != between_frames);
        if (damage) CHECK(damage->offset <= cut);
        CHECK(expected.compare(0, read.size(), read) == 0);  // a prefix of what was written
        std::size_t lines = static_cast<std::size_t>(std::count(read.begin(), read.end(), '\n'));
        CHECK(lines == whole * 9);  // 9 records per batch
    }
    for (std::size_t at = 0; at < file.size(); at += 7) {  // a flipped byte anywhere is caught
        std::string damaged = file;
        damaged[at] = static_cast<char>(damaged[at] ^ 0x20);
        std::optional<sonde::RecordBinaryReader::Damage> damage;
        std::string read = decode(damaged, &damage);
        INFO("flipped byte " << at);
        CHECK(damage);
        CHECK(expected.compare(0, read.size(), read) == 0);
    }
}

TEST_CASE("binary records: frames out of their file are refused, not misread") {
    sonde::RecordBinaryWriter writer("h", "w");
    std::string frames;
    Batch first(0), second(1);
    writer.append(first.batch);
    writer.seal(frames);
    const std::size_t first_frame = frames.size();
    writer.append(second.batch);
    writer.seal(frames);
    // The second frame alone behind a fresh header: it relies on strings the file never defined.
    sonde::RecordBinaryWriter other("h", "w");
    std::string file = other.file_preamble({}, 0) + frames.substr(first_frame);
    std::optional<sonde::RecordBinaryReader::Damage> damage;
    CHECK(decode(file, &damage).empty());
    REQUIRE(damage);
    CHECK(damage->what.find("strings, ") != std::string::npos);
    CHECK(decode("{\"record\":\"metric\"}\n", &damage).empty());
    REQUIRE(damage);
    CHECK(damage->what == "not a sonde binary file (bad magic number)");
}
