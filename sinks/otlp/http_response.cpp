#include "http_response.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

namespace sonde::otlp {

namespace http = boost::beast::http;

struct ResponseReader::Parser {
    http::response_parser<http::string_body> parser;
    Parser() { parser.body_limit(1 << 20); }
};

ResponseReader::ResponseReader() : parser_(std::make_unique<Parser>()) {}
ResponseReader::~ResponseReader() = default;

ResponseReader::State ResponseReader::feed(std::string_view bytes) {
    if (!error_.empty()) return State::failed;
    received_ |= !bytes.empty();
    pending_.append(bytes);
    return parse();
}

ResponseReader::State ResponseReader::parse() {
    auto &parser = parser_->parser;
    boost::beast::error_code ec;
    // put() takes one piece at a time (header, chunk header, chunk...).
    while (!pending_.empty() && !parser.is_done()) {
        std::size_t used = parser.put(boost::asio::buffer(pending_), ec);
        pending_.erase(0, used);
        if (ec || used == 0) break;
    }
    if (ec && ec != http::error::need_more) {
        error_ = "malformed answer: " + ec.message();
        return State::failed;
    }
    return parser.is_done() ? State::done : State::need_more;
}

ResponseReader::State ResponseReader::finish_at_eof() {
    State state = parse();
    if (state != State::need_more) return state;
    auto &parser = parser_->parser;
    boost::beast::error_code ec;
    if (received_) parser.put_eof(ec);  // Beast requires some bytes before an end of file
    if (received_ && !ec && parser.is_done()) return State::done;
    error_ = "connection closed before the answer";
    return State::failed;
}

HttpResult ResponseReader::result() const {
    const auto &m = parser_->parser.get();
    return {static_cast<int>(m.result_int()), "", m.body(), std::string(m[http::field::retry_after])};
}

bool ResponseReader::keep_alive() const { return parser_->parser.get().keep_alive() && pending_.empty(); }

}  // namespace sonde::otlp
