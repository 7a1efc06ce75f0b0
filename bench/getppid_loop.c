/* Calls getppid() N times and prints the mean nanoseconds per call. With a
 * RATE (calls per second), paces itself in batches of 1,000 to that rate. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 2000000;
    double rate = argc > 2 ? atof(argv[2]) : 0;
    double start = now_ns();
    for (long i = 0; i < n; i++) {
        syscall(SYS_getppid);
        if (rate > 0 && i % 1000 == 999) {
            double due = start + (i + 1) / rate * 1e9, ahead = due - now_ns();
            if (ahead > 0) {
                struct timespec t = {(time_t)(ahead / 1e9), (long)((long long)ahead % 1000000000)};
                nanosleep(&t, NULL);
            }
        }
    }
    printf("%.1f\n", (now_ns() - start) / n);
    return 0;
}
