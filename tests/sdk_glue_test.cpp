// The SDK as a plugin meets it, against a recording fake of the host's
// function table: buffers for every number type and for events, emit's
// status, required keys and the report of every config problem at once,
// describing without a configuration, and exceptions from callbacks.
#include <sonde/sdk.hpp>

#include <doctest/doctest.h>

#include <climits>
#include <cstddef>
#include <string>
#include <vector>

namespace {

// What the fake host saw of one instance.
struct FakeHost {
    sonde_host_api table{};
    sonde_status emit_answer = SONDE_OK;
    std::vector<std::string> declared;             // record names
    std::vector<sonde_value> metric_values;        // every emitted point's value
    std::vector<std::vector<sonde_value>> events;  // every emitted event's attributes
    std::vector<std::string> log_lines;
    std::vector<std::pair<sonde_timer_fn, void *>> timers;
    std::vector<std::pair<sonde_fd_ready_fn, void *>> watches;
};

FakeHost *host_of(sonde_host_context *ctx) { return reinterpret_cast<FakeHost *>(ctx); }

sonde_status fake_declare(sonde_host_context *ctx, const sonde_record_decl *decl, std::uint32_t *id) {
    host_of(ctx)->declared.push_back(decl->name);
    *id = static_cast<std::uint32_t>(host_of(ctx)->declared.size());
    return SONDE_OK;
}
sonde_status fake_emit_metrics(sonde_host_context *ctx, std::uint32_t, const sonde_metric_point *points,
                               std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) host_of(ctx)->metric_values.push_back(points[i].value);
    return host_of(ctx)->emit_answer;
}
sonde_status fake_emit_events(sonde_host_context *ctx, std::uint32_t, const sonde_event *events, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i)
        host_of(ctx)->events.emplace_back(events[i].attributes, events[i].attributes + events[i].attribute_count);
    return host_of(ctx)->emit_answer;
}
void fake_log(sonde_host_context *ctx, std::uint32_t level, sonde_str message) {
    host_of(ctx)->log_lines.push_back((level == SONDE_LOG_ERROR ? "error: " : "other: ") + std::string(sonde::view(message)));
}
void fake_count_drop(sonde_host_context *, const char *, std::uint64_t) {}
sonde_status fake_add_timer(sonde_host_context *ctx, std::uint64_t, sonde_timer_fn fn, void *user_data,
                            std::uint64_t *handle) {
    host_of(ctx)->timers.emplace_back(fn, user_data);
    *handle = host_of(ctx)->timers.size();
    return SONDE_OK;
}
sonde_status fake_watch_fd(sonde_host_context *ctx, int, sonde_fd_ready_fn fn, void *user_data,
                           std::uint64_t *handle) {
    host_of(ctx)->watches.emplace_back(fn, user_data);
    *handle = 100 + host_of(ctx)->watches.size();
    return SONDE_OK;
}
void fake_cancel(sonde_host_context *, std::uint64_t) {}

// A fake host of ABI 1.0 (no function past cancel).
struct Harness {
    FakeHost host;
    std::string config_json;
    sonde_instance_info info{};
    char message[1024] = {}, key[256] = {};
    sonde_error error{sizeof(sonde_error), 0, message, sizeof message, key, sizeof key};

    explicit Harness(std::string json = "{}") : config_json(std::move(json)) {
        sonde_host_api &t = host.table;
        t.struct_size = offsetof(sonde_host_api, watch_fd_once);
        t.abi_major = 1;
        t.declare_record = fake_declare;
        t.emit_metrics = fake_emit_metrics;
        t.emit_events = fake_emit_events;
        t.log = fake_log;
        t.count_drop = fake_count_drop;
        t.add_timer = fake_add_timer;
        t.watch_fd = fake_watch_fd;
        t.cancel = fake_cancel;
        info.struct_size = sizeof info;
        info.instance_name = "under_test";
        info.config_json = config_json.data();
        info.config_json_size = config_json.size();
        info.interval_ns = 1'000'000;
        info.host = &host.table;
        info.ctx = reinterpret_cast<sonde_host_context *>(&host);
    }
    sonde::Context context() { return sonde::Context(info); }
};

}  // namespace

