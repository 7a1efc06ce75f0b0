#include "runtime/router.hpp"

#include <doctest/doctest.h>

#include <thread>

using namespace sonde::core;

namespace {

// Declares records on a table and returns the router's view of it.
struct FakeInput {
    DeclarationTable table;
    RoutedInput routed;

    FakeInput(std::uint32_t slot, const std::string &name, std::vector<std::pair<std::string, bool>> records)
        : table(name) {
        routed.slot = slot;
        routed.name = name;
        for (const auto &[record, metric] : records) {
            sonde_record_decl d{};
            d.struct_size = sizeof d;
            d.record_kind = metric ? SONDE_RECORD_METRIC : SONDE_RECORD_EVENT;
            d.metric_kind = SONDE_METRIC_GAUGE;
            d.name = record.c_str();
            std::uint32_t id;
            std::string error;
            REQUIRE(table.declare(d, id, error) == SONDE_OK);
        }
        routed.declarations = table.all();
    }
};

std::vector<std::uint16_t> route(const RouteMap &m, std::uint32_t slot, std::uint32_t id) {
    return m.sinks_for(slot, id);
}

// A batch of n gauge points for the queue tests.
BatchRef batch_of(BatchPool &pool, const DeclarationTable &table, std::size_t n) {
    std::vector<sonde_metric_point> points(n);
    for (auto &p : points) {
        p.struct_size = sizeof p;
        p.value.type = SONDE_VALUE_INT;
    }
    BatchRef b = pool.acquire();
    REQUIRE(b->copy_metrics(nullptr, *table.find(0), points.data(), n, 1, 1) == SONDE_OK);
    return b;
}

}  // namespace

TEST_CASE("routes by kind, input glob, match and exclude") {
    FakeInput procfs(0, "procfs", {{"system.cpu.time", true}, {"system.memory.usage", true}});
    FakeInput net(1, "net_lo", {{"system.network.io", true}, {"net.event", false}});

    Subscription everything;
    Subscription events_only;
    events_only.metrics = false;
    Subscription net_inputs;
    net_inputs.inputs = {"net*"};
    Subscription no_cpu;
    no_cpu.match = {"system.*"};
    no_cpu.exclude = {"system.cpu.*"};

    RouteMap m = RouteMap::compile({procfs.routed, net.routed}, {everything, events_only, net_inputs, no_cpu});
    CHECK(route(m, 0, 0) == std::vector<std::uint16_t>{0});        // cpu.time: everything only
    CHECK(route(m, 0, 1) == std::vector<std::uint16_t>{0, 3});     // memory.usage
    CHECK(route(m, 1, 0) == std::vector<std::uint16_t>{0, 2, 3});  // network.io
    CHECK(route(m, 1, 1) == std::vector<std::uint16_t>{0, 1, 2});  // the event
    CHECK(route(m, 7, 0).empty());                                 // unknown input
    CHECK(m.sinks_of_input(0) == std::vector<std::uint16_t>{0, 3});
}

TEST_CASE("the same declaration twice gets the same id; a different shape is refused") {
    DeclarationTable t("x");
    sonde_record_decl d{};
    d.struct_size = sizeof d;
    d.record_kind = SONDE_RECORD_METRIC;
    d.metric_kind = SONDE_METRIC_GAUGE;
    d.name = "a";
    d.unit = "s";
    std::uint32_t first, second, third;
    std::string error;
    REQUIRE(t.declare(d, first, error) == SONDE_OK);
    REQUIRE(t.declare(d, second, error) == SONDE_OK);
    CHECK(first == second);
    d.unit = "ms";
    CHECK(t.declare(d, third, error) == SONDE_ERR_ARGUMENT);
    CHECK(error == "a: declared twice with different shapes");
}

TEST_CASE("a batch rejects points that do not match their declaration") {
    DeclarationTable t("x");
    const char *keys[] = {"cpu"};
    sonde_record_decl d{sizeof d, SONDE_RECORD_METRIC, SONDE_METRIC_GAUGE, 1, "m", "", "", keys};
    std::uint32_t id;
    std::string error;
    REQUIRE(t.declare(d, id, error) == SONDE_OK);
    BatchPool pool;
    sonde_metric_point p{};
    p.struct_size = sizeof p;
    p.value.type = SONDE_VALUE_DOUBLE;
    CHECK(pool.acquire()->copy_metrics(nullptr, *t.find(id), &p, 1, 1, 1) == SONDE_ERR_ARGUMENT);  // no attribute
    sonde_value cpu{};
    cpu.type = SONDE_VALUE_STRING;
    cpu.as.s = {"cpu0", 4};
    p.attribute_count = 1;
    p.attributes = &cpu;
    BatchRef b = pool.acquire();
    REQUIRE(b->copy_metrics(nullptr, *t.find(id), &p, 1, 1, 1) == SONDE_OK);
    // The copy owns its strings.
    CHECK(b->group().points[0].attributes[0].as.s.data != cpu.as.s.data);
    CHECK(std::string_view(b->group().points[0].attributes[0].as.s.data, 4) == "cpu0");
}

