#ifndef CLINUX_H
#define CLINUX_H
// Header-only shim: what Swift's Glibc module does not export well (epoll's packed struct, eventfd, accept4,
// pipe2, socket type flags, sockaddr juggling, CPU affinity). Every helper returns -1 and leaves errno set on failure.

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

// MARK: epoll

/// An unpacked epoll event (struct epoll_event is packed on x86_64, which Swift imports poorly).
typedef struct {
    uint64_t data;
    uint32_t events;
    uint32_t reserved;
} clinux_event;

static const uint32_t CLINUX_EPOLLIN = EPOLLIN;
static const uint32_t CLINUX_EPOLLOUT = EPOLLOUT;
static const uint32_t CLINUX_EPOLLERR = EPOLLERR;
static const uint32_t CLINUX_EPOLLHUP = EPOLLHUP;
static const uint32_t CLINUX_EPOLLRDHUP = EPOLLRDHUP;
/// Wake only one of the epoll instances waiting on a shared fd (a listening socket shared by several loops).
static const uint32_t CLINUX_EPOLLEXCLUSIVE = 1u << 28;
static const int CLINUX_EPOLL_CTL_ADD = EPOLL_CTL_ADD;
static const int CLINUX_EPOLL_CTL_MOD = EPOLL_CTL_MOD;
static const int CLINUX_EPOLL_CTL_DEL = EPOLL_CTL_DEL;

static inline int clinux_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

static inline int clinux_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &ev);
}

/// Waits like epoll_wait and copies up to `max` (at most 512) events into `out`.
static inline int clinux_epoll_wait(int epfd, clinux_event *out, int max, int timeout_ms) {
    struct epoll_event evs[512];
    if (max > 512) max = 512;
    int n = epoll_wait(epfd, evs, max, timeout_ms);
    for (int i = 0; i < n; i++) {
        out[i].data = evs[i].data.u64;
        out[i].events = evs[i].events;
        out[i].reserved = 0;
    }
    return n;
}

// MARK: eventfd, pipes

static inline int clinux_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

static inline int clinux_eventfd_signal(int fd) {
    uint64_t one = 1;
    return (int)write(fd, &one, sizeof one);
}

static inline int clinux_eventfd_drain(int fd) {
    uint64_t value = 0;
    return (int)read(fd, &value, sizeof value);
}

static inline int clinux_set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

// MARK: sockets

/// A non-blocking, close-on-exec TCP socket for the family (AF_INET or AF_INET6).
static inline int clinux_tcp_socket(int family) {
    return socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

static inline int clinux_setsockopt_int(int fd, int level, int name, int value) {
    return setsockopt(fd, level, name, &value, sizeof value);
}

static inline int clinux_set_reuse(int fd, int reuseport) {
    if (clinux_setsockopt_int(fd, SOL_SOCKET, SO_REUSEADDR, 1) != 0) return -1;
    if (reuseport && clinux_setsockopt_int(fd, SOL_SOCKET, SO_REUSEPORT, 1) != 0) return -1;
    return 0;
}

static inline int clinux_set_nodelay(int fd) { return clinux_setsockopt_int(fd, IPPROTO_TCP, TCP_NODELAY, 1); }

/// The pending socket error (SO_ERROR), or -1 when getsockopt fails.
static inline int clinux_socket_error(int fd) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return -1;
    return err;
}

/// An address for a numeric host or a name (resolved with getaddrinfo, which may block).
typedef struct {
    struct sockaddr_storage storage;
    socklen_t length;
    int family;
} clinux_address;

/// Fills `out` for host:port. Returns 0, or an EAI_* code (non-zero) when the host cannot be resolved.
static inline int clinux_resolve(const char *host, int port, clinux_address *out) {
    memset(out, 0, sizeof *out);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&out->storage;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        out->length = sizeof *v4;
        out->family = AF_INET;
        return 0;
    }
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->storage;
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        out->length = sizeof *v6;
        out->family = AF_INET6;
        return 0;
    }
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0) return rc;
    if (res == NULL) return EAI_NONAME;
    memcpy(&out->storage, res->ai_addr, res->ai_addrlen);
    out->length = res->ai_addrlen;
    out->family = res->ai_family;
    if (res->ai_family == AF_INET) ((struct sockaddr_in *)&out->storage)->sin_port = htons((uint16_t)port);
    else ((struct sockaddr_in6 *)&out->storage)->sin6_port = htons((uint16_t)port);
    freeaddrinfo(res);
    return 0;
}

static inline int clinux_bind(int fd, const clinux_address *address) {
    return bind(fd, (const struct sockaddr *)&address->storage, address->length);
}

static inline int clinux_connect(int fd, const clinux_address *address) {
    return connect(fd, (const struct sockaddr *)&address->storage, address->length);
}

/// The local port a socket is bound to, or -1.
static inline int clinux_local_port(int fd) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return -1;
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

/// Sends with MSG_NOSIGNAL so a closed peer yields EPIPE instead of SIGPIPE.
static inline ssize_t clinux_send(int fd, const void *bytes, size_t count) {
    return send(fd, bytes, count, MSG_NOSIGNAL);
}

/// Closes with an RST instead of a FIN (SO_LINGER 0), for tests and aborts.
static inline int clinux_abort_close(int fd) {
    struct linger l;
    l.l_onoff = 1;
    l.l_linger = 0;
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    return close(fd);
}

static inline int clinux_shutdown_write(int fd) { return shutdown(fd, SHUT_WR); }

// MARK: process and threads (functions needing _GNU_SOURCE live in shim.c)

/// pipe2 with O_CLOEXEC, plus O_NONBLOCK when `nonblocking` is non-zero.
int clinux_pipe2(int fds[2], int nonblocking);
/// Like clinux_epoll_wait with a nanosecond timeout (negative: wait forever), using epoll_pwait2 where the
/// kernel has it, so that timers fire on time instead of up to a millisecond late.
int clinux_epoll_wait_ns(int epfd, clinux_event *out, int max, int64_t timeout_ns);
/// accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC; returns the new fd or -1.
int clinux_accept(int fd);
/// Pins the calling thread to one CPU.
int clinux_pin_current_thread(int cpu);
/// CPUs this process may run on (at least 1).
int clinux_cpu_count(void);

static inline void clinux_ignore_sigpipe(void) { signal(SIGPIPE, SIG_IGN); }

/// CLOCK_MONOTONIC in nanoseconds.
static inline uint64_t clinux_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline int clinux_errno(void) { return errno; }

// MARK: libcurl through dlsym

/// libcurl's `curl_easy_setopt` and `curl_easy_getinfo` are variadic, which Swift cannot call; these call
/// the function pointer found with dlsym with one argument of the right type. Each returns the CURLcode.
static inline int clinux_curl_setopt_pointer(void *setopt, void *handle, int option, const void *value) {
    return ((int (*)(void *, int, ...))setopt)(handle, option, value);
}
static inline int clinux_curl_setopt_long(void *setopt, void *handle, int option, long value) {
    return ((int (*)(void *, int, ...))setopt)(handle, option, value);
}
static inline int clinux_curl_getinfo_long(void *getinfo, void *handle, int info, long *value) {
    return ((int (*)(void *, int, ...))getinfo)(handle, info, value);
}

#endif
