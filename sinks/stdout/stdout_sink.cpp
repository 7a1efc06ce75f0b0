// stdout sink: every record as one JSON line (docs/json-schema.md), or as an
// indented object with `pretty = true`. One write(2) per batch; the encode
// buffer is reused, so steady-state batches do not allocate. When the reader
// of standard output goes away (EPIPE), the sink tells the host, which ends
// the agent in order, as any Unix filter ends (docs/operations.md).
#include "records/record_json.hpp"
#include <sonde/sdk.hpp>

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sonde::stdout_sink {
namespace {

class StdoutSink final : public SinkPlugin {
public:
    explicit StdoutSink(Context &ctx) : SinkPlugin(ctx), writer_(ctx.config().get_bool("pretty", false)) {
        buffer_.reserve(1 << 16);
    }

    sonde_status consume(const sonde_batch &batch) override {
        buffer_.clear();
        writer_.append(buffer_, batch);
        return write_all(buffer_);
    }

private:
    // Lines already written stay written: a failure part way is not retried
    // (that would repeat them); the host counts the batch as dropped.
    static sonde_status write_all(std::string_view data) {
        while (!data.empty()) {
            ssize_t n = ::write(STDOUT_FILENO, data.data(), data.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {  // inherited a non-blocking stdout
                pollfd p{STDOUT_FILENO, POLLOUT, 0};
                ::poll(&p, 1, 1000);
                continue;
            }
            if (n < 0 && errno == EPIPE) return SONDE_ERR_OUTPUT_CLOSED;
            if (n < 0) throw std::runtime_error(std::string("write to stdout failed: ") + std::strerror(errno));
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return SONDE_OK;
    }

    RecordJsonWriter writer_;
    std::string buffer_;
};

}  // namespace
}  // namespace sonde::stdout_sink

SONDE_SINK_PLUGIN(sonde::stdout_sink::StdoutSink, "stdout", "0.1.0", "Records as JSON lines on standard output")