template <typename Buffer>
concept adds_bool = requires(Buffer b) { b.add(true); };

TEST_CASE("MetricBuffer::add takes every arithmetic type, each as the value type that holds it") {
    Harness h;
    sonde::Context ctx = h.context();
    sonde::MetricBuffer b = ctx.declare(sonde::MetricSpec{"m", SONDE_METRIC_GAUGE, "1", "", {}});
    b.add(-1);                          // int
    b.add(-2L);                         // long
    b.add(-3LL);                        // long long
    b.add(static_cast<short>(-4));      // short
    b.add(static_cast<signed char>(-5));
    b.add(6u);                          // unsigned
    b.add(7UL);                         // unsigned long
    b.add(std::size_t{8});              // size_t
    b.add(static_cast<std::uint8_t>(9));
    b.add(ULLONG_MAX);
    b.add(1.5);                         // double
    b.add(2.5f);                        // float
    b.add(3.5L);                        // long double
    b.add(sonde::int_value(10), {});    // an already typed value
    CHECK(b.size() == 14);
    CHECK(b.emit(ctx) == SONDE_OK);
    CHECK(b.empty());
    const auto &v = h.host.metric_values;
    REQUIRE(v.size() == 14);
    for (int i = 0; i < 5; ++i) {
        CHECK(v[i].type == SONDE_VALUE_INT);
        CHECK(v[i].as.i == -(i + 1));
    }
    for (int i = 5; i < 9; ++i) {
        CHECK(v[i].type == SONDE_VALUE_UINT);
        CHECK(v[i].as.u == static_cast<std::uint64_t>(i + 1));
    }
    CHECK(v[9].as.u == ULLONG_MAX);
    CHECK(v[10].type == SONDE_VALUE_DOUBLE);
    CHECK(v[10].as.d == 1.5);
    CHECK(v[11].as.d == 2.5);
    CHECK(v[12].as.d == 3.5);
    CHECK(v[13].type == SONDE_VALUE_INT);
    // A metric value is a number, not a bool; attributes must match the declaration.
    static_assert(!adds_bool<sonde::MetricBuffer>);
    CHECK_THROWS_AS(b.add(1, {sonde::str("extra")}), std::logic_error);
}

TEST_CASE("EventBuffer collects events and emits them in one call; emit returns the host's status") {
    Harness h;
    sonde::Context ctx = h.context();
    sonde::EventBuffer e = ctx.declare(sonde::EventSpec{"e", "", {"pid", "comm"}});
    CHECK(e.emit(ctx) == SONDE_OK);  // nothing to send
    e.add({sonde::int_value(1), sonde::str("a")});
    e.add({sonde::int_value(2), sonde::str("b")}, 1'700'000'000'000'000'000);
    CHECK_THROWS_AS(e.add({sonde::int_value(3)}), std::logic_error);
    CHECK(e.size() == 2);
    CHECK(e.emit(ctx) == SONDE_OK);
    REQUIRE(h.host.events.size() == 2);
    CHECK(h.host.events[1][0].as.i == 2);
    CHECK(sonde::view(h.host.events[1][1].as.s) == "b");

    h.host.emit_answer = SONDE_ERR_ARGUMENT;  // the host refuses the records
    e.add({sonde::int_value(3), sonde::str("c")});
    CHECK(e.emit(ctx) == SONDE_ERR_ARGUMENT);
    CHECK(e.empty());  // cleared whatever the answer
    sonde::MetricBuffer m = ctx.declare(sonde::MetricSpec{"m", SONDE_METRIC_GAUGE, "1", "", {}});
    m.add(1);
    CHECK(m.emit(ctx) == SONDE_ERR_ARGUMENT);
    sonde_event raw{sizeof raw, 0, nullptr, 0};
    CHECK(ctx.emit(e.record_id(), &raw, 1) == SONDE_ERR_ARGUMENT);
}

