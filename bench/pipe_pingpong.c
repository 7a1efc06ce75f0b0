/* Two threads pinned to one CPU bounce a byte through two pipes N times;
 * prints the mean nanoseconds per round trip (two context switches). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int ab[2], ba[2];
static long rounds;
static int cpu;

static void pin(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *pong(void *arg) {
    (void)arg;
    pin();
    char c;
    for (long i = 0; i < rounds; i++)
        if (read(ab[0], &c, 1) != 1 || write(ba[1], &c, 1) != 1) break;
    return NULL;
}

int main(int argc, char **argv) {
    rounds = argc > 1 ? atol(argv[1]) : 200000;
    cpu = argc > 2 ? atoi(argv[2]) : 1;
    if (pipe(ab) || pipe(ba)) return 1;
    pthread_t t;
    pthread_create(&t, NULL, pong, NULL);
    pin();
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    char c = 'x';
    for (long i = 0; i < rounds; i++)
        if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1) break;
    clock_gettime(CLOCK_MONOTONIC, &b);
    pthread_join(t, NULL);
    printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / rounds);
    return 0;
}
