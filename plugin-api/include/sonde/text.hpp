// Allocation-free scanning of /proc-style text: lines, whitespace-separated
// fields, numbers. For parsers that take std::string_view.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sonde::text {

// Yields successive lines (without '\n'); a last line without '\n' counts.
class Lines {
public:
    explicit Lines(std::string_view text) : rest_(text) {}
    bool next(std::string_view &line) {
        if (rest_.empty()) return false;
        std::size_t end = rest_.find('\n');
        line = rest_.substr(0, end);
        rest_ = end == std::string_view::npos ? std::string_view{} : rest_.substr(end + 1);
        ++number_;
        return true;
    }
    // 1-based number of the line last returned.
    std::size_t number() const { return number_; }
    // True when the text ended without a final newline (a truncated read).
    static bool ends_cleanly(std::string_view text) { return !text.empty() && text.back() == '\n'; }

private:
    std::string_view rest_;
    std::size_t number_ = 0;
};

// Yields fields separated by spaces or tabs.
class Fields {
public:
    explicit Fields(std::string_view line) : rest_(line) {}
    bool next(std::string_view &field) {
        std::size_t start = rest_.find_first_not_of(" \t");
        if (start == std::string_view::npos) return false;
        rest_ = rest_.substr(start);
        std::size_t end = rest_.find_first_of(" \t");
        field = rest_.substr(0, end);
        rest_ = end == std::string_view::npos ? std::string_view{} : rest_.substr(end);
        return true;
    }
private:
    std::string_view rest_;
};

template <typename T>
std::optional<T> number(std::string_view s, int base = 10) {
    T value{};
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value, base);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return value;
}

inline std::optional<double> decimal(std::string_view s) {
    double value{};
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return value;
}

// Removes leading and trailing spaces and tabs.
inline std::string_view trim(std::string_view s) {
    std::size_t a = s.find_first_not_of(" \t");
    if (a == std::string_view::npos) return {};
    std::size_t b = s.find_last_not_of(" \t");
    return s.substr(a, b - a + 1);
}

// "line 3: what", for parse errors.
inline std::string at_line(std::size_t line, std::string_view what) {
    return "line " + std::to_string(line) + ": " + std::string(what);
}

// A parse error unless the text is complete: non-empty and ending in a
// newline (a read cut short leaves a partial last line).
inline std::optional<std::string> incomplete(std::string_view text) {
    if (Lines::ends_cleanly(text)) return std::nullopt;
    return std::string(text.empty() ? "empty file" : "truncated: no final newline");
}

}  // namespace sonde::text
