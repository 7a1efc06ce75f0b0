// For tests that need BPF: they run only where BPF is truly usable here
// (root, kernel BTF, the bpf syscall). Elsewhere the test process exits with
// 77, which ctest reports as skipped, after printing why. With
// SONDE_REQUIRE_BPF=1 (set by .ci/run) a missing BPF fails instead.
#pragma once

#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace sonde_test {

inline std::string bpf_unavailable_reason() {
    if (geteuid() != 0) return "not running as root";
    if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) return "no kernel BTF at /sys/kernel/btf/vmlinux";
    union bpf_attr attr {};
    attr.map_type = BPF_MAP_TYPE_ARRAY;
    attr.key_size = 4;
    attr.value_size = 4;
    attr.max_entries = 1;
    long fd = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr);
    if (fd < 0) return std::string("bpf(BPF_MAP_CREATE) failed: ") + std::strerror(errno);
    close(static_cast<int>(fd));
    return "";
}

inline void require_bpf() {
    static const std::string reason = bpf_unavailable_reason();
    if (reason.empty()) return;
    const char *required = std::getenv("SONDE_REQUIRE_BPF");
    bool must = required && std::string(required) == "1";
    std::fprintf(stderr, "%s: BPF is unavailable: %s\n", must ? "FAILED" : "SKIPPED", reason.c_str());
    std::exit(must ? 1 : 77);
}

}  // namespace sonde_test
