// sonde::bpf::KernelBtfLoadLock, which keeps the tracers' BPF loads (each
// holding a parse of the kernel's BTF) from overlapping when the agent runs
// several io threads; iolatency's tracepoint_arg_count takes it inside its
// load. Two threads open the BTF file separately, as two plugins would.
#include "ebpf/bpf_load_lock.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>

using sonde::bpf::KernelBtfLoadLock;
using namespace std::chrono_literals;

namespace {
void require_kernel_btf() {
    REQUIRE_MESSAGE(access("/sys/kernel/btf/vmlinux", R_OK) == 0, "no kernel BTF: the lock has nothing to lock");
}
}  // namespace

TEST_CASE("a second load waits until the first one ends") {
    require_kernel_btf();
    std::atomic<bool> second_holds{false};
    std::thread second;
    {
        KernelBtfLoadLock first;
        second = std::thread([&] {
            KernelBtfLoadLock lock;
            second_holds = true;
        });
        std::this_thread::sleep_for(200ms);
        CHECK_FALSE(second_holds.load());
    }
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!second_holds && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
    CHECK(second_holds.load());
    second.join();
}

TEST_CASE("a lock taken inside a load on the same thread does not wait for itself, and the outer one still holds") {
    require_kernel_btf();
    std::atomic<bool> other_holds{false};
    std::thread other;
    {
        KernelBtfLoadLock load;
        { KernelBtfLoadLock parse_inside_the_load; }  // would deadlock on a second flock of its own
        other = std::thread([&] {
            KernelBtfLoadLock lock;
            other_holds = true;
        });
        std::this_thread::sleep_for(200ms);
        CHECK_FALSE(other_holds.load());  // the inner lock's end did not release the outer one
    }
    other.join();
    CHECK(other_holds.load());
}
