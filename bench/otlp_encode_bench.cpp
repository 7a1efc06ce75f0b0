// OTLP encode-and-compress throughput on one core: batches of gauge points
// with two attributes through the otlp sink's RequestBuilder, protobuf
// serialization and gzip at the fastest level, as the sink does per request.
#include "otlp_encoding.hpp"

#include "records/gzip.hpp"
#include <sonde/sdk.hpp>


#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char **argv) {
    const std::size_t per_batch = 1000, batches = argc > 1 ? std::stoul(argv[1]) : 2000;
    const char *keys[] = {"cpu", "index"};
    sonde_record_info info{sizeof info, SONDE_RECORD_METRIC, SONDE_METRIC_GAUGE, 2, "bench.value", "1", "", keys, "generator"};
    std::vector<sonde_value> attributes(per_batch * 2);
    std::vector<sonde_metric_point> points(per_batch);
    for (std::size_t i = 0; i < per_batch; ++i) {
        attributes[2 * i] = sonde::str("cpu0");
        attributes[2 * i + 1] = sonde::uint_value(i);
        points[i] = {sizeof(sonde_metric_point), 2, &attributes[2 * i], 1'700'000'000'000'000'000 + static_cast<std::int64_t>(i), 0,
                     sonde::double_value(0.5 * static_cast<double>(i)), nullptr};
    }
    sonde_record_group group{sizeof group, 0, &info, points.data(), nullptr, per_batch};
    sonde_batch batch{sizeof batch, 0, &group, 1};
    sonde::otlp::ResourceAttributes resource = sonde::otlp::default_resource("bench");
    sonde::otlp::RequestBuilder builder(resource);
    std::string plain, compressed;
    std::size_t bytes = 0, compressed_bytes = 0;
    auto start = std::chrono::steady_clock::now();
    for (std::size_t b = 0; b < batches; ++b) {
        builder.add(batch, 1);
        auto [metrics, logs] = builder.take();
        metrics.SerializeToString(&plain);
        sonde::gzip(plain, compressed, Z_BEST_SPEED);
        compressed_bytes += compressed.size();
        bytes += plain.size();
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double points_total = static_cast<double>(per_batch * batches);
    std::printf("%.0f points encoded and gzipped per second (%.1f bytes/point protobuf, %.1f gzipped)\n",
                points_total / seconds, static_cast<double>(bytes) / points_total,
                static_cast<double>(compressed_bytes) / points_total);
}
