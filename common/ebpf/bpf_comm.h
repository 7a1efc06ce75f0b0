/*
 * Command-name filter for BPF programs (include after vmlinux.h). A plugin
 * sets its `const volatile char filter_comm[16]` before load; "" matches
 * every task.
 */
#ifndef SONDE_BPF_COMM_H
#define SONDE_BPF_COMM_H

#define SONDE_COMM_LEN 16

static __always_inline bool sonde_comm_matches(const char *comm, const volatile char *filter) {
    if (!filter[0]) return true;
    for (int i = 0; i < SONDE_COMM_LEN; i++) {
        if (comm[i] != filter[i]) return false;
        if (!comm[i]) return true;
    }
    return true;
}

#endif
