// Replays fuzz inputs without libFuzzer, so that every seed and every
// reproducer kept in a corpus is a plain regression test of the normal
// build (cmake/SondeFuzz.cmake registers it with ctest).
//
// Usage: <target> PATH...   each PATH a file or a directory (read
// recursively, in sorted order). A crash, an abort or a sanitizer report
// fails the run where it happens; the last line printed names the input.
// Finding no input at all is an error: a corpus that vanished must not pass.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size);

namespace {

std::vector<std::filesystem::path> inputs_of(const std::filesystem::path &path) {
    std::vector<std::filesystem::path> files;
    if (std::filesystem::is_directory(path)) {
        for (const auto &entry : std::filesystem::recursive_directory_iterator(path))
            if (entry.is_regular_file()) files.push_back(entry.path());
        std::sort(files.begin(), files.end());
    } else if (std::filesystem::is_regular_file(path)) {
        files.push_back(path);
    }
    return files;
}

}  // namespace

int main(int argc, char **argv) {
    std::size_t replayed = 0;
    for (int i = 1; i < argc; ++i) {
        auto files = inputs_of(argv[i]);
        if (files.empty()) {
            std::fprintf(stderr, "%s: no input files\n", argv[i]);
            return 1;
        }
        for (const auto &file : files) {
            std::ifstream in(file, std::ios::binary);
            std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
            if (!in.good() && !in.eof()) {
                std::fprintf(stderr, "%s: cannot read\n", file.c_str());
                return 1;
            }
            std::fprintf(stderr, "replaying %s (%zu bytes)\n", file.c_str(), bytes.size());
            // A copy of exactly the input's size, as libFuzzer passes it, so
            // that a read past the end is caught by the sanitizer build.
            std::vector<std::uint8_t> exact(bytes.begin(), bytes.end());
            LLVMFuzzerTestOneInput(exact.data(), exact.size());
            ++replayed;
        }
    }
    if (replayed == 0) {
        std::fprintf(stderr, "usage: %s CORPUS_PATH...: no inputs replayed\n", argv[0]);
        return 1;
    }
    std::printf("replayed %zu inputs: no crash\n", replayed);
    return 0;
}
