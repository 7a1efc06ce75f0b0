// The Linux capabilities a running agent keeps, and dropping all others.
//
// sonde keeps what starting an instance needs, because an instance may start
// at any time: at start-up, by a reload, by `sonde enable` on a live agent.
// What each shipped plugin needs was measured on the running kernel with
// reduced sets (docs/service.md, "Capabilities"):
//
//   CAP_BPF, CAP_PERFMON   every eBPF tracer (syscall, sched, pagefault,
//                          iolatency): load programs, create maps, attach,
//                          open perf events
//   CAP_SYS_ADMIN          bpfinventory, at every collection (the kernel
//                          lists BPF object ids only to it); mounting tracefs
//                          for a tracer's tracepoint fallback where it is not
//                          mounted
//
// procfs, net and every sink need none as uid 0. Everything else is dropped
// from every set: effective, permitted, inheritable, ambient and, when the
// process may (CAP_SETPCAP), the bounding set. Capabilities belong to each
// thread: drop before the agent starts its first thread, and every thread it
// starts has only these.
#pragma once

#include <string>
#include <vector>

namespace sonde::core {

// The names (libcap's, "cap_bpf") of the capabilities kept.
const std::vector<std::string> &kept_capabilities();

struct CapabilityDrop {
    std::vector<std::string> kept;     // held before and kept
    std::vector<std::string> dropped;  // held (permitted or bounding) before, gone now
    std::vector<std::string> errors;   // what could not be dropped, and why
    std::vector<std::string> warnings; // what stays but matters little (the bounding set without cap_setpcap)
    int threads = 1;                   // threads of the process when it dropped: more than 1 means some kept theirs
};

// Drops every capability but kept_capabilities() from the calling thread
// (libcap). A process that holds none has nothing to drop.
CapabilityDrop drop_unneeded_capabilities();

}  // namespace sonde::core