TEST_CASE("required keys: a missing one is reported with every unknown key, whatever the reading order") {
    // The author reads the required key first and never calls finish(): the
    // export glue does, after the constructor.
    struct Reader final : sonde::InputPlugin {
        explicit Reader(sonde::Context &ctx) : InputPlugin(ctx) {
            port = ctx.config().required<std::uint16_t>("port");
            host = ctx.config().required<std::string>("host");
            verbose = ctx.config().get_bool("verbose", false);
        }
        void start() override {}
        std::uint16_t port = 0;
        std::string host;
        bool verbose = false;
    };
    using Glue = sonde::detail::Glue<Reader>;
    {
        Harness h(R"({"prot": 8080, "verbose": true, "colour": "red"})");
        sonde_instance *instance = nullptr;
        CHECK(Glue::create(&h.info, &instance, &h.error) == SONDE_ERR_CONFIG);
        CHECK(instance == nullptr);
        CHECK(std::string(h.key) == "colour");  // unknown keys first, in the table's order
        CHECK(std::string(h.message) ==
              "unknown key; also prot: unknown key, port: required key is missing, host: required key is missing");
    }
    {
        Harness h(R"({"port": 8080, "host": "db"})");
        sonde_instance *instance = nullptr;
        REQUIRE(Glue::create(&h.info, &instance, &h.error) == SONDE_OK);
        CHECK(sonde::detail::holder<Reader>(instance)->plugin->port == 8080);
        Glue::destroy(instance);
    }
    {
        Harness h(R"({"port": 70000, "host": "db"})");  // out of uint16_t's range: at once, with the range
        sonde_instance *instance = nullptr;
        CHECK(Glue::create(&h.info, &instance, &h.error) == SONDE_ERR_CONFIG);
        CHECK(std::string(h.key) == "port");
        CHECK(std::string(h.message) == "70000 is out of range [0, 65535]");
    }
}

TEST_CASE("a constructor that throws after a missing required key reports the missing key first") {
    struct Checker final : sonde::InputPlugin {
        explicit Checker(sonde::Context &ctx) : InputPlugin(ctx) {
            std::int64_t size = ctx.config().required<std::int64_t>("size");
            ctx.config().required<std::string>("name");
            if (size == 0) throw sonde::ConfigError("size", "must not be 0");  // about the missing key: left out
            throw sonde::ConfigError("mode", "no mode fits");
        }
        void start() override {}
    };
    Harness h(R"({"size": 0})");
    sonde_instance *instance = nullptr;
    CHECK(sonde::detail::Glue<Checker>::create(&h.info, &instance, &h.error) == SONDE_ERR_CONFIG);
    CHECK(std::string(h.key) == "name");
    CHECK(std::string(h.message) == "required key is missing; also size: must not be 0");
}

