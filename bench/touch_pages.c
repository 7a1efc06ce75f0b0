/* Maps, touches (one write per 4 KiB page) and unmaps MIB of anonymous
 * memory ROUNDS times; prints the mean nanoseconds per page fault. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? (size_t)atol(argv[1]) : 256;
    int rounds = argc > 2 ? atoi(argv[2]) : 4;
    size_t size = mib << 20, page = (size_t)sysconf(_SC_PAGESIZE), faults = 0;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int r = 0; r < rounds; r++) {
        char *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) return 1;
        madvise(m, size, MADV_NOHUGEPAGE);
        for (size_t off = 0; off < size; off += page, faults++) m[off] = 1;
        munmap(m, size);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (double)faults);
    return 0;
}
