// One HTTP/1.1 server connection as a pure state machine, without a socket:
// bytes from the peer go in, requests are parsed (Boost.Beast's parser) and
// answered through a handler, answer bytes come out. The server moves bytes
// between it and a socket; tests and the fuzz target feed it directly.
//
// Every buffer is bounded: the input by HttpLimits::max_input_bytes, a
// request header and body by their limits (beyond them: 431 or 413 and the
// connection closes), and no further request is parsed while more than
// HttpLimits::output_high_water bytes of answers are unwritten, so a client
// that pipelines requests without reading answers stalls itself, not us.
#pragma once

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace sonde::prometheus {

struct HttpRequest {
    std::string method;
    std::string target;
    std::string accept;
    std::string accept_encoding;
};

struct HttpResponse {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string content_encoding;  // "gzip" or ""
    std::string allow;             // the Allow header of a 405, or ""
    std::string body;              // for HEAD too: only its length is sent
};

using HttpHandler = std::function<void(const HttpRequest &, HttpResponse &)>;

struct HttpLimits {
    std::size_t max_header_bytes = 16 * 1024;   // request line and headers
    std::size_t max_body_bytes = 16 * 1024;     // read and discarded
    std::size_t max_input_bytes = 32 * 1024;    // received, not yet parsed
    std::size_t output_high_water = 64 * 1024;  // unwritten answers before parsing pauses
};

class HttpConnection {
public:
    explicit HttpConnection(const HttpLimits &limits = {});

    // How many bytes receive() takes now; 0 means stop reading the socket
    // (the input is full, answers are piling up unwritten, or it is closing).
    std::size_t input_room() const;
    // Appends bytes from the peer; at most input_room() of them.
    void receive(std::string_view bytes);
    // The peer closed its side: complete requests already received are
    // still answered, a partial one is dropped.
    void end_of_input();

    // Parses buffered input and answers at most `budget` requests; stops
    // early when the input holds no complete request or answers pile up.
    // Returns how many requests it answered.
    std::size_t answer(std::size_t budget, const HttpHandler &handler);

    std::string_view unwritten() const { return std::string_view(output_).substr(written_); }
    void mark_written(std::size_t bytes);

    // Some bytes of a request have arrived but not the whole request.
    bool mid_request() const;
    // Nothing more will be answered and every answer is written: close.
    bool finished() const { return closing_ && unwritten().empty(); }
    // Why the connection is closing after a rejected request ("" if none).
    const std::string &rejection() const { return rejection_; }

    // Receives `bytes`, answering every request that completes, with the
    // answers taken as written; returns their bytes. For tests and fuzzing.
    std::string feed(std::string_view bytes, const HttpHandler &handler);

private:
    enum class Step { answered, need_more, stop };
    Step answer_one(const HttpHandler &handler);
    void reset_parser();
    void respond(const HttpResponse &response, bool keep_alive, bool head);
    void reject(int status, const std::string &why);
    std::string_view buffered() const { return std::string_view(input_).substr(consumed_); }

    HttpLimits limits_;
    std::string input_;
    std::size_t consumed_ = 0;  // bytes of input_ the parser has taken
    std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
    bool parser_started_ = false;  // the current request has begun
    std::size_t need_more_than_ = 0;  // the parser waits for more than this many buffered bytes
    std::string output_;
    std::size_t written_ = 0;
    bool input_ended_ = false;
    bool closing_ = false;  // answer no more requests; close once written
    std::string rejection_;
};

}  // namespace sonde::prometheus