TEST_CASE("nested tables: required keys of a nested table are reported by the table above too") {
    sonde::Config root(R"({"tls": {"ca": "x"}, "typo": 1})");
    sonde::Config tls = root.get_table("tls");
    tls.required<std::string>("cert");
    tls.get_string("ca", "");
    try {
        root.finish();
        FAIL("finish accepted a missing key");
    } catch (const sonde::ConfigError &e) {
        CHECK(e.key() == "typo");
        CHECK(std::string(e.what()) == "unknown key; also tls.cert: required key is missing");
    }
    CHECK_THROWS_WITH_AS(tls.finish(), "required key is missing", sonde::ConfigError);
    sonde::Config wrong(R"({"n": "ten"})");
    CHECK_THROWS_WITH_AS(wrong.required<int>("n"), "expected an integer", sonde::ConfigError);
    sonde::Config durations(R"({"every": "5s"})");
    CHECK(durations.required_duration_ns("every", 1'000'000'000, 60'000'000'000) == 5'000'000'000u);
    CHECK(durations.required_size_bytes("buffer") == 0u);
    CHECK_THROWS_WITH_AS(durations.finish(), "required key is missing", sonde::ConfigError);
}

TEST_CASE("describe (ABI 1.4): the plugin declares its records with no configuration at all") {
    struct NeedsKeys final : sonde::InputPlugin {
        explicit NeedsKeys(sonde::Context &ctx)
            : InputPlugin(ctx),
              path(ctx.config().required<std::string>("path")),
              metric(ctx.declare(sonde::MetricSpec{"test.size", SONDE_METRIC_GAUGE, "By", "", {"path"}})),
              event(ctx.declare(sonde::EventSpec{"test.changed", "", {"path"}})) {
            if (!ctx.describing() && path.empty()) throw sonde::ConfigError("path", "must not be empty");
        }
        void start() override { FAIL("a described plugin is never started"); }
        std::string path;
        sonde::MetricBuffer metric;
        sonde::EventBuffer event;
    };
    constexpr sonde_plugin_ops ops = sonde::detail::Glue<NeedsKeys>::ops();
    static_assert(ops.struct_size == sizeof(sonde_plugin_ops));
    REQUIRE(static_cast<bool>(ops.describe));
    Harness h;
    CHECK(ops.describe(&h.info, &h.error) == SONDE_OK);
    CHECK(h.host.declared == std::vector<std::string>{"test.size", "test.changed"});
    // create with the same empty table refuses it, naming the key.
    sonde_instance *instance = nullptr;
    CHECK(ops.create(&h.info, &instance, &h.error) == SONDE_ERR_CONFIG);
    CHECK(std::string(h.key) == "path");
    CHECK(std::string(h.message) == "required key is missing");
}

TEST_CASE("an exception from a timer or fd callback is caught in the SDK and logged under the instance") {
    Harness h;
    sonde::Context ctx = h.context();
    int calls = 0;
    ctx.every(1'000'000, [&] {
        ++calls;
        throw std::runtime_error("frobnicator jammed");
    });
    ctx.when_readable(3, [] { throw 42; });
    REQUIRE(h.host.timers.size() == 1);
    REQUIRE(h.host.watches.size() == 1);
    auto [timer_fn, timer_data] = h.host.timers[0];
    CHECK_NOTHROW(timer_fn(timer_data));
    CHECK_NOTHROW(timer_fn(timer_data));  // within 10 s of the first: held back
    auto [fd_fn, fd_data] = h.host.watches[0];
    CHECK_NOTHROW(fd_fn(fd_data, 3));  // another callback: its own line
    CHECK(calls == 2);
    // The host's log prefixes the instance's name; the line says what failed.
    CHECK(h.host.log_lines == std::vector<std::string>{"error: timer callback failed: frobnicator jammed",
                                                       "error: fd watch callback failed: unknown exception"});
}

TEST_CASE("an exception from stop() or on_input_stopped() is logged, since neither returns a status") {
    struct Throwing final : sonde::SinkPlugin {
        explicit Throwing(sonde::Context &ctx) : SinkPlugin(ctx) {}
        sonde_status consume(const sonde_batch &) override { return SONDE_OK; }
        void stop() override { throw std::runtime_error("cannot flush the spool"); }
        void on_input_stopped(std::string_view input) override {
            throw std::runtime_error("no series of " + std::string(input));
        }
    };
    using Glue = sonde::detail::Glue<Throwing>;
    Harness h;
    sonde_instance *instance = nullptr;
    REQUIRE(Glue::create(&h.info, &instance, &h.error) == SONDE_OK);
    Glue::input_stopped(instance, "procfs");
    Glue::stop(instance);
    Glue::destroy(instance);
    CHECK(h.host.log_lines == std::vector<std::string>{"error: on_input_stopped failed: no series of procfs",
                                                       "error: stop failed: cannot flush the spool"});
}

TEST_CASE("a refused host call throws, naming the call and the status") {
    Harness h;
    h.host.table.add_timer = [](sonde_host_context *, std::uint64_t, sonde_timer_fn, void *, std::uint64_t *) {
        return SONDE_ERR_ARGUMENT;
    };
    sonde::Context ctx = h.context();
    CHECK_THROWS_WITH(ctx.every(1, [] {}), "host refused add_timer (status 4)");
}
