// The few helpers that need _GNU_SOURCE (accept4, pipe2, CPU affinity); everything else is inline in CLinux.h.
#define _GNU_SOURCE 1
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

int clinux_pipe2(int fds[2], int nonblocking) {
    return pipe2(fds, O_CLOEXEC | (nonblocking ? O_NONBLOCK : 0));
}

int clinux_accept(int fd) { return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC); }

int clinux_pin_current_thread(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set);
}

int clinux_cpu_count(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <time.h>
#include "CLinux.h"

#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441  /* the same number on every architecture (added in Linux 5.11) */
#endif

static int pwait2_unavailable = 0;

int clinux_epoll_wait_ns(int epfd, clinux_event *out, int max, int64_t timeout_ns) {
    struct epoll_event evs[512];
    if (max > 512) max = 512;
    int n;
    if (timeout_ns > 0 && !pwait2_unavailable) {
        struct timespec ts = { .tv_sec = timeout_ns / 1000000000, .tv_nsec = timeout_ns % 1000000000 };
        n = (int)syscall(SYS_epoll_pwait2, epfd, evs, max, &ts, NULL, 0);
        if (n < 0 && errno == ENOSYS) {
            pwait2_unavailable = 1;  /* old kernel: fall back to millisecond epoll_wait, rounded up */
            n = epoll_wait(epfd, evs, max, (int)((timeout_ns + 999999) / 1000000));
        }
    } else if (timeout_ns > 0) {
        n = epoll_wait(epfd, evs, max, (int)((timeout_ns + 999999) / 1000000));
    } else {
        n = epoll_wait(epfd, evs, max, timeout_ns == 0 ? 0 : -1);
    }
    for (int i = 0; i < n; i++) {
        out[i].data = evs[i].data.u64;
        out[i].events = evs[i].events;
        out[i].reserved = 0;
    }
    return n;
}
