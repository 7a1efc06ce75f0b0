// One HTTP/1.1 server connection as a pure state machine, without a socket:
// bytes from the peer go in, requests are parsed (Boost.Beast's parser) and
// answered through a handler, answer bytes come out. A server (the
// Prometheus sink's, the agent's admin listener) moves bytes between it and
// a socket; tests and the fuzz target feed it directly.
//
// Every buffer is bounded: the input by HttpLimits::max_input_bytes, a
// request header and body by their limits (beyond them: 431 or 413 and the
// connection closes), and no further request is parsed while more than
// HttpLimits::output_high_water bytes of answers are unwritten, so a client
// that pipelines requests without reading answers stalls itself, not us.
//
// A handler may answer later: it marks the response `deferred`, and the
// connection parses nothing more (pipelined requests wait, answers stay in
// order) until complete() gives the answer.
#pragma once

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace sonde::http {

// One parsed request; a header the client did not send is "".
struct HttpRequest {
    std::string method;  // as sent, e.g. "GET"
    std::string target;  // path and query, as sent: "/status?x=1"
    std::string accept;
    std::string accept_encoding;
    std::string authorization;  // the whole header value, e.g. "Bearer abc"
    std::string content_type;
    std::string body;  // only with HttpLimits::keep_body, else always ""
};

struct HttpResponse {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string content_encoding;  // "gzip" or ""
    std::string allow;             // the Allow header of a 405, or ""
    std::string www_authenticate;  // the WWW-Authenticate header of a 401, or ""
    std::string body;              // for HEAD too: only its length is sent
    // Set by a handler that answers later through HttpConnection::complete();
    // every other field is then ignored.
    bool deferred = false;
};

// Called once per request. May throw: the client gets 500 and the
// connection closes.
using HttpHandler = std::function<void(const HttpRequest &, HttpResponse &)>;

struct HttpLimits {
    std::size_t max_header_bytes = 16 * 1024;   // request line and headers
    std::size_t max_body_bytes = 16 * 1024;     // read, then kept or discarded
    std::size_t max_input_bytes = 32 * 1024;    // received, not yet parsed
    std::size_t output_high_water = 64 * 1024;  // unwritten answers before parsing pauses
    bool keep_body = false;                     // hand the body to the handler in HttpRequest::body
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
    // early when the input holds no complete request, answers pile up, or
    // the handler deferred its answer. Returns how many requests it
    // answered (a deferred one is not counted).
    std::size_t answer(std::size_t budget, const HttpHandler &handler);

    // A handler deferred its answer and complete() has not been called yet.
    bool awaiting_answer() const { return awaiting_.has_value(); }
    // Gives the deferred answer (queued like any other, in request order);
    // call answer() afterwards for the requests that waited behind it.
    // Returns false, ignoring the response, when no answer is awaited.
    // `response.deferred` is ignored.
    bool complete(const HttpResponse &response);

    std::string_view unwritten() const { return std::string_view(output_).substr(written_); }
    void mark_written(std::size_t bytes);

    // Some bytes of a request have arrived but not the whole request
    // (false while an answer is awaited: then the server is the slow one).
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
    void append_header(std::string_view name, std::string_view value);
    void reject(int status, const std::string &why);
    std::string_view buffered() const { return std::string_view(input_).substr(consumed_); }

    HttpLimits limits_;
    std::string input_;
    std::size_t consumed_ = 0;  // bytes of input_ the parser has taken
    std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
    bool parser_started_ = false;  // the current request has begun
    bool continue_sent_ = false;   // "100 Continue" went out for the current request
    std::size_t need_more_than_ = 0;  // the parser waits for more than this many buffered bytes
    std::string output_;
    std::size_t written_ = 0;
    bool input_ended_ = false;
    bool closing_ = false;  // answer no more requests; close once written
    std::string rejection_;
    struct Awaited {  // what the answer of a deferred request needs
        bool keep_alive;
        bool head;
    };
    std::optional<Awaited> awaiting_;
};

}  // namespace sonde::http