TEST_CASE("drop_newest refuses what does not fit and counts it") {
    FakeInput in(0, "in", {{"m", true}});
    BatchPool pool;
    SinkQueue q(10, OverflowPolicy::drop_newest);
    CHECK(q.push(batch_of(pool, in.table, 6), false).dropped == 0);
    CHECK(q.push(batch_of(pool, in.table, 6), false).dropped == 6);
    CHECK(q.queued_records() == 6);
}

TEST_CASE("drop_oldest evicts the oldest batches to make room") {
    FakeInput in(0, "in", {{"m", true}});
    BatchPool pool;
    SinkQueue q(10, OverflowPolicy::drop_oldest);
    auto first = q.push(batch_of(pool, in.table, 4), false);
    CHECK(first.schedule_drain);
    q.push(batch_of(pool, in.table, 4), false);
    auto third = q.push(batch_of(pool, in.table, 4), false);
    CHECK(third.dropped == 4);
    CHECK_FALSE(third.schedule_drain);  // a drain is already scheduled
    CHECK(q.queued_records() == 8);
    std::vector<BatchRef> taken;
    REQUIRE(q.take(taken, 100));
    CHECK(taken.size() == 2);
    CHECK_FALSE(q.take(taken, 100));  // empty: the drain ends
    CHECK(q.idle());
}

