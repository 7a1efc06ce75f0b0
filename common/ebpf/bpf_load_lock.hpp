// One BPF load at a time in the process. Loading an object makes libbpf 1.1
// parse the kernel's BTF (/sys/kernel/btf/vmlinux: the raw file, a copy and
// a type index, about 11.7 MB on a 5.5 MB BTF) and free it when the load
// ends; two loads at once (agent.threads > 1) hold two. Plugins are separate
// shared objects loaded RTLD_LOCAL, so a static mutex in this header would be
// one per plugin; an flock(2) on the BTF file is one per process, because
// flock locks belong to open file descriptions and two opens of one file
// exclude each other, also within a process (and also within a thread: a
// nested lock, such as tracepoint_arg_count inside a load, only counts).
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

namespace sonde::bpf {

class KernelBtfLoadLock {
public:
    // Blocks until no other load holds the lock. Without the file (no BTF)
    // there is nothing to share and it does not lock.
    KernelBtfLoadLock() {
        if (depth()++ > 0) return;
        fd_ = ::open("/sys/kernel/btf/vmlinux", O_RDONLY | O_CLOEXEC);
        if (fd_ < 0) return;
        while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
        }
    }
    ~KernelBtfLoadLock() {
        --depth();
        if (fd_ >= 0) ::close(fd_);  // releases the lock
    }
    KernelBtfLoadLock(const KernelBtfLoadLock &) = delete;
    KernelBtfLoadLock &operator=(const KernelBtfLoadLock &) = delete;

private:
    static int &depth() {
        thread_local int held = 0;
        return held;
    }
    int fd_ = -1;
};

}  // namespace sonde::bpf
