#include "control/control_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <sys/socket.h>
#include <sys/time.h>

namespace sonde::core {

namespace asio = boost::asio;
namespace http = boost::beast::http;

ControlReply control_request(const std::string &socket_path, const std::string &method, const std::string &target,
                             const nlohmann::json &body, std::chrono::seconds timeout) {
    ControlReply reply;
    asio::io_context io;
    asio::local::stream_protocol::socket socket(io);
    boost::system::error_code ec;
    socket.connect(asio::local::stream_protocol::endpoint(socket_path), ec);
    if (ec) {
        reply.error = "cannot connect to the agent's control socket " + socket_path + ": " + ec.message() +
                      (ec == boost::system::errc::no_such_file_or_directory || ec == boost::system::errc::connection_refused
                           ? " (is sonde running? --socket or [admin] socket names another)"
                           : "");
        return reply;
    }
    timeval tv{static_cast<time_t>(timeout.count()), 0};
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    http::request<http::string_body> request(method == "POST" ? http::verb::post : http::verb::get, target, 11);
    request.set(http::field::host, "sonde");
    request.set(http::field::accept, "application/json");
    if (!body.is_null()) {
        request.set(http::field::content_type, "application/json");
        request.body() = body.dump();
    }
    request.keep_alive(false);
    request.prepare_payload();
    http::write(socket, request, ec);
    if (ec) {
        reply.error = "cannot send to " + socket_path + ": " + ec.message();
        return reply;
    }
    boost::beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(16 * 1024 * 1024);
    http::read(socket, buffer, parser, ec);
    if (ec) {
        reply.error = "no answer from " + socket_path + ": " + ec.message();
        return reply;
    }
    reply.status = parser.get().result_int();
    reply.text = parser.get().body();
    reply.body = nlohmann::json::parse(reply.text, nullptr, false);
    if (reply.body.is_discarded()) reply.body = nullptr;
    return reply;
}

}  // namespace sonde::core