TEST_CASE("block waits off the io threads until the consumer makes room") {
    FakeInput in(0, "in", {{"m", true}});
    BatchPool pool;
    SinkQueue q(10, OverflowPolicy::block);
    q.push(batch_of(pool, in.table, 8), true);
    std::atomic<bool> pushed{false};
    std::thread producer([&] {
        q.push(batch_of(pool, in.table, 8), true);
        pushed = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK_FALSE(pushed.load());  // still waiting: nothing dropped, nothing over capacity
    std::vector<BatchRef> taken;
    REQUIRE(q.take(taken, 100));
    producer.join();
    CHECK(pushed.load());
    CHECK(q.queued_records() == 8);
}

TEST_CASE("block on an io thread keeps the batch and reports saturation") {
    FakeInput in(0, "in", {{"m", true}});
    BatchPool pool;
    SinkQueue q(10, OverflowPolicy::block);
    q.push(batch_of(pool, in.table, 8), false);
    CHECK(q.push(batch_of(pool, in.table, 8), false).dropped == 0);
    CHECK(q.saturated());
}

TEST_CASE("a retried batch goes back to the front in order") {
    FakeInput in(0, "in", {{"m", true}});
    BatchPool pool;
    SinkQueue q(100, OverflowPolicy::drop_oldest);
    q.push(batch_of(pool, in.table, 1), false);
    q.push(batch_of(pool, in.table, 2), false);
    std::vector<BatchRef> taken;
    REQUIRE(q.take(taken, 1));  // at least one batch, at most 1 record
    CHECK(taken.size() == 1);
    q.put_back(taken);
    REQUIRE(q.take(taken, 100));
    REQUIRE(taken.size() == 2);
    CHECK(taken[0]->size() == 1);
    CHECK(taken[1]->size() == 2);
}

TEST_CASE("glob matching follows shell rules") {
    CHECK(glob_any({"net*"}, "net_lo"));
    CHECK(glob_any({"a", "b?"}, "bc"));
    CHECK_FALSE(glob_any({"net*"}, "procfs"));
    CHECK_FALSE(glob_any({}, "x"));
}

TEST_CASE("a declaration with invalid UTF-8 is refused, naming the string and the byte") {
    DeclarationTable t("x");
    const char *keys[] = {"comm", "pa\xFFth"};
    sonde_record_decl d{sizeof d, SONDE_RECORD_EVENT, 0, 2, "syscall.slow", "", "", keys};
    std::uint32_t id;
    std::string error;
    CHECK(t.declare(d, id, error) == SONDE_ERR_ARGUMENT);
    CHECK(error == "syscall.slow: attribute key 1 is not valid UTF-8 (byte 0xff at offset 2 of "
                   "\"pa\xEF\xBF\xBDth\")");
    keys[1] = "path";
    d.unit = "\xC0\xAF";
    CHECK(t.declare(d, id, error) == SONDE_ERR_ARGUMENT);
    CHECK(error == "syscall.slow: unit is not valid UTF-8 (byte 0xc0 at offset 0 of "
                   "\"\xEF\xBF\xBD\xEF\xBF\xBD\")");
    d.unit = "";
    d.description = "slow \xED\xA0\x80";
    CHECK(t.declare(d, id, error) == SONDE_ERR_ARGUMENT);
    CHECK(error.find("description is not valid UTF-8 (byte 0xed at offset 5") != std::string::npos);
    d.description = "";
    d.name = "bad\xFF";
    CHECK(t.declare(d, id, error) == SONDE_ERR_ARGUMENT);
    CHECK(error == "record name is not valid UTF-8 (byte 0xff at offset 3 of \"bad\xEF\xBF\xBD\")");
    CHECK(t.all().empty());
    d.name = "syscall.slow";
    CHECK(t.declare(d, id, error) == SONDE_OK);
}

TEST_CASE("a batch copies invalid UTF-8 in string values as U+FFFD, valid strings as they are") {
    DeclarationTable t("x");
    const char *keys[] = {"comm", "device", "ok"};
    sonde_record_decl d{sizeof d, SONDE_RECORD_EVENT, 0, 3, "e", "", "", keys};
    std::uint32_t id;
    std::string error;
    REQUIRE(t.declare(d, id, error) == SONDE_OK);
    auto string_value = [](std::string_view s) {
        sonde_value v{};
        v.type = SONDE_VALUE_STRING;
        v.as.s = {s.data(), s.size()};
        return v;
    };
    // Three events: all valid, then the comm, then a truncated
    // sequence, which grows from 1 byte to 3 (the copy must size for that).
    const std::string long_name(300, 'n'), long_truncated = long_name + "\xF0\x9D\x84";
    sonde_value values[3][3] = {
        {string_value("caf\xC3\xA9"), string_value(long_name), string_value("")},
        {string_value("\xFF\xFE\"bad\x01"), string_value("sda"), string_value("\xE2\x82\xAC")},
        {string_value("\xC3"), string_value(long_truncated), string_value("\x80\x80\x80\x80")},
    };
    sonde_event events[3];
    for (int i = 0; i < 3; ++i) events[i] = {sizeof(sonde_event), 3, values[i], 1};
    BatchPool pool;
    BatchRef b = pool.acquire();
    REQUIRE(b->copy_events(nullptr, *t.find(id), events, 3, 1) == SONDE_OK);
    auto copied = [&](int event, int attribute) {
        const sonde_str &s = b->group().events[event].attributes[attribute].as.s;
        return std::string(s.data, s.size);
    };
    const std::string fffd = "\xEF\xBF\xBD";
    CHECK(copied(0, 0) == "caf\xC3\xA9");
    CHECK(copied(0, 1) == long_name);
    CHECK(copied(0, 2).empty());
    CHECK(copied(1, 0) == fffd + fffd + "\"bad\x01");
    CHECK(copied(1, 1) == "sda");
    CHECK(copied(1, 2) == "\xE2\x82\xAC");
    CHECK(copied(2, 0) == fffd);
    CHECK(copied(2, 1) == long_name + fffd);
    CHECK(copied(2, 2) == fffd + fffd + fffd + fffd);
    CHECK(b->repaired_strings() == 4);

    // Metric points go through the same copy.
    const char *device[] = {"device"};
    sonde_record_decl m{sizeof m, SONDE_RECORD_METRIC, SONDE_METRIC_GAUGE, 1, "m", "", "", device};
    REQUIRE(t.declare(m, id, error) == SONDE_OK);
    sonde_value dev = string_value("eth\xFF");
    sonde_metric_point p{};
    p.struct_size = sizeof p;
    p.attribute_count = 1;
    p.attributes = &dev;
    p.value.type = SONDE_VALUE_INT;
    REQUIRE(b->copy_metrics(nullptr, *t.find(id), &p, 1, 1, 1) == SONDE_OK);
    const sonde_str &s = b->group().points[0].attributes[0].as.s;
    CHECK(std::string(s.data, s.size) == "eth" + fffd);
    CHECK(b->repaired_strings() == 1);
    p.attributes = &values[0][1];  // valid: nothing repaired
    REQUIRE(b->copy_metrics(nullptr, *t.find(id), &p, 1, 1, 1) == SONDE_OK);
    CHECK(b->repaired_strings() == 0);
}
