#include "control/capabilities.hpp"

#include <sys/capability.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

namespace sonde::core {

namespace {

struct CapFree {
    void operator()(void *p) const { cap_free(p); }
};
using CapState = std::unique_ptr<std::remove_pointer_t<cap_t>, CapFree>;

std::string name_of(cap_value_t cap) {
    std::unique_ptr<char, CapFree> name(cap_to_name(cap));
    return name ? name.get() : "cap_" + std::to_string(cap);
}

bool has(cap_t state, cap_value_t cap, cap_flag_t set) {
    cap_flag_value_t value = CAP_CLEAR;
    return cap_get_flag(state, cap, set, &value) == 0 && value == CAP_SET;
}

int thread_count() {
    std::error_code ec;
    int n = 0;
    for (auto it = std::filesystem::directory_iterator("/proc/self/task", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
        ++n;
    return std::max(n, 1);
}

std::string failure(const std::string &what) { return what + ": " + std::strerror(errno); }

}  // namespace

const std::vector<std::string> &kept_capabilities() {
    static const std::vector<std::string> kept = {"cap_bpf", "cap_perfmon", "cap_sys_admin"};
    return kept;
}

CapabilityDrop drop_unneeded_capabilities() {
    CapabilityDrop out;
    out.threads = thread_count();
    CapState now(cap_get_proc());
    if (!now) {
        out.errors.push_back(failure("cap_get_proc"));
        return out;
    }
    const auto &kept_names = kept_capabilities();
    auto keep = [&](cap_value_t cap) {
        return std::find(kept_names.begin(), kept_names.end(), name_of(cap)) != kept_names.end();
    };
    const auto last = static_cast<cap_value_t>(cap_max_bits());
    bool holds_any = false;
    for (cap_value_t cap = 0; cap < last; ++cap) holds_any = holds_any || has(now.get(), cap, CAP_PERMITTED);
    if (!holds_any) return out;  // nothing to use, nothing to drop

    // The bounding set first: dropping from it takes CAP_SETPCAP, which the
    // second step gives up.
    std::string bounding_kept;
    int bounding_errno = 0;
    for (cap_value_t cap = 0; cap < last; ++cap) {
        const bool permitted = has(now.get(), cap, CAP_PERMITTED);
        if (keep(cap)) {
            if (permitted) out.kept.push_back(name_of(cap));
            continue;
        }
        const bool bounding = cap_get_bound(cap) == 1;
        const bool left_bounding = bounding && cap_drop_bound(cap) != 0;
        if (left_bounding) {
            bounding_errno = errno;
            bounding_kept += (bounding_kept.empty() ? "" : ",") + name_of(cap);
        }
        if (permitted || (bounding && !left_bounding)) out.dropped.push_back(name_of(cap));
    }
    // A process given capabilities without cap_setpcap (a user's ambient
    // ones) cannot shrink it; it bounds only what a program this process
    // executed could gain, and sonde executes none.
    if (!bounding_kept.empty())
        out.warnings.push_back("the bounding set keeps " + bounding_kept + ": " + std::strerror(bounding_errno) +
                               " (dropping from it needs cap_setpcap; sonde executes no program)");

    CapState next(cap_init());  // every flag clear: inheritable stays empty
    for (cap_value_t cap = 0; cap < last; ++cap) {
        if (!keep(cap) || !has(now.get(), cap, CAP_PERMITTED)) continue;
        cap_set_flag(next.get(), CAP_PERMITTED, 1, &cap, CAP_SET);
        cap_set_flag(next.get(), CAP_EFFECTIVE, 1, &cap, CAP_SET);
    }
    if (cap_set_proc(next.get()) != 0) {
        out.errors.push_back(failure("cap_set_proc"));
        out.dropped.clear();
        return out;
    }
    // Ambient capabilities are those an exec would pass on; sonde runs none,
    // and they cannot outlive their permitted bit anyway.
    if (CAP_AMBIENT_SUPPORTED() && cap_reset_ambient() != 0) out.errors.push_back(failure("cap_reset_ambient"));
    return out;
}

}  // namespace sonde::core
