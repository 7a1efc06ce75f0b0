// Fuzzes the reading of NETLINK_SOCK_DIAG dump answers (the datagrams the
// kernel sends; here from the input, sequence number 1 as in the captured
// seeds). No message may be read past its own length: ASan sees any read
// past the input. A failure carries a reason, and no more sockets are
// counted than whole socket messages fit in the input.
#include "fuzz_input.hpp"

#include "tcp_diag.hpp"

#include <linux/inet_diag.h>
#include <linux/netlink.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <numeric>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    using sonde::fuzz::require;
    // A buffer of exactly the input's size, 4-byte aligned as the receive
    // buffer is, so that ASan sees a read past the end.
    std::unique_ptr<std::uint8_t[]> exact(new std::uint8_t[size]);
    const void *datagram = data;
    if (reinterpret_cast<std::uintptr_t>(data) % 4 != 0) {
        std::memcpy(exact.get(), data, size);
        datagram = exact.get();  // new[] is suitably aligned
    }
    sonde::net::TcpStateCounts counts{};
    std::string error;
    auto step = sonde::net::count_inet_diag_datagram(datagram, size, 1, counts, error);
    require(step != sonde::net::InetDiagStep::failed || !error.empty(), "failure without a reason");
    std::uint64_t counted = std::accumulate(counts.begin(), counts.end(), std::uint64_t{0});
    require(counted <= size / NLMSG_SPACE(sizeof(inet_diag_msg)), "more sockets than messages");
    return 0;
}
