// Allocation-free scanning of /proc-style text: lines, whitespace-separated
// fields, numbers. For parsers that take std::string_view.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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
        // Plain loops: find_first_of(" \t") calls memchr once per character.
        std::size_t start = 0, n = rest_.size();
        while (start < n && is_blank(rest_[start])) ++start;
        if (start == n) {
            rest_ = {};
            return false;
        }
        std::size_t end = start;
        while (end < n && !is_blank(rest_[end])) ++end;
        field = rest_.substr(start, end - start);
        rest_.remove_prefix(end);
        return true;
    }
    static bool is_blank(char c) { return c == ' ' || c == '\t'; }

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
    while (!s.empty() && Fields::is_blank(s.front())) s.remove_prefix(1);
    while (!s.empty() && Fields::is_blank(s.back())) s.remove_suffix(1);
    return s;
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

// The CPU numbers of a kernel CPU list ("0-3,5\n", as in
// /sys/devices/system/cpu/online), ascending ranges of numbers below
// max_cpus; nullopt for anything else (the list is bounded, whatever the file says).
inline std::optional<std::vector<int>> cpu_list(std::string_view s, int max_cpus = 65536) {
    if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
    std::vector<int> cpus;
    while (!s.empty()) {
        std::size_t comma = s.find(',');
        std::string_view range = s.substr(0, comma);
        s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
        if (comma != std::string_view::npos && s.empty()) return std::nullopt;  // trailing comma
        std::size_t dash = range.find('-');
        auto first = number<int>(range.substr(0, dash));
        auto last = dash == std::string_view::npos ? first : number<int>(range.substr(dash + 1));
        if (!first || !last || *first < 0 || *last < *first || *last >= max_cpus) return std::nullopt;
        if (!cpus.empty() && *first <= cpus.back()) return std::nullopt;
        for (int cpu = *first; cpu <= *last; ++cpu) cpus.push_back(cpu);
    }
    return cpus;
}

}  // namespace sonde::text
