#include "http_connection.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/string.hpp>

#include <algorithm>

namespace sonde::http {

namespace beast_http = boost::beast::http;

namespace {

const char *reason(int status) {
    switch (status) {
        case 200: return "OK";
        case 201: return "Created";
        case 202: return "Accepted";
        case 204: return "No Content";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 408: return "Request Timeout";
        case 409: return "Conflict";
        case 413: return "Content Too Large";
        case 422: return "Unprocessable Content";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        case 505: return "HTTP Version Not Supported";
        default: return "Error";
    }
}

}  // namespace

HttpConnection::HttpConnection(const HttpLimits &limits) : limits_(limits) { reset_parser(); }

void HttpConnection::reset_parser() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
    parser_->body_limit(limits_.max_body_bytes);
    parser_started_ = false;
    need_more_than_ = 0;
    continue_sent_ = false;
}

std::size_t HttpConnection::input_room() const {
    if (closing_ || input_ended_ || unwritten().size() > limits_.output_high_water) return 0;
    std::size_t held = buffered().size();
    return held < limits_.max_input_bytes ? limits_.max_input_bytes - held : 0;
}

void HttpConnection::receive(std::string_view bytes) {
    if (consumed_ > 0) {
        input_.erase(0, consumed_);
        consumed_ = 0;
    }
    input_.append(bytes.substr(0, std::min(bytes.size(), input_room())));
}

void HttpConnection::end_of_input() { input_ended_ = true; }

bool HttpConnection::mid_request() const {
    return !closing_ && !awaiting_ && (parser_started_ || !buffered().empty());
}

void HttpConnection::mark_written(std::size_t bytes) {
    written_ += std::min(bytes, output_.size() - written_);
    if (written_ == output_.size()) {
        output_.clear();
        written_ = 0;
    }
}

std::size_t HttpConnection::answer(std::size_t budget, const HttpHandler &handler) {
    std::size_t answered = 0;
    while (answered < budget && answer_one(handler) == Step::answered) ++answered;
    return answered;
}

HttpConnection::Step HttpConnection::answer_one(const HttpHandler &handler) {
    if (closing_ || awaiting_ || unwritten().size() > limits_.output_high_water) return Step::stop;
    while (!parser_->is_done()) {
        std::string_view pending = buffered();
        // Beast's parser must see more bytes than when it last asked for
        // more (its chunk parser asserts it, and reads past the end if not).
        if (pending.empty() || pending.size() <= need_more_than_) {
            if (input_ended_) closing_ = true;  // a partial request, or none, and nothing more comes
            return Step::need_more;
        }
        boost::beast::error_code ec;
        std::size_t used = parser_->put(boost::asio::buffer(pending.data(), pending.size()), ec);
        consumed_ += used;
        need_more_than_ = 0;
        if (used > 0) parser_started_ = true;
        if (ec == beast_http::error::need_more || (!ec && used == 0)) {
            need_more_than_ = buffered().size();
            if (input_ended_) closing_ = true;
            return Step::need_more;
        }
        if (ec == beast_http::error::header_limit) {
            reject(431, "request header over " + std::to_string(limits_.max_header_bytes) + " bytes");
            return Step::answered;
        }
        if (ec == beast_http::error::body_limit) {
            reject(413, "request body over " + std::to_string(limits_.max_body_bytes) + " bytes");
            return Step::answered;
        }
        if (ec == beast_http::error::bad_version) {
            reject(505, "HTTP version not supported (only HTTP/1.0 and HTTP/1.1)");
            return Step::answered;
        }
        if (ec) {
            reject(400, "malformed request (" + ec.message() + ")");
            return Step::answered;
        }
        // A client that waits for "100 Continue" before sending its body
        // (curl does above 1 KiB) is told to go on when the handler wants
        // bodies (the header passed the body limit already). Otherwise it
        // gets the final answer at once, and the connection closes, so the
        // body it may still send is never mistaken for a request.
        if (parser_->is_header_done() && !parser_->is_done() &&
            boost::beast::iequals(parser_->get()[beast_http::field::expect], "100-continue")) {
            if (!limits_.keep_body) break;
            if (!continue_sent_) output_ += "HTTP/1.1 100 Continue\r\n\r\n";
            continue_sent_ = true;
        }
    }
    auto &message = parser_->get();
    if (message.version() != 10 && message.version() != 11) {
        reject(505, "HTTP version not supported (only HTTP/1.0 and HTTP/1.1)");
        return Step::answered;
    }
    HttpRequest request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    request.accept = std::string(message[beast_http::field::accept]);
    request.accept_encoding = std::string(message[beast_http::field::accept_encoding]);
    request.authorization = std::string(message[beast_http::field::authorization]);
    request.content_type = std::string(message[beast_http::field::content_type]);
    if (limits_.keep_body) request.body = std::move(message.body());
    bool keep_alive = message.keep_alive() && parser_->is_done();
    bool head = message.method() == beast_http::verb::head;
    HttpResponse response;
    try {
        handler(request, response);
    } catch (...) {
        response = HttpResponse{};
        response.status = 500;
        response.body = "internal error\n";
        keep_alive = false;
    }
    reset_parser();
    if (response.deferred) {
        awaiting_ = Awaited{keep_alive, head};
        return Step::stop;
    }
    respond(response, keep_alive, head);
    if (!keep_alive) closing_ = true;
    return Step::answered;
}

