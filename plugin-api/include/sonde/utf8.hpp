// UTF-8 validation and repair for strings that come from the kernel or from
// another process (command names, paths, device names): such strings are
// bytes, and every output format of sonde requires UTF-8.
//
// Repair follows the Unicode "best practice" for U+FFFD substitution, which
// is also what the WHATWG Encoding Standard's decoder does: each maximal
// subpart of an ill-formed sequence becomes one U+FFFD. Well-formed means
// Unicode's Table 3-7: no overlong forms, no surrogates (U+D800..U+DFFF),
// nothing above U+10FFFF. NUL and other control characters are well-formed;
// escaping them is each output format's job.
//
// Every function takes a std::string_view and never fails; none allocates
// except to append to the caller's string.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace sonde::utf8 {

// U+FFFD REPLACEMENT CHARACTER, encoded.
inline constexpr std::string_view replacement = "\xEF\xBF\xBD";

// What starts at one position of a string.
struct Sequence {
    std::size_t length;  // bytes: the character when valid, else the maximal subpart (1..3)
    bool valid;
};

// The sequence that starts at s[at] (at < s.size()).
inline Sequence sequence_at(std::string_view s, std::size_t at) noexcept {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[at + i]); };
    const unsigned char lead = byte(0);
    if (lead < 0x80) return {1, true};
    std::size_t need;                     // continuation bytes after the lead
    unsigned char low = 0x80, high = 0xBF;  // range of the first continuation byte
    if (lead >= 0xC2 && lead <= 0xDF) need = 1;
    else if (lead == 0xE0) need = 2, low = 0xA0;          // no overlongs
    else if (lead == 0xED) need = 2, high = 0x9F;         // no surrogates
    else if (lead >= 0xE1 && lead <= 0xEF) need = 2;
    else if (lead == 0xF0) need = 3, low = 0x90;          // no overlongs
    else if (lead == 0xF4) need = 3, high = 0x8F;         // nothing above U+10FFFF
    else if (lead >= 0xF1 && lead <= 0xF3) need = 3;
    else return {1, false};  // a continuation byte, C0/C1 (always overlong) or F5..FF
    const std::size_t available = s.size() - at - 1;
    std::size_t i = 1;
    for (; i <= need && i <= available; ++i) {
        const unsigned char c = byte(i);
        if (i == 1 ? (c < low || c > high) : (c < 0x80 || c > 0xBF)) return {i, false};
    }
    return i > need ? Sequence{need + 1, true} : Sequence{i, false};  // else truncated by the end
}

// The length of the longest prefix of s that is valid UTF-8.
inline std::size_t valid_prefix(std::string_view s) noexcept {
    std::size_t at = 0;
    while (at < s.size()) {
        // Eight ASCII bytes at a time: the common case for names and paths.
        while (s.size() - at >= 8) {
            std::uint64_t word;
            std::memcpy(&word, s.data() + at, sizeof word);
            if (word & 0x8080808080808080ull) break;
            at += 8;
        }
        if (at == s.size()) break;
        if (static_cast<unsigned char>(s[at]) < 0x80) {
            ++at;
            continue;
        }
        const Sequence seq = sequence_at(s, at);
        if (!seq.valid) return at;
        at += seq.length;
    }
    return s.size();
}

// True when every byte is ASCII: the check sonde's hot paths make first.
inline bool is_ascii(std::string_view s) noexcept {
    std::uint64_t any = 0;
    std::size_t at = 0;
    for (; s.size() - at >= 8; at += 8) {
        std::uint64_t word;
        std::memcpy(&word, s.data() + at, sizeof word);
        any |= word;
    }
    for (; at < s.size(); ++at) any |= static_cast<unsigned char>(s[at]);
    return (any & 0x8080808080808080ull) == 0;
}

inline bool is_valid(std::string_view s) noexcept { return is_ascii(s) || valid_prefix(s) == s.size(); }

// Calls emit(std::string_view) with the pieces of s repaired: valid runs as
// they are, `replacement` for each maximal invalid subpart. The one loop
// every writer below shares, for callers whose buffer is not a std::string.
template <typename Emit>
void for_each_repaired(std::string_view s, Emit &&emit) {
    std::size_t at = 0;
    while (at < s.size()) {
        const std::size_t valid = at + valid_prefix(s.substr(at));
        if (valid > at) emit(s.substr(at, valid - at));
        if (valid == s.size()) break;
        emit(replacement);
        at = valid + sequence_at(s, valid).length;
    }
}

// The size of s once repaired (s.size() when s is valid).
inline std::size_t repaired_size(std::string_view s) noexcept {
    std::size_t size = 0;
    for_each_repaired(s, [&](std::string_view piece) { size += piece.size(); });
    return size;
}

// Appends s to out, each maximal invalid subpart replaced by U+FFFD.
inline void append_repaired(std::string &out, std::string_view s) {
    for_each_repaired(s, [&](std::string_view piece) { out.append(piece); });
}

inline std::string repaired(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    append_repaired(out, s);
    return out;
}

}  // namespace sonde::utf8
