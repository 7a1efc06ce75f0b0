// Helpers for fuzz targets: views of the input bytes, splitting one input
// into several documents, and a check that aborts with a message (a fuzz
// target reports a broken property by crashing, so libFuzzer keeps the input).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace sonde::fuzz {

// Wide enough to hold any product of two uint64_t: for exact oracles.
__extension__ typedef unsigned __int128 wide_uint;

inline std::string_view as_text(const std::uint8_t *data, std::size_t size) {
    return {reinterpret_cast<const char *>(data), size};
}

// Splits the input at NUL bytes: one input becomes several documents (NUL is
// never valid in the text formats fuzzed here, so no input is lost by it).
inline std::vector<std::string_view> split_documents(std::string_view input, std::size_t max_documents = 8) {
    std::vector<std::string_view> documents;
    while (documents.size() + 1 < max_documents) {
        std::size_t nul = input.find('\0');
        if (nul == std::string_view::npos) break;
        documents.push_back(input.substr(0, nul));
        input.remove_prefix(nul + 1);
    }
    documents.push_back(input);
    return documents;
}

// Aborts with `what` when a property the parser promises does not hold.
inline void require(bool holds, const char *what) {
    if (holds) return;
    std::fprintf(stderr, "fuzz property violated: %s\n", what);
    std::abort();
}

}  // namespace sonde::fuzz