bool HttpConnection::complete(const HttpResponse &response) {
    if (!awaiting_) return false;
    Awaited awaited = *awaiting_;
    awaiting_.reset();
    respond(response, awaited.keep_alive, awaited.head);
    if (!awaited.keep_alive) closing_ = true;
    return true;
}

void HttpConnection::reject(int status, const std::string &why) {
    HttpResponse response;
    response.status = status;
    response.body = why + "\n";
    respond(response, false, false);
    closing_ = true;
    rejection_ = why;
}

// A header line; CR and LF in a value are dropped, so no value can end the
// header block early or add a header of its own.
void HttpConnection::append_header(std::string_view name, std::string_view value) {
    output_ += "\r\n";
    output_ += name;
    output_ += ": ";
    for (char ch : value)
        if (ch != '\r' && ch != '\n') output_ += ch;
}

void HttpConnection::respond(const HttpResponse &response, bool keep_alive, bool head) {
    if (written_ > 0 && written_ >= output_.size() / 2) {  // drop what is sent, amortized
        output_.erase(0, written_);
        written_ = 0;
    }
    output_ += "HTTP/1.1 ";
    output_ += std::to_string(response.status);
    output_ += ' ';
    output_ += reason(response.status);
    append_header("Content-Type", response.content_type);
    if (!response.content_encoding.empty()) append_header("Content-Encoding", response.content_encoding);
    if (!response.allow.empty()) append_header("Allow", response.allow);
    if (!response.www_authenticate.empty()) append_header("WWW-Authenticate", response.www_authenticate);
    append_header("Content-Length", std::to_string(response.body.size()));
    output_ += keep_alive ? "\r\nConnection: keep-alive\r\n\r\n" : "\r\nConnection: close\r\n\r\n";
    if (!head) output_ += response.body;
}

std::string HttpConnection::feed(std::string_view bytes, const HttpHandler &handler) {
    std::string out;
    for (;;) {
        std::size_t take = std::min(input_room(), bytes.size());
        receive(bytes.substr(0, take));
        bytes.remove_prefix(take);
        std::size_t answered = answer(static_cast<std::size_t>(-1), handler);
        std::string_view produced = unwritten();
        out.append(produced);
        mark_written(produced.size());
        if (answered == 0 && (take == 0 || bytes.empty())) return out;
    }
}

}  // namespace sonde::http
