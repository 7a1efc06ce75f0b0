// libFuzzer target: arbitrary bytes from a client into HttpConnection, cut
// into pieces at places the input chooses, answered (some later, as the
// admin listener's deferred answers), written and read back the way the
// servers do. Checks that nothing crashes, every answer is a
// well-formed status line, and every buffer stays within its bound.
#include "http_connection.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace sonde::http;

namespace {

void require(bool ok) {
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    // Small limits, so that the fuzzer reaches them with short inputs.
    HttpLimits limits;
    limits.max_header_bytes = 512;
    limits.max_body_bytes = 256;
    limits.max_input_bytes = 1024;
    limits.output_high_water = 2048;
    limits.keep_body = true;
    const HttpHandler handler = [](const HttpRequest &request, HttpResponse &response) {
        require(request.body.size() <= 256);
        if (request.target == "/big") response.body.assign(4096, 'x');
        else if (request.target.rfind("/later", 0) == 0) response.deferred = true;
        else response.body = request.method + request.target + request.body;
    };
    HttpResponse later;
    later.status = 202;
    later.body = "done";
    HttpConnection connection(limits);
    std::string answers;  // the start of what the client read
    std::string_view input(reinterpret_cast<const char *>(data), size);
    // The first byte of each piece says how long it is, how many answers the
    // server gives before yielding, and how much of the output the client reads.
    while (!input.empty() && !connection.finished()) {
        const auto control = static_cast<std::uint8_t>(input.front());
        input.remove_prefix(1);
        std::size_t length = std::min<std::size_t>(input.size(), (control & 0x3f) * 8 + 1);
        std::size_t room = connection.input_room();
        std::size_t take = std::min(length, room);
        connection.receive(input.substr(0, take));
        input.remove_prefix(length);  // what did not fit is lost, as if never read
        if (control == 0xff) connection.end_of_input();
        if ((control & 0x10) && connection.awaiting_answer()) require(connection.complete(later));
        std::size_t budget = (control >> 6) + 1;
        require(connection.answer(budget, handler) <= budget);
        std::string_view out = connection.unwritten();
        require(out.size() <= limits.output_high_water + 4096 * (budget + 1) + 1024);
        std::size_t read = control & 0x20 ? out.size() : out.size() / 2;
        if (answers.size() < 64) answers.append(out.substr(0, read));
        connection.mark_written(read);
    }
    if (connection.awaiting_answer()) connection.complete(later);
    require(!connection.complete(later));
    answers.append(connection.feed({}, handler));
    require(answers.empty() || answers.rfind("HTTP/1.1 ", 0) == 0);
    return 0;
}
