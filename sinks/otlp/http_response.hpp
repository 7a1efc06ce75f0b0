// Reading one HTTP/1.1 answer from bytes as they arrive, socket-free (so it
// is tested and fuzzed on its own): Beast's response parser, headers at most
// 8 KiB, body at most 1 MiB, chunked or not.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace sonde::otlp {

struct HttpResult {
    int status = 0;           // 0: no answer (error says why)
    std::string error;        // transport failure
    std::string body;
    std::string retry_after;  // Retry-After header, if any
};

class ResponseReader {
public:
    enum class State { need_more, done, failed };

    ResponseReader();
    ~ResponseReader();
    ResponseReader(const ResponseReader &) = delete;
    ResponseReader &operator=(const ResponseReader &) = delete;

    // Takes the next bytes received. Bytes after a complete answer are ignored.
    State feed(std::string_view bytes);
    // The connection was closed: an answer delimited by the close is complete.
    State finish_at_eof();

    // Once done: status, body and Retry-After.
    HttpResult result() const;
    // Once done: the server keeps the connection open and sent nothing after
    // the answer (bytes that follow would be mistaken for the next answer).
    bool keep_alive() const;
    // Once failed: why ("malformed answer: ...", "connection closed before the answer").
    const std::string &error() const { return error_; }

private:
    State parse();
    struct Parser;
    std::unique_ptr<Parser> parser_;
    std::string pending_;  // received, not yet taken by the parser
    bool received_ = false;
    std::string error_;
};

}  // namespace sonde::otlp
