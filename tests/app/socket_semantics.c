/* socket_semantics: the socket-semantics comparison suite.
 *
 * One program, two roles:
 *
 *   socket_semantics peer PORT [--max-seconds N]
 *       The Linux-side helper. Listens on 0.0.0.0:PORT and serves a one-line
 *       command per connection (see peer_serve()). It also listens on PORT+2 with
 *       a backlog of 0 whose accept queue it fills itself at start, so SYNs to
 *       PORT+2 are dropped and a connect() there stays pending (SYN-SENT).
 *       PORT+1 is never listened on: connects there are refused.
 *
 *   socket_semantics client PEER_IP PORT [CASE...]
 *   socket_semantics list
 *       Runs the cases (all by default) and prints one line per case,
 *       "case_name: outcome", where the outcome holds only deterministic facts:
 *       return values with errno names, byte counts, checksums, readiness bits.
 *       Exit status is 0 whatever the outcomes; non-zero only if the harness
 *       itself breaks (bad usage, or the watchdog fired: a case hung).
 *
 * The same binary runs natively and under the Joyride preload; the two outputs
 * are compared line by line (tests/app/run_semantics.sh). Linux is the reference:
 * every case pins a Linux behaviour, named in the comment above it.
 *
 * Plain C11 + POSIX + Linux headers; builds with cc -O1 -Wall -Wextra -pthread.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/sockios.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Common: pattern, checksum, time, errno names                             */
/* ------------------------------------------------------------------------ */

/* The byte at stream offset `off` of pattern `seed`: both sides generate it. */
static uint8_t pattern_byte(uint64_t off, unsigned seed)
{
    return (uint8_t)((off * 131u) ^ (off >> 9) ^ (seed * 0x5bu + 7u));
}

static void pattern_fill(uint8_t *buf, size_t n, uint64_t off, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = pattern_byte(off + i, seed);
}

/* FNV-1a, 32 bit, streamed. */
#define CKSUM_INIT 0x811c9dc5u
static uint32_t cksum_add(uint32_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x01000193u;
    }
    return h;
}

static uint32_t pattern_cksum(size_t n, unsigned seed)
{
    uint8_t buf[4096];
    uint32_t h = CKSUM_INIT;
    for (size_t off = 0; off < n;) {
        size_t k = n - off < sizeof buf ? n - off : sizeof buf;
        pattern_fill(buf, k, off, seed);
        h = cksum_add(h, buf, k);
        off += k;
    }
    return h;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t ms_since(int64_t t0) { return (now_ns() - t0) / 1000000; }

/* Elapsed >= the requested timeout, with 2 ms of slack for clock granularity. */
static const char *elapsed_ok(int64_t t0, int timeout_ms)
{
    return now_ns() - t0 >= (int64_t)timeout_ms * 1000000 - 2000000 ? "yes" : "no";
}

static const char *errno_name(int e)
{
    switch (e) {
#define E(x) case x: return #x;
    E(EPERM) E(ENOENT) E(EINTR) E(EIO) E(EBADF) E(EAGAIN) E(ENOMEM) E(EACCES)
    E(EFAULT) E(EBUSY) E(EEXIST) E(EINVAL) E(ENFILE) E(EMFILE) E(ENOSPC) E(ESPIPE)
    E(EPIPE) E(ERANGE) E(ENOSYS) E(ENOTSOCK) E(EDESTADDRREQ) E(EMSGSIZE)
    E(EPROTOTYPE) E(ENOPROTOOPT) E(EPROTONOSUPPORT) E(EOPNOTSUPP) E(EAFNOSUPPORT)
    E(EADDRINUSE) E(EADDRNOTAVAIL) E(ENETDOWN) E(ENETUNREACH) E(ECONNABORTED)
    E(ECONNRESET) E(ENOBUFS) E(EISCONN) E(ENOTCONN) E(ETIMEDOUT) E(ECONNREFUSED)
    E(EHOSTUNREACH) E(EALREADY) E(EINPROGRESS) E(ENOTTY) E(ESHUTDOWN)
#undef E
    default: {
        static _Thread_local char buf[16];
        snprintf(buf, sizeof buf, "E%d", e);
        return buf;
    }
    }
}

/* "N" for a non-negative return, "-1 ENAME" for an error. Reads errno, so it
 * must be called directly on the syscall's result: R(connect(...)). Rotating
 * buffers so several may appear in one printf. */
static const char *R(long r)
{
    static _Thread_local char bufs[8][32];
    static _Thread_local unsigned next;
    int e = errno;
    char *b = bufs[next++ % 8];
    if (r < 0)
        snprintf(b, 32, "%ld %s", r, errno_name(e));
    else
        snprintf(b, 32, "%ld", r);
    return b;
}

/* poll/epoll bits as names in a fixed order; "0" for none. */
static const char *pollbits(unsigned ev)
{
    static _Thread_local char bufs[4][96];
    static _Thread_local unsigned next;
    static const struct { unsigned bit; const char *name; } names[] = {
        {POLLIN, "IN"}, {POLLPRI, "PRI"}, {POLLOUT, "OUT"}, {POLLERR, "ERR"},
        {POLLHUP, "HUP"}, {POLLNVAL, "NVAL"}, {POLLRDHUP, "RDHUP"},
    };
    char *b = bufs[next++ % 4];
    b[0] = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (ev & names[i].bit) {
            if (b[0])
                strcat(b, "|");
            strcat(b, names[i].name);
            ev &= ~names[i].bit;
        }
    }
    if (ev) {
        char extra[24];
        snprintf(extra, sizeof extra, "%s0x%x", b[0] ? "|" : "", ev);
        strcat(b, extra);
    }
    if (!b[0])
        strcpy(b, "0");
    return b;
}

static const char *yesno(int v) { return v ? "yes" : "no"; }

/* poll one fd for `events`, up to ms; returns revents (0 on timeout). */
static unsigned wait_fd(int fd, short events, int ms)
{
    struct pollfd p = {.fd = fd, .events = events};
    int64_t t0 = now_ns();
    for (;;) {
        int left = ms - (int)ms_since(t0);
        if (left < 0)
            left = 0;
        int r = poll(&p, 1, left);
        if (r > 0)
            return (unsigned)p.revents;
        if (r == 0 || errno != EINTR)
            return 0;
    }
}

/* Write all of buf on a blocking fd; returns bytes written or -1. */
static long write_all(int fd, const void *buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = send(fd, (const char *)buf + done, n - done, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        done += (size_t)w;
    }
    return (long)done;
}

/* Send n bytes of pattern `seed` from stream offset 0. */
static long send_pattern(int fd, size_t n, unsigned seed)
{
    uint8_t buf[65536];
    size_t off = 0;
    while (off < n) {
        size_t k = n - off < sizeof buf ? n - off : sizeof buf;
        pattern_fill(buf, k, off, seed);
        if (write_all(fd, buf, k) < 0)
            return -1;
        off += k;
    }
    return (long)off;
}

/* Read until EOF (or error, or `limit` bytes); counts and checksums. Returns the
 * last recv result (0 at EOF, -1 on error with errno kept). */
static long read_to_eof(int fd, size_t *total, uint32_t *sum)
{
    uint8_t buf[65536];
    *total = 0;
    *sum = CKSUM_INIT;
    for (;;) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return (long)r;
        *sum = cksum_add(*sum, buf, (size_t)r);
        *total += (size_t)r;
    }
}

/* ------------------------------------------------------------------------ */
/* Peer                                                                     */
/* ------------------------------------------------------------------------ */

/* Every blocking step of a peer connection is bounded by this. */
#define PEER_IO_MS 30000

/* Read one '\n'-terminated line byte by byte, so no byte after it is consumed
 * (a peer that then closes must leave nothing unread, or Linux would send RST). */
static int peer_read_line(int fd, char *line, size_t cap)
{
    size_t n = 0;
    while (n + 1 < cap) {
        if (!(wait_fd(fd, POLLIN, PEER_IO_MS) & (POLLIN | POLLHUP | POLLERR)))
            return -1;
        char c;
        ssize_t r = recv(fd, &c, 1, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        if (c == '\n')
            break;
        line[n++] = c;
    }
    line[n] = 0;
    return 0;
}

/* Read (discarding) until EOF, error or the bound. */
static void peer_drain(int fd)
{
    char buf[65536];
    while (wait_fd(fd, POLLIN, PEER_IO_MS)) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return;
    }
}

static void peer_rst_close(int fd)
{
    struct linger l = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
}

/* Sleep ms without touching the connection (poll on no fds). */
static void peer_pause(int ms)
{
    int64_t t0 = now_ns();
    while (ms_since(t0) < ms)
        poll(NULL, 0, ms - (int)ms_since(t0));
}

static void peer_echo(int fd)
{
    char buf[65536];
    while (wait_fd(fd, POLLIN, PEER_IO_MS)) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || write_all(fd, buf, (size_t)r) < 0)
            return;
    }
}

static void peer_sink(int fd)
{
    uint8_t buf[65536];
    size_t total = 0;
    uint32_t sum = CKSUM_INIT;
    while (wait_fd(fd, POLLIN, PEER_IO_MS)) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return;
        if (r == 0) {
            char reply[64];
            int n = snprintf(reply, sizeof reply, "%zu %08x\n", total, sum);
            write_all(fd, reply, (size_t)n);
            return;
        }
        sum = cksum_add(sum, buf, (size_t)r);
        total += (size_t)r;
    }
}

/* Never read; wait (bounded) until the client goes away (RST or FIN). */
static void peer_noread(int fd)
{
    int64_t t0 = now_ns();
    while (ms_since(t0) < PEER_IO_MS) {
        unsigned ev = wait_fd(fd, POLLRDHUP, 1000);
        if (ev & (POLLRDHUP | POLLHUP | POLLERR))
            return;
    }
}

/* Connect back to the client's address at `port`, say "hello\n", wait for EOF. */
static void peer_connectback(int ctl, int port)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    if (getpeername(ctl, (struct sockaddr *)&a, &len) < 0)
        return;
    a.sin_port = htons((uint16_t)port);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return;
    if (connect(s, (struct sockaddr *)&a, sizeof a) == 0) {
        write_all(s, "hello\n", 6);
        peer_drain(s);
    }
    close(s);
}

/* The line protocol, one command per connection:
 *   echo               echo everything back until EOF
 *   send N             send N pattern bytes (seed 0), then close (FIN)
 *   sendwait N         send N pattern bytes, then read until EOF, then close
 *   sink               read until EOF, reply "COUNT CKSUM\n", close
 *   rst                close with SO_LINGER 0 (RST) at once
 *   close              close at once (FIN)
 *   hold MS            wait MS, then close
 *   delaysend MS N     wait MS, send N pattern bytes, read until EOF, close
 *   noread             never read; close when the client has gone
 *   connectback PORT   connect to the client's address:PORT, send "hello\n",
 *                      wait for EOF there; then close this connection
 *   delayconnectback MS PORT  the same after waiting MS
 */
static void peer_serve(int fd)
{
    char line[128];
    long a = 0, b = 0;
    if (peer_read_line(fd, line, sizeof line) < 0) {
        close(fd);
        return;
    }
    if (strcmp(line, "echo") == 0) {
        peer_echo(fd);
    } else if (sscanf(line, "send %ld", &a) == 1) {
        send_pattern(fd, (size_t)a, 0);
    } else if (sscanf(line, "sendwait %ld", &a) == 1) {
        send_pattern(fd, (size_t)a, 0);
        peer_drain(fd);
    } else if (strcmp(line, "sink") == 0) {
        peer_sink(fd);
    } else if (strcmp(line, "rst") == 0) {
        peer_rst_close(fd);
        return;
    } else if (strcmp(line, "close") == 0) {
        /* fall through to close */
    } else if (sscanf(line, "hold %ld", &a) == 1) {
        peer_pause((int)a);
    } else if (sscanf(line, "delaysend %ld %ld", &a, &b) == 2) {
        peer_pause((int)a);
        send_pattern(fd, (size_t)b, 0);
        peer_drain(fd);
    } else if (strcmp(line, "noread") == 0) {
        peer_noread(fd);
    } else if (sscanf(line, "connectback %ld", &a) == 1) {
        peer_connectback(fd, (int)a);
    } else if (sscanf(line, "delayconnectback %ld %ld", &a, &b) == 2) {
        peer_pause((int)a);
        peer_connectback(fd, (int)b);
    } else {
        write_all(fd, "error\n", 6);
    }
    close(fd);
}

static void *peer_thread(void *arg)
{
    peer_serve((int)(intptr_t)arg);
    return NULL;
}

static int listen_on(uint32_t addr, int port, int backlog)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(addr);
    if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, backlog) < 0) {
        perror("peer: listen");
        exit(2);
    }
    return s;
}

/* PORT+2: a listener with backlog 0 whose one accept-queue slot we fill from
 * loopback and never accept, so Linux drops every further SYN to it (the
 * accept queue is full): connects there stay in SYN-SENT. */
static int peer_blackhole(int port, int *filler)
{
    int s = listen_on(INADDR_ANY, port, 0);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a) < 0) {
        perror("peer: blackhole filler");
        exit(2);
    }
    *filler = c;
    return s;
}

static int peer_main(int port, int max_seconds)
{
    signal(SIGPIPE, SIG_IGN);
    int ls = listen_on(INADDR_ANY, port, 128);
    int filler;
    int hole = peer_blackhole(port + 2, &filler);
    printf("peer: listening on %d (refused %d, pending %d)\n", port, port + 1, port + 2);
    fflush(stdout);
    int64_t t0 = now_ns();
    while (ms_since(t0) < (int64_t)max_seconds * 1000) {
        if (!(wait_fd(ls, POLLIN, 500) & POLLIN))
            continue;
        int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &at, peer_thread, (void *)(intptr_t)c) != 0)
            close(c);
        pthread_attr_destroy(&at);
    }
    close(ls);
    close(hole);
    close(filler);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Client harness                                                           */
/* ------------------------------------------------------------------------ */

static struct in_addr g_peer_ip;
static int g_port;            /* the peer's command port */
#define REFUSED_PORT (g_port + 1)
#define PENDING_PORT (g_port + 2)

/* The current case's outcome, built by emit() and printed as one line. */
static char g_out[2048];

static void emit(const char *fmt, ...)
{
    size_t len = strlen(g_out);
    if (len && len < sizeof g_out - 1)
        g_out[len++] = ' ';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_out + len, sizeof g_out - len, fmt, ap);
    va_end(ap);
}

static struct sockaddr_in peer_sa(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr = g_peer_ip;
    return a;
}

static int tcp_socket(int flags)
{
    return socket(AF_INET, SOCK_STREAM | flags, 0);
}

static int connect_to(int fd, int port)
{
    struct sockaddr_in a = peer_sa(port);
    return connect(fd, (struct sockaddr *)&a, sizeof a);
}

/* A blocking connection to the peer that has been sent `cmd`. On failure the
 * outcome says so ("setup: ...") and -1 is returned. */
static int peer_conn(const char *cmd)
{
    int fd = tcp_socket(0);
    if (fd < 0) {
        emit("setup: socket=%s", R(fd));
        return -1;
    }
    int r = connect_to(fd, g_port);
    if (r < 0) {
        emit("setup: connect=%s", R(r));
        close(fd);
        return -1;
    }
    char line[128];
    int n = snprintf(line, sizeof line, "%s\n", cmd);
    if (write_all(fd, line, (size_t)n) != n) {
        emit("setup: send=%s", R(-1));
        close(fd);
        return -1;
    }
    return fd;
}

/* Read the peer's reply (up to EOF) into line; returns its length or -1. */
static long read_reply(int fd, char *line, size_t cap)
{
    size_t n = 0;
    for (;;) {
        if (!wait_fd(fd, POLLIN, 10000))
            return -1;
        ssize_t r = recv(fd, line + n, cap - 1 - n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0 || (n += (size_t)r) == cap - 1)
            break;
    }
    line[n] = 0;
    char *nl = strchr(line, '\n');
    if (nl)
        *nl = 0;
    return (long)strlen(line);
}

/* Poll until FIONREAD reaches `want` (or stops at something else), bounded. */
static int wait_inq(int fd, int want, int ms)
{
    int64_t t0 = now_ns();
    int v = -1;
    while (ms_since(t0) < ms) {
        if (ioctl(fd, FIONREAD, &v) < 0)
            return -1;
        if (v >= want)
            break;
        wait_fd(fd, POLLIN, 5);
        poll(NULL, 0, 5);
    }
    return v;
}

/* Wait until the peer's FIN or RST has arrived (POLLRDHUP/ERR/HUP), bounded. */
static unsigned wait_peer_gone(int fd, int ms)
{
    int64_t t0 = now_ns();
    unsigned ev = 0;
    while (ms_since(t0) < ms) {
        ev = wait_fd(fd, POLLIN | POLLRDHUP, 100);
        if (ev & (POLLRDHUP | POLLERR | POLLHUP))
            break;
    }
    return ev;
}

static int getint(int fd, int level, int opt, int *val)
{
    socklen_t len = sizeof *val;
    return getsockopt(fd, level, opt, val, &len);
}

static int setint(int fd, int level, int opt, int val)
{
    return setsockopt(fd, level, opt, &val, sizeof val);
}

/* SO_ERROR as a name ("0" for none). */
static const char *so_error(int fd)
{
    int v = -1;
    if (getint(fd, SOL_SOCKET, SO_ERROR, &v) < 0)
        return R(-1);
    return v ? errno_name(v) : "0";
}

static const char *tcp_state_name(int st)
{
    static const char *names[] = {"0", "ESTABLISHED", "SYN_SENT", "SYN_RECV",
        "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK",
        "LISTEN", "CLOSING"};
    return st >= 0 && st < (int)(sizeof names / sizeof names[0]) ? names[st] : "?";
}

static const char *tcpi_state(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    memset(&ti, 0, sizeof ti);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
        return R(-1);
    return tcp_state_name(ti.tcpi_state);
}

/* A listener on 127.0.0.1 or 0.0.0.0 with an ephemeral port; *port gets it. */
static int local_listener(uint32_t addr, int flags, int *port)
{
    int s = tcp_socket(flags);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(addr);
    socklen_t len = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 8) < 0 ||
        getsockname(s, (struct sockaddr *)&a, &len) < 0) {
        emit("setup: listener=%s", R(-1));
        if (s >= 0)
            close(s);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return s;
}

/* Signals: counters for the handlers the cases install. */
static volatile sig_atomic_t g_sigpipe_count, g_sigalrm_count;
static void on_sigpipe(int s) { (void)s; g_sigpipe_count++; }
static void on_sigalrm(int s) { (void)s; g_sigalrm_count++; }

static void set_handler(int sig, void (*fn)(int), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

static void arm_timer_ms(int ms)
{
    struct itimerval it = {.it_value = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

static void disarm_timer(void)
{
    struct itimerval it;
    memset(&it, 0, sizeof it);
    setitimer(ITIMER_REAL, &it, NULL);
}

/* ------------------------------------------------------------------------ */
/* Cases: data transfer                                                     */
/* ------------------------------------------------------------------------ */

#define MB (1024 * 1024)

/* Blocking send of 1 MB; after SHUT_WR the peer counts and checksums what it
 * got. Linux: every byte arrives in order; the reply then EOF. */
static void c_blocking_upload_1m(void)
{
    int fd = peer_conn("sink");
    if (fd < 0)
        return;
    long sent = send_pattern(fd, MB, 3);
    emit("sent=%ld shutdown=%s", sent, R(shutdown(fd, SHUT_WR)));
    char line[128];
    if (read_reply(fd, line, sizeof line) < 0) {
        emit("reply=none");
    } else {
        size_t got = 0;
        unsigned sum = 0;
        sscanf(line, "%zu %x", &got, &sum);
        emit("peer_got=%zu cksum=%08x match=%s", got, sum, yesno(sum == pattern_cksum(MB, 3)));
    }
    close(fd);
}

/* Blocking recv of 1 MB then EOF (recv=0). */
static void c_blocking_download_1m(void)
{
    int fd = peer_conn("send 1048576");
    if (fd < 0)
        return;
    size_t total;
    uint32_t sum;
    long last = read_to_eof(fd, &total, &sum);
    emit("last=%s total=%zu cksum=%08x match=%s", R(last), total, sum,
         yesno(sum == pattern_cksum(MB, 0)));
    close(fd);
}

/* MSG_WAITALL on a blocking socket returns the full amount in one call. */
static void c_msg_waitall(void)
{
    enum { N = 200000 };
    int fd = peer_conn("sendwait 200000");
    if (fd < 0)
        return;
    uint8_t *buf = malloc(N);
    long r = recv(fd, buf, N, MSG_WAITALL);
    emit("recv=%s", R(r));
    if (r > 0)
        emit("match=%s", yesno(cksum_add(CKSUM_INIT, buf, (size_t)r) == pattern_cksum(N, 0)));
    free(buf);
    close(fd);
}

/* MSG_PEEK returns the bytes without consuming them; the read after it gets
 * the same bytes. */
static void c_msg_peek(void)
{
    int fd = peer_conn("sendwait 100");
    if (fd < 0)
        return;
    emit("inq=%d", wait_inq(fd, 100, 3000));
    char a[200], b[200];
    long p = recv(fd, a, sizeof a, MSG_PEEK);
    emit("peek=%s", R(p));
    long p2 = recv(fd, b, sizeof b, MSG_PEEK);
    emit("peek2=%s", R(p2));
    long r = recv(fd, b, sizeof b, 0);
    emit("recv=%s same=%s", R(r), yesno(p == r && r > 0 && memcmp(a, b, (size_t)r) == 0));
    close(fd);
}

/* writev of three iovecs: the peer gets their concatenation. */
static void c_writev(void)
{
    int fd = peer_conn("sink");
    if (fd < 0)
        return;
    static uint8_t all[100 + 2000 + 50000];
    pattern_fill(all, sizeof all, 0, 5);
    struct iovec iov[3] = {{all, 100}, {all + 100, 2000}, {all + 2100, 50000}};
    long w = writev(fd, iov, 3);
    emit("writev=%s", R(w));
    if (w > 0 && (size_t)w < sizeof all)
        write_all(fd, all + w, sizeof all - (size_t)w);
    shutdown(fd, SHUT_WR);
    char line[128];
    size_t got = 0;
    unsigned sum = 0;
    if (read_reply(fd, line, sizeof line) >= 0)
        sscanf(line, "%zu %x", &got, &sum);
    emit("peer_got=%zu match=%s", got, yesno(sum == pattern_cksum(sizeof all, 5)));
    close(fd);
}

/* readv into three iovecs until EOF: totals and checksum of the whole stream. */
static void c_readv(void)
{
    int fd = peer_conn("send 30000");
    if (fd < 0)
        return;
    uint8_t a[1000], b[7], c[5000];
    size_t total = 0;
    uint32_t sum = CKSUM_INIT;
    long r;
    for (;;) {
        struct iovec iov[3] = {{a, sizeof a}, {b, sizeof b}, {c, sizeof c}};
        r = readv(fd, iov, 3);
        if (r <= 0)
            break;
        size_t left = (size_t)r;
        for (int i = 0; i < 3 && left; i++) {
            size_t k = left < iov[i].iov_len ? left : iov[i].iov_len;
            sum = cksum_add(sum, iov[i].iov_base, k);
            left -= k;
        }
        total += (size_t)r;
    }
    emit("last=%s total=%zu match=%s", R(r), total, yesno(sum == pattern_cksum(30000, 0)));
    close(fd);
}

/* sendmsg with iovecs to the echo peer, recvmsg with iovecs back: same bytes;
 * msg_flags 0 (no MSG_TRUNC or MSG_CTRUNC on TCP). */
static void c_sendmsg_recvmsg(void)
{
    int fd = peer_conn("echo");
    if (fd < 0)
        return;
    uint8_t out[3000], in[3000];
    pattern_fill(out, sizeof out, 0, 9);
    struct iovec oiov[2] = {{out, 1200}, {out + 1200, 1800}};
    struct msghdr om = {.msg_iov = oiov, .msg_iovlen = 2};
    emit("sendmsg=%s", R(sendmsg(fd, &om, MSG_NOSIGNAL)));
    size_t got = 0;
    int flags = 0;
    while (got < sizeof in && wait_fd(fd, POLLIN, 5000)) {
        size_t h = (sizeof in - got) / 2;
        struct iovec iiov[2] = {{in + got, h}, {in + got + h, sizeof in - got - h}};
        struct msghdr im = {.msg_iov = iiov, .msg_iovlen = 2};
        long r = recvmsg(fd, &im, 0);
        if (r <= 0)
            break;
        flags |= im.msg_flags;
        got += (size_t)r;
    }
    emit("echoed=%zu same=%s msg_flags=%d", got, yesno(got == sizeof in && !memcmp(in, out, got)), flags);
    close(fd);
}

/* ------------------------------------------------------------------------ */
/* Cases: connect                                                           */
/* ------------------------------------------------------------------------ */

/* Non-blocking connect: EINPROGRESS, then POLLOUT, SO_ERROR 0, ESTABLISHED. */
static void c_nonblock_connect(void)
{
    int fd = tcp_socket(SOCK_NONBLOCK);
    emit("connect=%s", R(connect_to(fd, g_port)));
    emit("poll=%s", pollbits(wait_fd(fd, POLLOUT, 5000)));
    emit("so_error=%s state=%s", so_error(fd), tcpi_state(fd));
    close(fd);
}

/* Linux: after a non-blocking connect has completed, the next connect() returns
 * 0 (the socket moves from SS_CONNECTING to SS_CONNECTED); the one after that
 * EISCONN. */
static void c_connect_again_after_nonblock(void)
{
    int fd = tcp_socket(SOCK_NONBLOCK);
    emit("connect=%s", R(connect_to(fd, g_port)));
    wait_fd(fd, POLLOUT, 5000);
    emit("connect2=%s", R(connect_to(fd, g_port)));
    emit("connect3=%s", R(connect_to(fd, g_port)));
    close(fd);
}

/* Blocking connect to the closed port: ECONNREFUSED; SO_ERROR is then 0. */
static void c_connect_refused_blocking(void)
{
    int fd = tcp_socket(0);
    emit("connect=%s", R(connect_to(fd, REFUSED_PORT)));
    emit("so_error=%s state=%s", so_error(fd), tcpi_state(fd));
    close(fd);
}

/* Non-blocking connect to the closed port: EINPROGRESS; poll reports
 * OUT|ERR|HUP (and IN, the receive side is shut too); SO_ERROR says
 * ECONNREFUSED once, then 0. */
static void c_connect_refused_nonblock(void)
{
    int fd = tcp_socket(SOCK_NONBLOCK);
    emit("connect=%s", R(connect_to(fd, REFUSED_PORT)));
    unsigned ev = 0;
    int64_t t0 = now_ns();
    while (ms_since(t0) < 5000 && !((ev = wait_fd(fd, POLLIN | POLLOUT, 100)) & POLLERR))
        ;
    emit("poll=%s", pollbits(ev));
    emit("so_error=%s", so_error(fd));
    emit("so_error2=%s", so_error(fd));
    close(fd);
}

/* A second connect while the first is in SYN-SENT: EALREADY (non-blocking).
 * The pending port drops SYNs, so the state holds. */
static void c_connect_ealready(void)
{
    int fd = tcp_socket(SOCK_NONBLOCK);
    emit("connect=%s", R(connect_to(fd, PENDING_PORT)));
    emit("connect2=%s", R(connect_to(fd, PENDING_PORT)));
    emit("poll=%s", pollbits(wait_fd(fd, POLLOUT, 200)));
    emit("state=%s so_error=%s", tcpi_state(fd), so_error(fd));
    close(fd);
}

/* connect on a connected socket: EISCONN. */
static void c_connect_eisconn(void)
{
    int fd = tcp_socket(0);
    emit("connect=%s", R(connect_to(fd, g_port)));
    emit("connect2=%s", R(connect_to(fd, g_port)));
    close(fd);
}

/* An unconnected socket: recv ENOTCONN, send EPIPE (MSG_NOSIGNAL),
 * getpeername ENOTCONN, shutdown ENOTCONN, state CLOSE. */
static void c_unconnected_ops(void)
{
    int fd = tcp_socket(0);
    char b[4];
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    emit("recv=%s", R(recv(fd, b, sizeof b, 0)));
    emit("send=%s", R(send(fd, "x", 1, MSG_NOSIGNAL)));
    emit("getpeername=%s", R(getpeername(fd, (struct sockaddr *)&a, &len)));
    emit("shutdown=%s", R(shutdown(fd, SHUT_RDWR)));
    emit("state=%s", tcpi_state(fd));
    close(fd);
}

/* Two binds of one address:port without SO_REUSEADDR: EADDRINUSE. */
static void c_bind_eaddrinuse(void)
{
    int port;
    int s1 = tcp_socket(0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;
    emit("bind1=%s", R(bind(s1, (struct sockaddr *)&a, sizeof a)));
    getsockname(s1, (struct sockaddr *)&a, &len);
    port = ntohs(a.sin_port);
    emit("port_nonzero=%s", yesno(port != 0));
    int s2 = tcp_socket(0);
    emit("bind2=%s", R(bind(s2, (struct sockaddr *)&a, sizeof a)));
    close(s1);
    close(s2);
}

/* SO_REUSEADDR on both: both binds succeed while neither listens; the first
 * listen succeeds, the second EADDRINUSE (Linux checks again at listen). */
static void c_bind_reuseaddr_listen(void)
{
    int s1 = tcp_socket(0), s2 = tcp_socket(0);
    setint(s1, SOL_SOCKET, SO_REUSEADDR, 1);
    setint(s2, SOL_SOCKET, SO_REUSEADDR, 1);
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;
    emit("bind1=%s", R(bind(s1, (struct sockaddr *)&a, sizeof a)));
    getsockname(s1, (struct sockaddr *)&a, &len);
    emit("bind2=%s", R(bind(s2, (struct sockaddr *)&a, sizeof a)));
    emit("listen1=%s", R(listen(s1, 4)));
    emit("listen2=%s", R(listen(s2, 4)));
    close(s1);
    close(s2);
}

/* Listen, then have the peer connect back; accept it and read its hello.
 * The listener says SO_ACCEPTCONN=1, the accepted socket 0; the accepted
 * socket is blocking, ESTABLISHED, and its peer address is the peer's. */
static void c_listen_accept(void)
{
    int lport;
    int ls = local_listener(INADDR_ANY, 0, &lport);
    if (ls < 0)
        return;
    char cmd[64];
    snprintf(cmd, sizeof cmd, "connectback %d", lport);
    int ctl = peer_conn(cmd);
    if (ctl < 0) {
        close(ls);
        return;
    }
    emit("listen_ready=%s", pollbits(wait_fd(ls, POLLIN, 5000)));
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = accept(ls, (struct sockaddr *)&a, &len);
    emit("accept=%s", fd < 0 ? R(fd) : "fd");
    if (fd >= 0) {
        int acc_l = -1, acc_c = -1;
        getint(ls, SOL_SOCKET, SO_ACCEPTCONN, &acc_l);
        getint(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc_c);
        emit("family=%s addrlen=%u from_peer=%s", a.sin_family == AF_INET ? "AF_INET" : "?",
             (unsigned)len, yesno(a.sin_addr.s_addr == g_peer_ip.s_addr));
        emit("acceptconn=%d/%d nonblock=%s state=%s", acc_l, acc_c,
             yesno(fcntl(fd, F_GETFL) & O_NONBLOCK), tcpi_state(fd));
        char line[64];
        int n = peer_read_line(fd, line, sizeof line); /* the peer then waits for EOF */
        emit("hello=%s", n == 0 ? line : "none");
        close(fd);
    }
    close(ctl);
    close(ls);
}

/* accept4(SOCK_NONBLOCK|SOCK_CLOEXEC): the new fd is non-blocking and
 * close-on-exec; before the peer connects, a non-blocking accept says EAGAIN;
 * recv on the new fd after reading the hello says EAGAIN. */
static void c_accept4_nonblock(void)
{
    int lport;
    int ls = local_listener(INADDR_ANY, SOCK_NONBLOCK, &lport);
    if (ls < 0)
        return;
    emit("accept_empty=%s", R(accept(ls, NULL, NULL)));
    char cmd[64];
    snprintf(cmd, sizeof cmd, "connectback %d", lport);
    int ctl = peer_conn(cmd);
    if (ctl < 0) {
        close(ls);
        return;
    }
    wait_fd(ls, POLLIN, 5000);
    int fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    emit("accept4=%s", fd < 0 ? R(fd) : "fd");
    if (fd >= 0) {
        emit("nonblock=%s cloexec=%s", yesno(fcntl(fd, F_GETFL) & O_NONBLOCK),
             yesno(fcntl(fd, F_GETFD) & FD_CLOEXEC));
        int n = wait_inq(fd, 6, 3000);
        char b[16];
        emit("inq=%d recv=%s", n, R(recv(fd, b, sizeof b, 0)));
        emit("recv2=%s", R(recv(fd, b, sizeof b, 0)));
        close(fd);
    }
    close(ctl);
    close(ls);
}

/* ------------------------------------------------------------------------ */
/* Cases: FIN, RST and errors                                               */
/* ------------------------------------------------------------------------ */

/* After the peer's RST (ESTABLISHED): the first send reports the pending
 * error (ECONNRESET, no SIGPIPE); the next one EPIPE. With MSG_NOSIGNAL no
 * SIGPIPE is raised at all. */
static void c_send_after_rst_nosignal(void)
{
    g_sigpipe_count = 0;
    set_handler(SIGPIPE, on_sigpipe, 0);
    int fd = peer_conn("rst");
    if (fd < 0)
        return;
    emit("gone=%s", pollbits(wait_peer_gone(fd, 5000)));
    emit("send1=%s", R(send(fd, "x", 1, MSG_NOSIGNAL)));
    emit("send2=%s", R(send(fd, "x", 1, MSG_NOSIGNAL)));
    emit("sigpipe=%d", (int)g_sigpipe_count);
    close(fd);
    signal(SIGPIPE, SIG_DFL);
}

/* The same without MSG_NOSIGNAL: the EPIPE send raises SIGPIPE (counted by a
 * handler); the ECONNRESET one does not. write() behaves as send(). */
static void c_send_after_rst_sigpipe(void)
{
    g_sigpipe_count = 0;
    set_handler(SIGPIPE, on_sigpipe, 0);
    int fd = peer_conn("rst");
    if (fd < 0)
        return;
    wait_peer_gone(fd, 5000);
    /* one call per emit: the count must be read after the call returned */
    emit("send1=%s", R(send(fd, "x", 1, 0)));
    emit("sigpipe=%d", (int)g_sigpipe_count);
    emit("send2=%s", R(send(fd, "x", 1, 0)));
    emit("sigpipe=%d", (int)g_sigpipe_count);
    emit("write3=%s", R(write(fd, "x", 1)));
    emit("sigpipe=%d", (int)g_sigpipe_count);
    close(fd);
    signal(SIGPIPE, SIG_DFL);
}

/* recv after the peer's RST: ECONNRESET once, then 0 (receive side shut);
 * SO_ERROR is then 0 and the state CLOSE. */
static void c_recv_after_rst(void)
{
    int fd = peer_conn("rst");
    if (fd < 0)
        return;
    wait_peer_gone(fd, 5000);
    char b[16];
    emit("recv1=%s", R(recv(fd, b, sizeof b, 0)));
    emit("recv2=%s", R(recv(fd, b, sizeof b, 0)));
    emit("so_error=%s state=%s", so_error(fd), tcpi_state(fd));
    close(fd);
}

/* SO_ERROR straight after the RST (nothing consumed it yet): ECONNRESET. */
static void c_so_error_after_rst(void)
{
    int fd = peer_conn("rst");
    if (fd < 0)
        return;
    wait_peer_gone(fd, 5000);
    emit("so_error=%s", so_error(fd));
    emit("so_error2=%s", so_error(fd));
    char b[4];
    emit("recv=%s", R(recv(fd, b, sizeof b, 0)));
    close(fd);
}

/* After the peer's FIN: recv returns 0, and again 0; we may still send (the
 * first send after FIN succeeds: it only queues); state CLOSE_WAIT. */
static void c_recv_eof_after_fin(void)
{
    int fd = peer_conn("close");
    if (fd < 0)
        return;
    char b[16];
    emit("recv1=%s", R(recv(fd, b, sizeof b, 0)));
    emit("recv2=%s", R(recv(fd, b, sizeof b, 0)));
    emit("state=%s", tcpi_state(fd));
    emit("send=%s", R(send(fd, "0123456789", 10, MSG_NOSIGNAL)));
    close(fd);
}

/* Non-blocking recv with nothing queued: EAGAIN. */
static void c_recv_nonblock_eagain(void)
{
    int fd = peer_conn("sink");
    if (fd < 0)
        return;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    char b[16];
    emit("recv=%s", R(recv(fd, b, sizeof b, 0)));
    emit("read=%s", R(read(fd, b, sizeof b)));
    close(fd);
}

/* MSG_DONTWAIT on a blocking socket: EAGAIN without changing the fd's flags. */
static void c_msg_dontwait(void)
{
    int fd = peer_conn("sink");
    if (fd < 0)
        return;
    char b[16];
    emit("recv=%s", R(recv(fd, b, sizeof b, MSG_DONTWAIT)));
    emit("still_blocking=%s", yesno(!(fcntl(fd, F_GETFL) & O_NONBLOCK)));
    close(fd);
}

/* close twice: 0, then EBADF. Any call on the closed fd: EBADF. */
static void c_close_ebadf(void)
{
    int fd = tcp_socket(0);
    emit("close1=%s", R(close(fd)));
    emit("close2=%s", R(close(fd)));
    char b[4];
    emit("recv=%s", R(recv(fd, b, sizeof b, 0)));
    int v;
    emit("getsockopt=%s", R(getint(fd, SOL_SOCKET, SO_TYPE, &v)));
}

/* Socket calls on a pipe: ENOTSOCK. */
static void c_enotsock_pipe(void)
{
    int p[2];
    if (pipe(p) < 0) {
        emit("setup: pipe=%s", R(-1));
        return;
    }
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int v;
    emit("send=%s", R(send(p[1], "x", 1, MSG_NOSIGNAL)));
    emit("getsockname=%s", R(getsockname(p[0], (struct sockaddr *)&a, &len)));
    emit("getsockopt=%s", R(getint(p[0], SOL_SOCKET, SO_TYPE, &v)));
    emit("shutdown=%s", R(shutdown(p[0], SHUT_RD)));
    emit("connect=%s", R(connect_to(p[0], g_port)));
    close(p[0]);
    close(p[1]);
}

/* fstat on a socket: S_ISSOCK. */
static void c_fstat_issock(void)
{
    int fd = peer_conn("sink");
    if (fd < 0)
        return;
    struct stat st;
    emit("fstat=%s", R(fstat(fd, &st)));
    emit("issock=%s", yesno(S_ISSOCK(st.st_mode)));
    int u = tcp_socket(0);
    emit("unconnected_issock=%s", yesno(fstat(u, &st) == 0 && S_ISSOCK(st.st_mode)));
    close(u);
    close(fd);
}

/* ------------------------------------------------------------------------ */
/* Cases: ioctl, fcntl, names, options                                      */
/* ------------------------------------------------------------------------ */

/* FIONREAD (== SIOCINQ) counts all queued bytes once they have arrived. */
static void c_fionread(void)
{
    int fd = peer_conn("sendwait 5000");
    if (fd < 0)
        return;
    int before = -1;
    ioctl(fd, SIOCINQ, &before);
    int n = wait_inq(fd, 5000, 3000);
    int inq = -1;
    ioctl(fd, SIOCINQ, &inq);
    char b[1000];
    long r = recv(fd, b, sizeof b, 0);
    int after = -1;
    ioctl(fd, FIONREAD, &after);
    emit("fionread=%d siocinq=%d recv=%s after=%d", n, inq, R(r), after);
    (void)before;
    close(fd);
}

/* SIOCOUTQ: 0 on a fresh connection, and 0 again once the peer has acked
 * what we sent. */
static void c_siocoutq(void)
{
    int fd = peer_conn("sink");
    if (fd < 0)
        return;
    int q0 = -1, q = -1;
    emit("ioctl=%s", R(ioctl(fd, SIOCOUTQ, &q0)));
    send_pattern(fd, 3000, 1);
    int64_t t0 = now_ns();
    while (ms_since(t0) < 3000 && ioctl(fd, SIOCOUTQ, &q) == 0 && q != 0)
        poll(NULL, 0, 5);
    emit("outq_fresh=%d outq_acked=%d", q0, q);
    close(fd);
}

static const char *flags_str(int fl)
{
    static char b[64];
    int acc = fl & O_ACCMODE;
    snprintf(b, sizeof b, "%s%s", acc == O_RDWR ? "O_RDWR" : acc == O_RDONLY ? "O_RDONLY" : "O_WRONLY",
             fl & O_NONBLOCK ? "|O_NONBLOCK" : "");
    return b;
}

/* fcntl F_GETFL/F_SETFL O_NONBLOCK round trip; a socket is O_RDWR. */
static void c_fcntl_nonblock(void)
{
    int fd = peer_conn("sink");
    if (fd < 0)
        return;
    int fl = fcntl(fd, F_GETFL);
    emit("initial=%s", flags_str(fl));
    emit("set=%s", R(fcntl(fd, F_SETFL, fl | O_NONBLOCK)));
    emit("now=%s", flags_str(fcntl(fd, F_GETFL)));
    char b[4];
    emit("recv=%s", R(recv(fd, b, sizeof b, 0)));
    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    emit("cleared=%s", flags_str(fcntl(fd, F_GETFL)));
    close(fd);
}

/* FIONBIO sets and clears O_NONBLOCK as fcntl sees it. */
static void c_fionbio(void)
{
    int fd = peer_conn("sink");
    if (fd < 0)
        return;
    int on = 1, off = 0;
    emit("on=%s", R(ioctl(fd, FIONBIO, &on)));
    emit("flags=%s", flags_str(fcntl(fd, F_GETFL)));
    char b[4];
    emit("recv=%s", R(recv(fd, b, sizeof b, 0)));
    emit("off=%s", R(ioctl(fd, FIONBIO, &off)));
    emit("flags=%s", flags_str(fcntl(fd, F_GETFL)));
    close(fd);
}

/* getsockname/getpeername on a connected socket: AF_INET, 16-byte length, a
 * non-zero local port, the peer's address and port. */
static void c_sock_peer_names(void)
{
    int fd = peer_conn("sink");
    if (fd < 0)
        return;
    struct sockaddr_in l, p;
    socklen_t ll = sizeof l + 8, pl = sizeof p + 8; /* oversized: the kernel says 16 */
    struct sockaddr_storage ls, ps;
    emit("getsockname=%s", R(getsockname(fd, (struct sockaddr *)&ls, &ll)));
    emit("getpeername=%s", R(getpeername(fd, (struct sockaddr *)&ps, &pl)));
    memcpy(&l, &ls, sizeof l);
    memcpy(&p, &ps, sizeof p);
    emit("family=%s/%s len=%u/%u", l.sin_family == AF_INET ? "AF_INET" : "?",
         p.sin_family == AF_INET ? "AF_INET" : "?", (unsigned)ll, (unsigned)pl);
    emit("local_port_nonzero=%s local_addr_nonzero=%s peer_port_ok=%s peer_addr_ok=%s",
         yesno(l.sin_port != 0), yesno(l.sin_addr.s_addr != 0), yesno(ntohs(p.sin_port) == g_port),
         yesno(p.sin_addr.s_addr == g_peer_ip.s_addr));
    /* a short buffer: truncated, length still the full 16 */
    struct sockaddr_in small;
    socklen_t sl = 4;
    emit("short=%s", R(getsockname(fd, (struct sockaddr *)&small, &sl)));
    emit("len=%u", (unsigned)sl);
    close(fd);
}

/* SO_TYPE/SO_DOMAIN/SO_PROTOCOL/SO_ACCEPTCONN on a connected socket, a fresh
 * socket and a listener. */
static void c_sockopt_identity(void)
{
    int fd = peer_conn("sink");
    if (fd < 0)
        return;
    int lport;
    int ls = local_listener(INADDR_ANY, 0, &lport);
    int fresh = tcp_socket(0);
    int fds[3] = {fd, fresh, ls};
    const char *names[3] = {"conn", "fresh", "listener"};
    for (int i = 0; i < 3; i++) {
        int t = -1, d = -1, p = -1, a = -1;
        getint(fds[i], SOL_SOCKET, SO_TYPE, &t);
        getint(fds[i], SOL_SOCKET, SO_DOMAIN, &d);
        getint(fds[i], SOL_SOCKET, SO_PROTOCOL, &p);
        getint(fds[i], SOL_SOCKET, SO_ACCEPTCONN, &a);
        emit("%s=%s/%s/%s/%d", names[i], t == SOCK_STREAM ? "SOCK_STREAM" : "?",
             d == AF_INET ? "AF_INET" : "?", p == IPPROTO_TCP ? "IPPROTO_TCP" : "?", a);
    }
    int v = 0;
    socklen_t len = 1; /* Linux: a short optlen for an int option: 0, truncated to 1 byte */
    int r = getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len);
    emit("short_optlen=%s len=%u", R(r), (unsigned)len);
    if (ls >= 0)
        close(ls);
    close(fresh);
    close(fd);
}

/* TCP_NODELAY: 0 by default, 1 after setting it, 0 after clearing. */
static void c_tcp_nodelay(void)
{
    int fd = peer_conn("sink");
    if (fd < 0)
        return;
    int v = -1;
    getint(fd, IPPROTO_TCP, TCP_NODELAY, &v);
    emit("default=%d", v);
    emit("set=%s", R(setint(fd, IPPROTO_TCP, TCP_NODELAY, 1)));
    getint(fd, IPPROTO_TCP, TCP_NODELAY, &v);
    emit("get=%d", v);
    setint(fd, IPPROTO_TCP, TCP_NODELAY, 0);
    getint(fd, IPPROTO_TCP, TCP_NODELAY, &v);
    emit("cleared=%d", v);
    close(fd);
}

/* SO_RCVTIMEO 200 ms: a blocking recv with nothing coming returns EAGAIN
 * after at least the timeout; getsockopt gives the timeout back. */
static void c_so_rcvtimeo(void)
{
    int fd = peer_conn("sink");
    if (fd < 0)
        return;
    struct timeval tv = {.tv_sec = 0, .tv_usec = 200000}, got;
    socklen_t len = sizeof got;
    emit("set=%s", R(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv)));
    getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &got, &len);
    emit("get=%ld.%06ld", (long)got.tv_sec, (long)got.tv_usec);
    char b[16];
    int64_t t0 = now_ns();
    emit("recv=%s", R(recv(fd, b, sizeof b, 0)));
    emit("elapsed_ok=%s", elapsed_ok(t0, 200));
    close(fd);
}

/* SO_SNDTIMEO 200 ms against a peer that never reads: sends block until the
 * buffers are full; the last one returns EAGAIN after at least the timeout. */
static void c_so_sndtimeo(void)
{
    int fd = peer_conn("noread");
    if (fd < 0)
        return;
    struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
    emit("set=%s", R(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv)));
    static uint8_t buf[65536];
    long r = 0;
    int64_t t0 = 0;
    for (int i = 0; i < 2000; i++) {
        t0 = now_ns();
        r = send(fd, buf, sizeof buf, MSG_NOSIGNAL);
        if (r < 0)
            break;
    }
    emit("last_send=%s elapsed_ok=%s", R(r), elapsed_ok(t0, 200));
    peer_rst_close(fd); /* unsent data: let the peer see the end at once */
}

/* TCP_INFO tcpi_state: ESTABLISHED, then CLOSE_WAIT after the peer's FIN. */
static void c_tcp_info_state(void)
{
    int fd = peer_conn("hold 1000"); /* the first state is read well before the FIN */
    if (fd < 0)
        return;
    emit("connected=%s", tcpi_state(fd));
    wait_peer_gone(fd, 5000);
    emit("after_fin=%s", tcpi_state(fd));
    shutdown(fd, SHUT_WR);
    int64_t t0 = now_ns();
    /* LAST_ACK until the peer acks our FIN, then CLOSE */
    while (ms_since(t0) < 3000 && strcmp(tcpi_state(fd), "CLOSE") != 0)
        poll(NULL, 0, 5);
    emit("after_shutdown_acked=%s", tcpi_state(fd));
    close(fd);
}

/* shutdown(SHUT_WR): the peer sees EOF and replies; we still receive; a send
 * after it is EPIPE; recv ends with 0. */
static void c_shutdown_wr(void)
{
    int fd = peer_conn("sink");
    if (fd < 0)
        return;
    send_pattern(fd, 1000, 2);
    emit("shutdown=%s", R(shutdown(fd, SHUT_WR)));
    emit("send=%s", R(send(fd, "x", 1, MSG_NOSIGNAL)));
    char line[128];
    long n = read_reply(fd, line, sizeof line);
    size_t got = 0;
    unsigned sum = 0;
    if (n >= 0)
        sscanf(line, "%zu %x", &got, &sum);
    emit("peer_got=%zu match=%s", got, yesno(sum == pattern_cksum(1000, 2)));
    char b[4];
    emit("recv=%s", R(recv(fd, b, sizeof b, 0)));
    close(fd);
}

/* shutdown(SHUT_RD) with 100 bytes queued: Linux still returns the queued
 * bytes, then 0; poll reports IN|RDHUP beside OUT. */
static void c_shutdown_rd(void)
{
    int fd = peer_conn("sendwait 100");
    if (fd < 0)
        return;
    emit("inq=%d", wait_inq(fd, 100, 3000));
    emit("shutdown=%s", R(shutdown(fd, SHUT_RD)));
    emit("poll=%s", pollbits(wait_fd(fd, POLLIN | POLLOUT | POLLRDHUP, 0)));
    char b[200];
    emit("recv1=%s", R(recv(fd, b, sizeof b, 0)));
    emit("recv2=%s", R(recv(fd, b, sizeof b, 0)));
    emit("send=%s", R(send(fd, "x", 1, MSG_NOSIGNAL)));
    close(fd);
}

/* Second shutdown calls and shutdown(SHUT_RDWR) on a connected socket: all 0
 * while the connection is in FIN-WAIT (the peer stays silent: a peer that
 * answered our FIN would move us to TIME-WAIT, where shutdown is ENOTCONN). */
static void c_shutdown_twice(void)
{
    int fd = peer_conn("hold 3000");
    if (fd < 0)
        return;
    emit("wr=%s", R(shutdown(fd, SHUT_WR)));
    emit("wr2=%s", R(shutdown(fd, SHUT_WR)));
    emit("rdwr=%s", R(shutdown(fd, SHUT_RDWR)));
    emit("bad_how=%s", R(shutdown(fd, 7)));
    close(fd);
}

/* ------------------------------------------------------------------------ */
/* Cases: poll, select, epoll                                               */
/* ------------------------------------------------------------------------ */

/* poll after the peer's FIN: IN|OUT|RDHUP (no HUP: we can still send). */
static void c_poll_after_fin(void)
{
    int fd = peer_conn("close");
    if (fd < 0)
        return;
    wait_peer_gone(fd, 5000);
    emit("poll=%s", pollbits(wait_fd(fd, POLLIN | POLLOUT | POLLRDHUP, 0)));
    emit("in_only=%s", pollbits(wait_fd(fd, POLLIN, 0)));
    close(fd);
}

/* poll after the peer's RST: IN|OUT|ERR|HUP|RDHUP; once recv has consumed the
 * error, ERR goes and HUP stays. */
static void c_poll_after_rst(void)
{
    int fd = peer_conn("rst");
    if (fd < 0)
        return;
    wait_peer_gone(fd, 5000);
    emit("poll=%s", pollbits(wait_fd(fd, POLLIN | POLLOUT | POLLRDHUP, 0)));
    emit("none_asked=%s", pollbits(wait_fd(fd, 0, 0)));
    char b[4];
    recv(fd, b, sizeof b, 0);
    emit("after_recv=%s", pollbits(wait_fd(fd, POLLIN | POLLOUT | POLLRDHUP, 0)));
    close(fd);
}

/* select: writable only while nothing is queued; readable and writable once
 * the echo comes back. */
static void c_select_connected(void)
{
    int fd = peer_conn("echo");
    if (fd < 0)
        return;
    fd_set r, w;
    struct timeval tv = {0, 0};
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(fd, &r);
    FD_SET(fd, &w);
    int n = select(fd + 1, &r, &w, NULL, &tv);
    emit("idle=%s r=%d w=%d", R(n), FD_ISSET(fd, &r) ? 1 : 0, FD_ISSET(fd, &w) ? 1 : 0);
    write_all(fd, "ping", 4);
    FD_ZERO(&r);
    FD_SET(fd, &r);
    tv.tv_sec = 5;
    n = select(fd + 1, &r, NULL, NULL, &tv);
    emit("echoed=%s r=%d", R(n), FD_ISSET(fd, &r) ? 1 : 0);
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(fd, &r);
    FD_SET(fd, &w);
    tv.tv_sec = 0;
    n = select(fd + 1, &r, &w, NULL, &tv);
    emit("both=%s r=%d w=%d", R(n), FD_ISSET(fd, &r) ? 1 : 0, FD_ISSET(fd, &w) ? 1 : 0);
    close(fd);
}

/* select with nothing ready returns 0 after the timeout; the timeval is
 * updated to the time left (Linux: 0). */
static void c_select_timeout(void)
{
    int fd = peer_conn("sink");
    if (fd < 0)
        return;
    fd_set r;
    FD_ZERO(&r);
    FD_SET(fd, &r);
    struct timeval tv = {0, 150000};
    int64_t t0 = now_ns();
    emit("select=%s", R(select(fd + 1, &r, NULL, NULL, &tv)));
    emit("elapsed_ok=%s tv_left=%ld.%06ld set=%d", elapsed_ok(t0, 150), (long)tv.tv_sec,
         (long)tv.tv_usec, FD_ISSET(fd, &r) ? 1 : 0);
    close(fd);
}

/* poll with nothing ready: 0 after the timeout. */
static void c_poll_timeout(void)
{
    int fd = peer_conn("sink");
    if (fd < 0)
        return;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int64_t t0 = now_ns();
    emit("poll=%s", R(poll(&p, 1, 150)));
    emit("revents=%s", pollbits((unsigned)p.revents));
    emit("elapsed_ok=%s", elapsed_ok(t0, 150));
    close(fd);
}

/* epoll_wait with nothing ready: 0 after the timeout. */
static void c_epoll_timeout(void)
{
    int fd = peer_conn("sink");
    if (fd < 0)
        return;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN}, out[4];
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    int64_t t0 = now_ns();
    emit("epoll_wait=%s", R(epoll_wait(ep, out, 4, 150)));
    emit("elapsed_ok=%s", elapsed_ok(t0, 150));
    close(ep);
    close(fd);
}

/* One epoll_wait; "n=K ev=BITS" for the single fd registered. */
static void epoll_once(const char *label, int ep, int ms)
{
    struct epoll_event out[4];
    memset(out, 0, sizeof out);
    int n = epoll_wait(ep, out, 4, ms);
    emit("%s=%s:%s", label, R(n), n > 0 ? pollbits(out[0].events) : "-");
}

/* Have the echo peer send `n` bytes back and wait until all have arrived. */
static int echo_bytes(int fd, int n, int already)
{
    char b[256];
    memset(b, 'e', sizeof b);
    write_all(fd, b, (size_t)n);
    return wait_inq(fd, already + n, 3000);
}

/* Level-triggered: reported on every wait while data remains, gone when read. */
static void c_epoll_level(void)
{
    int fd = peer_conn("echo");
    if (fd < 0)
        return;
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    emit("add=%s", R(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)));
    epoll_once("empty", ep, 0);
    echo_bytes(fd, 100, 0);
    epoll_once("w1", ep, 5000);
    epoll_once("w2", ep, 0);
    char b[200];
    recv(fd, b, 10, 0);
    epoll_once("part_read", ep, 0);
    emit("rest=%s", R(recv(fd, b, sizeof b, 0)));
    epoll_once("drained", ep, 0);
    close(ep);
    close(fd);
}

/* EPOLLET: once per arrival. Unread data is not reported again; a new
 * arrival is reported again even though data was already queued. */
static void c_epoll_edge(void)
{
    int fd = peer_conn("echo");
    if (fd < 0)
        return;
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.fd = fd};
    emit("add=%s", R(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)));
    echo_bytes(fd, 10, 0);
    epoll_once("w1", ep, 5000);
    epoll_once("w2", ep, 0);
    echo_bytes(fd, 10, 10);
    epoll_once("w3", ep, 5000);
    epoll_once("w4", ep, 0);
    char b[64];
    emit("read=%s", R(recv(fd, b, sizeof b, 0)));
    epoll_once("w5", ep, 0);
    close(ep);
    close(fd);
}

/* EPOLLONESHOT: reported once, then never until EPOLL_CTL_MOD re-arms it (and
 * then at once, data being queued). */
static void c_epoll_oneshot(void)
{
    int fd = peer_conn("echo");
    if (fd < 0)
        return;
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.fd = fd};
    emit("add=%s", R(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)));
    echo_bytes(fd, 10, 0);
    epoll_once("w1", ep, 5000);
    epoll_once("w2", ep, 0);
    echo_bytes(fd, 10, 10);
    epoll_once("w3", ep, 100);
    emit("mod=%s", R(epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev)));
    epoll_once("w4", ep, 0);
    epoll_once("w5", ep, 0);
    close(ep);
    close(fd);
}

/* EPOLLRDHUP: the peer's FIN is reported as IN|RDHUP. */
static void c_epoll_rdhup(void)
{
    int fd = peer_conn("close");
    if (fd < 0)
        return;
    wait_peer_gone(fd, 5000);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = fd};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    epoll_once("w", ep, 5000);
    close(ep);
    close(fd);
}

/* After the peer's RST: EPOLLERR and EPOLLHUP without asking, with IN, OUT,
 * RDHUP; registered for nothing, ERR|HUP still come. */
static void c_epoll_rst(void)
{
    int fd = peer_conn("rst");
    if (fd < 0)
        return;
    wait_peer_gone(fd, 5000);
    int ep = epoll_create1(0), ep0 = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.fd = fd};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    ev.events = 0;
    epoll_ctl(ep0, EPOLL_CTL_ADD, fd, &ev);
    epoll_once("all", ep, 5000);
    epoll_once("none_asked", ep0, 0);
    close(ep0);
    close(ep);
    close(fd);
}

/* One socket in two epoll sets: both report it. */
static void c_epoll_two_sets(void)
{
    int fd = peer_conn("echo");
    if (fd < 0)
        return;
    int e1 = epoll_create1(0), e2 = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    emit("add1=%s", R(epoll_ctl(e1, EPOLL_CTL_ADD, fd, &ev)));
    emit("add2=%s", R(epoll_ctl(e2, EPOLL_CTL_ADD, fd, &ev)));
    emit("add_again=%s", R(epoll_ctl(e1, EPOLL_CTL_ADD, fd, &ev)));
    echo_bytes(fd, 20, 0);
    epoll_once("set1", e1, 5000);
    epoll_once("set2", e2, 5000);
    emit("del1=%s", R(epoll_ctl(e1, EPOLL_CTL_DEL, fd, NULL)));
    epoll_once("set1_after_del", e1, 0);
    epoll_once("set2_after_del", e2, 0);
    close(e1);
    close(e2);
    close(fd);
}

/* The mixed-set fixture: a TCP socket with data queued, a pipe with data, an
 * eventfd with a count, and an empty kernel AF_UNIX socketpair. */
struct mixed {
    int tcp, pfd[2], efd, ux[2];
};

static int mixed_open(struct mixed *m)
{
    m->tcp = peer_conn("echo");
    if (m->tcp < 0)
        return -1;
    if (pipe(m->pfd) < 0)
        return -1;
    m->efd = eventfd(0, EFD_CLOEXEC);
    if (m->efd < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, m->ux) < 0)
        return -1;
    write(m->pfd[1], "p", 1);
    uint64_t one = 1;
    write(m->efd, &one, sizeof one);
    echo_bytes(m->tcp, 5, 0);
    return 0;
}

static void mixed_close(struct mixed *m)
{
    close(m->tcp);
    close(m->pfd[0]);
    close(m->pfd[1]);
    close(m->efd);
    close(m->ux[0]);
    close(m->ux[1]);
}

/* epoll over the mixed set (IN only): tcp, pipe and eventfd are reported, the
 * empty unix socket is not; after writing to the unix pair it is too. */
static void c_epoll_mixed(void)
{
    struct mixed m;
    if (mixed_open(&m) < 0) {
        emit("setup: mixed=%s", R(-1));
        return;
    }
    int ep = epoll_create1(0);
    int fds[4] = {m.tcp, m.pfd[0], m.efd, m.ux[0]};
    const char *names[4] = {"tcp", "pipe", "eventfd", "unix"};
    for (int i = 0; i < 4; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
    }
    for (int round = 0; round < 2; round++) {
        struct epoll_event out[8];
        unsigned seen[4] = {0};
        int n = epoll_wait(ep, out, 8, 2000);
        for (int i = 0; i < n; i++)
            seen[out[i].data.u32] = out[i].events;
        emit("round%d=%s", round, R(n));
        for (int i = 0; i < 4; i++)
            emit("%s=%s", names[i], pollbits(seen[i]));
        write(m.ux[1], "u", 1);
    }
    close(ep);
    mixed_close(&m);
}

/* poll over the same mixed set. */
static void c_poll_mixed(void)
{
    struct mixed m;
    if (mixed_open(&m) < 0) {
        emit("setup: mixed=%s", R(-1));
        return;
    }
    struct pollfd p[4] = {{m.tcp, POLLIN, 0}, {m.pfd[0], POLLIN, 0}, {m.efd, POLLIN, 0},
                          {m.ux[0], POLLIN, 0}};
    const char *names[4] = {"tcp", "pipe", "eventfd", "unix"};
    for (int round = 0; round < 2; round++) {
        int n = poll(p, 4, 2000);
        emit("round%d=%s", round, R(n));
        for (int i = 0; i < 4; i++)
            emit("%s=%s", names[i], pollbits((unsigned)p[i].revents));
        write(m.ux[1], "u", 1);
    }
    mixed_close(&m);
}

/* ------------------------------------------------------------------------ */
/* Cases: threads                                                           */
/* ------------------------------------------------------------------------ */

struct xfer_job {
    unsigned seed;
    int ok;            /* both directions verified */
    char why[64];
};

/* One thread's work: upload 256 KB to a sink and download 256 KB, each on its
 * own connection, checksums compared. */
static void *xfer_thread(void *arg)
{
    struct xfer_job *j = arg;
    enum { N = 256 * 1024 };
    int fd = tcp_socket(0);
    char line[128];
    if (connect_to(fd, g_port) < 0 || write_all(fd, "sink\n", 5) != 5 ||
        send_pattern(fd, N, j->seed) != N || shutdown(fd, SHUT_WR) < 0 ||
        read_reply(fd, line, sizeof line) < 0) {
        snprintf(j->why, sizeof j->why, "upload %s", errno_name(errno));
        close(fd);
        return NULL;
    }
    close(fd);
    size_t got = 0;
    unsigned sum = 0;
    sscanf(line, "%zu %x", &got, &sum);
    if (got != N || sum != pattern_cksum(N, j->seed)) {
        snprintf(j->why, sizeof j->why, "upload got %zu", got);
        return NULL;
    }
    fd = tcp_socket(0);
    size_t total = 0;
    uint32_t dsum = 0;
    if (connect_to(fd, g_port) < 0 || write_all(fd, "send 262144\n", 12) != 12 ||
        read_to_eof(fd, &total, &dsum) != 0 || total != N || dsum != pattern_cksum(N, 0)) {
        snprintf(j->why, sizeof j->why, "download %zu", total);
        close(fd);
        return NULL;
    }
    close(fd);
    j->ok = 1;
    return NULL;
}

/* 8 threads, each on its own connections, 256 KB each way. */
static void c_threads_8x256k(void)
{
    enum { T = 8 };
    pthread_t th[T];
    struct xfer_job jobs[T];
    memset(jobs, 0, sizeof jobs);
    for (int i = 0; i < T; i++) {
        jobs[i].seed = 10u + (unsigned)i;
        pthread_create(&th[i], NULL, xfer_thread, &jobs[i]);
    }
    int ok = 0;
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        ok += jobs[i].ok;
    }
    emit("ok=%d/%d", ok, T);
    for (int i = 0; i < T; i++)
        if (!jobs[i].ok)
            emit("t%d=%s", i, jobs[i].why);
}

struct rw_share {
    int fd;
    size_t n;
    size_t got;
    uint32_t sum;
    long last;
    int err;
};

static void *rw_writer(void *arg)
{
    struct rw_share *s = arg;
    send_pattern(s->fd, s->n, 4);
    shutdown(s->fd, SHUT_WR);
    return NULL;
}

static void *rw_reader(void *arg)
{
    struct rw_share *s = arg;
    s->last = read_to_eof(s->fd, &s->got, &s->sum);
    s->err = errno;
    return NULL;
}

/* A reader thread and a writer thread on one socket (echo peer): 1 MB out,
 * the same 1 MB back, then EOF after our SHUT_WR. */
static void c_threads_reader_writer(void)
{
    int fd = peer_conn("echo");
    if (fd < 0)
        return;
    struct rw_share s = {.fd = fd, .n = MB};
    pthread_t w, r;
    pthread_create(&r, NULL, rw_reader, &s);
    pthread_create(&w, NULL, rw_writer, &s);
    pthread_join(w, NULL);
    pthread_join(r, NULL);
    errno = s.err; /* the reader's errno: errno is per thread */
    emit("last=%s got=%zu match=%s", R(s.last), s.got, yesno(s.sum == pattern_cksum(MB, 4)));
    close(fd);
}

struct blocked_reader {
    int fd;
    atomic_int entering;   /* the reader is about to call recv */
    atomic_int done;       /* recv has returned */
    atomic_int tid;
    long r;
    int err;
};

static void *blocked_reader_thread(void *arg)
{
    struct blocked_reader *b = arg;
    char buf[16];
    atomic_store(&b->tid, (int)syscall(SYS_gettid));
    atomic_store(&b->entering, 1);
    b->r = recv(b->fd, buf, sizeof buf, 0);
    b->err = errno;
    atomic_store(&b->done, 1);
    return NULL;
}

/* Is thread `tid` of this process asleep (state S)? */
static int thread_sleeping(pid_t tid)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    return p && p[1] == ' ' && p[2] == 'S';
}

/* A reader blocked in recv is woken by shutdown(SHUT_RD) from another thread;
 * Linux: recv returns 0. (The reader is seen asleep first when possible.) */
static void c_threads_shutdown_wakes_recv(void)
{
    int fd = peer_conn("sink");
    if (fd < 0)
        return;
    struct blocked_reader b = {.fd = fd};
    atomic_init(&b.entering, 0);
    atomic_init(&b.done, 0);
    atomic_init(&b.tid, 0);
    pthread_t t;
    pthread_create(&t, NULL, blocked_reader_thread, &b);
    int64_t t0 = now_ns();
    while (!atomic_load(&b.entering) && ms_since(t0) < 2000)
        poll(NULL, 0, 1);
    while (!thread_sleeping((pid_t)atomic_load(&b.tid)) && ms_since(t0) < 2000)
        poll(NULL, 0, 1);
    int64_t ts = now_ns();
    emit("shutdown=%s", R(shutdown(fd, SHUT_RD)));
    /* bounded join: if the reader is not woken, shut the socket fully */
    int woken = 0;
    while (ms_since(ts) < 3000) {
        if (atomic_load(&b.done)) {
            woken = 1;
            break;
        }
        poll(NULL, 0, 5);
    }
    if (!woken)
        shutdown(fd, SHUT_RDWR);
    pthread_join(t, NULL);
    errno = b.err;
    emit("recv=%s woken_within_3s=%s", R(b.r), yesno(woken));
    close(fd);
}

/* pthread_cancel of a thread blocked in recv (iperf3 stops its stream threads so):
 * recv is a cancellation point, the thread ends, and the socket is left usable
 * by another thread (nothing stays locked): an echo round trip on it works. */
static void c_threads_cancel_blocked_recv(void)
{
    int fd = peer_conn("echo");
    if (fd < 0)
        return;
    struct blocked_reader b = {.fd = fd};
    atomic_init(&b.entering, 0);
    atomic_init(&b.done, 0);
    atomic_init(&b.tid, 0);
    pthread_t t;
    pthread_create(&t, NULL, blocked_reader_thread, &b);
    int64_t t0 = now_ns();
    while (!atomic_load(&b.entering) && ms_since(t0) < 2000)
        poll(NULL, 0, 1);
    while (!thread_sleeping((pid_t)atomic_load(&b.tid)) && ms_since(t0) < 2000)
        poll(NULL, 0, 1);
    int c = pthread_cancel(t);
    /* bounded join: a thread that cannot be cancelled is woken by a shutdown */
    int64_t tc = now_ns();
    void *ret_early = NULL;
    int cancelled_in_time = 0;
    while (ms_since(tc) < 3000) {
        if (pthread_tryjoin_np(t, &ret_early) == 0) {
            cancelled_in_time = 1;
            break;
        }
        poll(NULL, 0, 5);
    }
    if (!cancelled_in_time)
        shutdown(fd, SHUT_RDWR);
    void *ret = ret_early;
    if (!cancelled_in_time)
        pthread_join(t, &ret);
    emit("cancel=%d canceled=%s in_time=%s", c, yesno(ret == PTHREAD_CANCELED), yesno(cancelled_in_time));
    if (cancelled_in_time) {
        long s = send(fd, "ping", 4, MSG_NOSIGNAL);
        char buf[8];
        long r = 0;
        while (r < 4) {
            long k = recv(fd, buf + r, (size_t)(4 - r), 0);
            if (k <= 0)
                break;
            r += k;
        }
        emit("after: send=%s echo=%s", R(s), r == 4 && memcmp(buf, "ping", 4) == 0 ? "ping" : "none");
    }
    close(fd);
}

/* sendfile from a regular file to a socket: every byte arrives (the sink's count
 * and checksum), the file offset advances when none is given. */
static void c_sendfile_to_socket(void)
{
    char path[] = "/tmp/jr-sendfile-XXXXXX";
    int file = mkstemp(path);
    if (file < 0) {
        emit("setup: mkstemp=%s", R(file));
        return;
    }
    unlink(path);
    enum { kFile = 300000 };
    uint8_t *buf = malloc(kFile);
    pattern_fill(buf, kFile, 0, 5);
    long w = write(file, buf, kFile);
    free(buf);
    lseek(file, 0, SEEK_SET);
    int fd = peer_conn("sink");
    if (fd < 0 || w != kFile) {
        close(file);
        return;
    }
    long total = 0, r = 0;
    while (total < kFile && (r = sendfile(fd, file, NULL, (size_t)(kFile - total))) > 0)
        total += r;
    emit("sendfile=%ld offset=%ld", total, (long)lseek(file, 0, SEEK_CUR));
    off_t off = 1000;
    emit("with_offset=%s offset_after=%ld", R(sendfile(fd, file, &off, 0)), (long)off);
    shutdown(fd, SHUT_WR);
    char line[128];
    if (read_reply(fd, line, sizeof line) < 0) {
        emit("reply=none");
    } else {
        size_t got = 0;
        unsigned sum = 0;
        sscanf(line, "%zu %x", &got, &sum);
        emit("peer_got=%zu match=%s", got, yesno(sum == pattern_cksum(kFile, 5)));
    }
    close(fd);
    close(file);
}

/* A connect whose SYNs go unanswered ends with ETIMEDOUT once TCP_USER_TIMEOUT
 * (set before connect) has passed, as Linux's tcp_write_timeout in SYN-SENT. */
static void c_connect_etimedout(void)
{
    int fd = tcp_socket(0);
    int ms = 1500;
    emit("user_timeout=%s", R(setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof ms)));
    int64_t t0 = now_ns();
    emit("connect=%s", R(connect_to(fd, PENDING_PORT)));
    emit("elapsed_ok=%s", yesno(ms_since(t0) >= 1000 && ms_since(t0) < 15000));
    close(fd);
}

/* ------------------------------------------------------------------------ */
/* Cases: signals                                                           */
/* ------------------------------------------------------------------------ */

/* SIGALRM with a handler without SA_RESTART interrupts a blocking recv: EINTR. */
static void c_signal_eintr_recv(void)
{
    int fd = peer_conn("hold 3000");
    if (fd < 0)
        return;
    g_sigalrm_count = 0;
    set_handler(SIGALRM, on_sigalrm, 0);
    arm_timer_ms(100);
    char b[16];
    emit("recv=%s", R(recv(fd, b, sizeof b, 0)));
    disarm_timer();
    emit("handler_ran=%d", (int)g_sigalrm_count);
    signal(SIGALRM, SIG_DFL);
    close(fd);
}

/* With SA_RESTART the recv continues after the handler and gets the bytes
 * the peer sends 1 s later. */
static void c_signal_restart_recv(void)
{
    int fd = peer_conn("delaysend 1000 5");
    if (fd < 0)
        return;
    g_sigalrm_count = 0;
    set_handler(SIGALRM, on_sigalrm, SA_RESTART);
    arm_timer_ms(100);
    char b[16];
    emit("recv=%s", R(recv(fd, b, sizeof b, 0)));
    disarm_timer();
    emit("handler_ran=%d", (int)g_sigalrm_count);
    signal(SIGALRM, SIG_DFL);
    close(fd);
}

/* With SA_RESTART but SO_RCVTIMEO set, Linux does not restart: EINTR. */
static void c_signal_restart_rcvtimeo(void)
{
    int fd = peer_conn("hold 3000");
    if (fd < 0)
        return;
    struct timeval tv = {.tv_sec = 2};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    g_sigalrm_count = 0;
    set_handler(SIGALRM, on_sigalrm, SA_RESTART);
    arm_timer_ms(100);
    char b[16];
    emit("recv=%s", R(recv(fd, b, sizeof b, 0)));
    disarm_timer();
    emit("handler_ran=%d", (int)g_sigalrm_count);
    signal(SIGALRM, SIG_DFL);
    close(fd);
}

/* A blocking accept on a wildcard listener (under Joyride: its own queue and the
 * kernel twin's for loopback) while SIGALRM's handler runs: with SA_RESTART it
 * goes on and returns the peer's connection 1 s later; without, EINTR. */
static void signal_accept(int restart)
{
    int lport;
    int ls = local_listener(INADDR_ANY, 0, &lport);
    if (ls < 0)
        return;
    char cmd[64];
    snprintf(cmd, sizeof cmd, "delayconnectback 1000 %d", lport);
    int ctl = peer_conn(cmd);
    if (ctl < 0) {
        close(ls);
        return;
    }
    g_sigalrm_count = 0;
    set_handler(SIGALRM, on_sigalrm, restart ? SA_RESTART : 0);
    arm_timer_ms(100);
    int fd = accept(ls, NULL, NULL);
    emit("accept=%s", fd < 0 ? R(fd) : "fd");
    disarm_timer();
    emit("handler_ran=%d", (int)g_sigalrm_count);
    signal(SIGALRM, SIG_DFL);
    if (fd >= 0)
        close(fd);
    close(ctl);
    close(ls);
}

static void c_signal_restart_accept(void) { signal_accept(1); }
static void c_signal_eintr_accept(void) { signal_accept(0); }

/* A blocking connect to the pending port interrupted by a handler without
 * SA_RESTART: EINTR; the connection attempt goes on (a second connect is
 * EALREADY). */
static void c_signal_eintr_connect(void)
{
    int fd = tcp_socket(0);
    g_sigalrm_count = 0;
    set_handler(SIGALRM, on_sigalrm, 0);
    arm_timer_ms(100);
    emit("connect=%s", R(connect_to(fd, PENDING_PORT)));
    disarm_timer();
    emit("handler_ran=%d state=%s", (int)g_sigalrm_count, tcpi_state(fd));
    fcntl(fd, F_SETFL, O_NONBLOCK);
    emit("connect2=%s", R(connect_to(fd, PENDING_PORT)));
    signal(SIGALRM, SIG_DFL);
    close(fd);
}

/* ------------------------------------------------------------------------ */
/* Cases: loopback (served by the kernel even under Joyride)                */
/* ------------------------------------------------------------------------ */

struct lo_server {
    int ls;
    size_t got;
    uint32_t sum;
    long sent;
};

static void *lo_server_thread(void *arg)
{
    struct lo_server *s = arg;
    if (!(wait_fd(s->ls, POLLIN, 5000) & POLLIN))
        return NULL;
    int c = accept(s->ls, NULL, NULL);
    if (c < 0)
        return NULL;
    s->sent = send_pattern(c, 65536, 7); /* fits the buffers: no deadlock */
    shutdown(c, SHUT_WR);
    read_to_eof(c, &s->got, &s->sum);
    close(c);
    return NULL;
}

/* 127.0.0.1: a local listener and a connect to it; 64 KB each way. */
static void c_loopback(void)
{
    int port;
    int ls = local_listener(INADDR_LOOPBACK, 0, &port);
    if (ls < 0)
        return;
    struct lo_server s = {.ls = ls};
    pthread_t t;
    pthread_create(&t, NULL, lo_server_thread, &s);
    int fd = tcp_socket(0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    emit("connect=%s", R(connect(fd, (struct sockaddr *)&a, sizeof a)));
    long up = send_pattern(fd, 65536, 8);
    shutdown(fd, SHUT_WR);
    size_t got;
    uint32_t sum;
    long last = read_to_eof(fd, &got, &sum);
    pthread_join(t, NULL);
    emit("down=%zu/%s up=%ld/%zu/%s last=%s", got, yesno(sum == pattern_cksum(65536, 7)), up,
         s.got, yesno(s.sum == pattern_cksum(65536, 8)), R(last));
    close(fd);
    close(ls);
}

/* ------------------------------------------------------------------------ */
/* Cases: descriptors, more options                                         */
/* ------------------------------------------------------------------------ */

/* dup makes an alias: closing the original sends no FIN while the dup is open
 * (the peer counts all 2000 bytes, half sent on each fd). */
static void c_dup_alias(void)
{
    int fd = peer_conn("sink");
    if (fd < 0)
        return;
    uint8_t buf[2000];
    pattern_fill(buf, sizeof buf, 0, 6);
    write_all(fd, buf, 1000);
    int d = dup(fd);
    emit("dup=%s", d < 0 ? R(d) : "fd");
    emit("close_orig=%s", R(close(fd)));
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    emit("getpeername_dup=%s", R(getpeername(d, (struct sockaddr *)&a, &len)));
    emit("send_dup=%s", R(send(d, buf + 1000, 1000, MSG_NOSIGNAL)));
    shutdown(d, SHUT_WR);
    char line[128];
    size_t got = 0;
    unsigned sum = 0;
    if (read_reply(d, line, sizeof line) >= 0)
        sscanf(line, "%zu %x", &got, &sum);
    emit("peer_got=%zu match=%s", got, yesno(sum == cksum_add(CKSUM_INIT, buf, sizeof buf)));
    close(d);
}

/* Linux epoll registers (file, fd number): after dup + close of the
 * registered fd the entry lives on and still reports; EPOLL_CTL_DEL by the
 * closed number is EBADF, by the dup's number ENOENT. */
static void c_epoll_dup_close(void)
{
    int fd = peer_conn("echo");
    if (fd < 0)
        return;
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    int d = dup(fd);
    close(fd);
    echo_bytes(d, 10, 0);
    struct epoll_event out[2];
    int n = epoll_wait(ep, out, 2, 2000);
    emit("wait=%s data=%u", R(n), n > 0 ? out[0].data.u32 : 0);
    emit("del_closed=%s", R(epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL)));
    emit("del_dup=%s", R(epoll_ctl(ep, EPOLL_CTL_DEL, d, NULL)));
    close(d);
    n = epoll_wait(ep, out, 2, 0);
    emit("after_last_close=%s", R(n));
    close(ep);
}

/* Non-blocking send to a peer that never reads: EAGAIN once the buffers are
 * full. The first EAGAIN is not the end (ACKs of data in flight free send
 * space until the peer's window closes), so fill again whenever POLLOUT comes
 * back; once the peer's window is zero and our buffer full, EAGAIN holds and
 * POLLOUT stays off. */
static void c_send_nonblock_eagain(void)
{
    int fd = peer_conn("noread");
    if (fd < 0)
        return;
    fcntl(fd, F_SETFL, O_NONBLOCK);
    static uint8_t buf[65536];
    long r = 0;
    int e = 0;
    unsigned ev = POLLOUT;
    for (int round = 0; round < 50 && (ev & POLLOUT); round++) {
        r = 0;
        for (int i = 0; i < 4000 && r >= 0; i++)
            r = send(fd, buf, sizeof buf, MSG_NOSIGNAL);
        e = errno;
        ev = wait_fd(fd, POLLOUT, 200);
    }
    errno = e;
    emit("last_send=%s", R(r));
    emit("pollout=%s", pollbits(ev));
    peer_rst_close(fd);
}

/* Keepalive options: SO_KEEPALIVE off by default, the TCP_KEEP* defaults
 * (the sysctls: 7200 s, 75 s, 9), and the values set read back. */
static void c_keepalive_opts(void)
{
    int fd = peer_conn("sink");
    if (fd < 0)
        return;
    int ka = -1, idle = -1, intvl = -1, cnt = -1;
    getint(fd, SOL_SOCKET, SO_KEEPALIVE, &ka);
    getint(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle);
    getint(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl);
    getint(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt);
    emit("default=%d/%d/%d/%d", ka, idle, intvl, cnt);
    emit("set=%s", R(setint(fd, SOL_SOCKET, SO_KEEPALIVE, 1)));
    emit("%s", R(setint(fd, IPPROTO_TCP, TCP_KEEPIDLE, 30)));
    emit("%s", R(setint(fd, IPPROTO_TCP, TCP_KEEPINTVL, 5)));
    emit("%s", R(setint(fd, IPPROTO_TCP, TCP_KEEPCNT, 3)));
    getint(fd, SOL_SOCKET, SO_KEEPALIVE, &ka);
    getint(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle);
    getint(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl);
    getint(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt);
    emit("now=%d/%d/%d/%d", ka, idle, intvl, cnt);
    emit("idle0=%s", R(setint(fd, IPPROTO_TCP, TCP_KEEPIDLE, 0)));
    close(fd);
}

/* SO_RCVBUF/SO_SNDBUF: Linux stores twice the value asked for (under the
 * rmem_max/wmem_max caps); SO_REUSEADDR reads back 0/1. */
static void c_sockopt_bufsize(void)
{
    int fd = tcp_socket(0);
    int v = -1;
    emit("rcvbuf_set=%s", R(setint(fd, SOL_SOCKET, SO_RCVBUF, 50000)));
    getint(fd, SOL_SOCKET, SO_RCVBUF, &v);
    emit("rcvbuf=%d", v);
    emit("sndbuf_set=%s", R(setint(fd, SOL_SOCKET, SO_SNDBUF, 60000)));
    getint(fd, SOL_SOCKET, SO_SNDBUF, &v);
    emit("sndbuf=%d", v);
    getint(fd, SOL_SOCKET, SO_REUSEADDR, &v);
    emit("reuseaddr_default=%d", v);
    setint(fd, SOL_SOCKET, SO_REUSEADDR, 5);
    getint(fd, SOL_SOCKET, SO_REUSEADDR, &v);
    emit("reuseaddr_set5=%d", v);
    emit("unknown_opt=%s", R(setint(fd, IPPROTO_TCP, 9999, 1)));
    close(fd);
}

/* connect with bad arguments: a short address length EINVAL, an AF_INET6
 * address on an AF_INET socket EAFNOSUPPORT, a NULL address EFAULT. */
static void c_connect_bad_args(void)
{
    int fd = tcp_socket(0);
    struct sockaddr_in a = peer_sa(g_port);
    emit("short_len=%s", R(connect(fd, (struct sockaddr *)&a, 8)));
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)g_port)};
    emit("inet6=%s", R(connect(fd, (struct sockaddr *)&a6, sizeof a6)));
    emit("null=%s", R(connect(fd, NULL, sizeof a)));
    emit("state=%s", tcpi_state(fd));
    /* the socket is still usable */
    emit("connect=%s", R(connect(fd, (struct sockaddr *)&a, sizeof a)));
    close(fd);
}

/* ------------------------------------------------------------------------ */
/* Case table, watchdog, main                                               */
/* ------------------------------------------------------------------------ */

struct case_def {
    const char *name;
    void (*fn)(void);
};

/* Most important first. */
static const struct case_def cases[] = {
    {"blocking_upload_1m", c_blocking_upload_1m},
    {"blocking_download_1m", c_blocking_download_1m},
    {"nonblock_connect", c_nonblock_connect},
    {"connect_again_after_nonblock", c_connect_again_after_nonblock},
    {"connect_refused_blocking", c_connect_refused_blocking},
    {"connect_refused_nonblock", c_connect_refused_nonblock},
    {"connect_ealready", c_connect_ealready},
    {"connect_eisconn", c_connect_eisconn},
    {"connect_etimedout", c_connect_etimedout},
    {"sendfile_to_socket", c_sendfile_to_socket},
    {"unconnected_ops", c_unconnected_ops},
    {"send_after_rst_nosignal", c_send_after_rst_nosignal},
    {"send_after_rst_sigpipe", c_send_after_rst_sigpipe},
    {"recv_after_rst", c_recv_after_rst},
    {"so_error_after_rst", c_so_error_after_rst},
    {"recv_eof_after_fin", c_recv_eof_after_fin},
    {"bind_eaddrinuse", c_bind_eaddrinuse},
    {"bind_reuseaddr_listen", c_bind_reuseaddr_listen},
    {"listen_accept", c_listen_accept},
    {"accept4_nonblock", c_accept4_nonblock},
    {"recv_nonblock_eagain", c_recv_nonblock_eagain},
    {"msg_peek", c_msg_peek},
    {"msg_waitall", c_msg_waitall},
    {"msg_dontwait", c_msg_dontwait},
    {"writev", c_writev},
    {"readv", c_readv},
    {"sendmsg_recvmsg", c_sendmsg_recvmsg},
    {"fionread", c_fionread},
    {"siocoutq", c_siocoutq},
    {"fcntl_nonblock", c_fcntl_nonblock},
    {"fionbio", c_fionbio},
    {"sock_peer_names", c_sock_peer_names},
    {"sockopt_identity", c_sockopt_identity},
    {"tcp_nodelay", c_tcp_nodelay},
    {"so_rcvtimeo", c_so_rcvtimeo},
    {"so_sndtimeo", c_so_sndtimeo},
    {"tcp_info_state", c_tcp_info_state},
    {"shutdown_wr", c_shutdown_wr},
    {"shutdown_rd", c_shutdown_rd},
    {"shutdown_twice", c_shutdown_twice},
    {"poll_after_fin", c_poll_after_fin},
    {"poll_after_rst", c_poll_after_rst},
    {"select_connected", c_select_connected},
    {"select_timeout", c_select_timeout},
    {"poll_timeout", c_poll_timeout},
    {"epoll_timeout", c_epoll_timeout},
    {"epoll_level", c_epoll_level},
    {"epoll_edge", c_epoll_edge},
    {"epoll_oneshot", c_epoll_oneshot},
    {"epoll_rdhup", c_epoll_rdhup},
    {"epoll_rst", c_epoll_rst},
    {"epoll_two_sets", c_epoll_two_sets},
    {"epoll_mixed", c_epoll_mixed},
    {"poll_mixed", c_poll_mixed},
    {"threads_8x256k", c_threads_8x256k},
    {"threads_reader_writer", c_threads_reader_writer},
    {"threads_shutdown_wakes_recv", c_threads_shutdown_wakes_recv},
    {"threads_cancel_blocked_recv", c_threads_cancel_blocked_recv},
    {"signal_eintr_recv", c_signal_eintr_recv},
    {"signal_restart_recv", c_signal_restart_recv},
    {"signal_restart_rcvtimeo", c_signal_restart_rcvtimeo},
    {"signal_eintr_connect", c_signal_eintr_connect},
    {"signal_restart_accept", c_signal_restart_accept},
    {"signal_eintr_accept", c_signal_eintr_accept},
    {"close_ebadf", c_close_ebadf},
    {"enotsock_pipe", c_enotsock_pipe},
    {"fstat_issock", c_fstat_issock},
    {"loopback", c_loopback},
    {"dup_alias", c_dup_alias},
    {"epoll_dup_close", c_epoll_dup_close},
    {"send_nonblock_eagain", c_send_nonblock_eagain},
    {"keepalive_opts", c_keepalive_opts},
    {"sockopt_bufsize", c_sockopt_bufsize},
    {"connect_bad_args", c_connect_bad_args},
};
#define NCASES (sizeof cases / sizeof cases[0])

/* The watchdog: if a case runs past CASE_LIMIT_S, print it as TIMEOUT and
 * exit 3 (the harness broke: the remaining cases cannot be trusted). It runs
 * with every signal blocked so the cases' signals never land on it. */
#define CASE_LIMIT_S 20
static pthread_mutex_t g_wd_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_wd_cv = PTHREAD_COND_INITIALIZER;
static const char *g_wd_case;
static struct timespec g_wd_deadline;

static void *watchdog(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g_wd_mu);
    for (;;) {
        if (!g_wd_case) {
            pthread_cond_wait(&g_wd_cv, &g_wd_mu);
            continue;
        }
        const char *c = g_wd_case;
        struct timespec dl = g_wd_deadline;
        if (pthread_cond_timedwait(&g_wd_cv, &g_wd_mu, &dl) == ETIMEDOUT && g_wd_case == c) {
            printf("%s: TIMEOUT (over %d s)\n", c, CASE_LIMIT_S);
            fflush(stdout);
            _exit(3);
        }
    }
    return NULL;
}

static void watchdog_arm(const char *name)
{
    pthread_mutex_lock(&g_wd_mu);
    g_wd_case = name;
    clock_gettime(CLOCK_REALTIME, &g_wd_deadline);
    g_wd_deadline.tv_sec += CASE_LIMIT_S;
    pthread_cond_signal(&g_wd_cv);
    pthread_mutex_unlock(&g_wd_mu);
}

static void watchdog_disarm(void)
{
    pthread_mutex_lock(&g_wd_mu);
    g_wd_case = NULL;
    pthread_cond_signal(&g_wd_cv);
    pthread_mutex_unlock(&g_wd_mu);
}

static void watchdog_start(void)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pthread_t t;
    pthread_create(&t, NULL, watchdog, NULL);
    pthread_detach(t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void run_case(const struct case_def *c)
{
    g_out[0] = 0;
    watchdog_arm(c->name);
    c->fn();
    watchdog_disarm();
    printf("%s: %s\n", c->name, g_out[0] ? g_out : "(no outcome)");
    fflush(stdout);
}

static const struct case_def *find_case(const char *name)
{
    for (size_t i = 0; i < NCASES; i++)
        if (strcmp(cases[i].name, name) == 0)
            return &cases[i];
    return NULL;
}

static int client_main(const char *ip, int port, int ncase, char **names)
{
    if (inet_pton(AF_INET, ip, &g_peer_ip) != 1) {
        fprintf(stderr, "client: bad address %s\n", ip);
        return 2;
    }
    g_port = port;
    for (int i = 0; i < ncase; i++) {
        if (!find_case(names[i])) {
            fprintf(stderr, "client: no case %s (see: list)\n", names[i]);
            return 2;
        }
    }
    watchdog_start();
    if (ncase == 0)
        for (size_t i = 0; i < NCASES; i++)
            run_case(&cases[i]);
    for (int i = 0; i < ncase; i++)
        run_case(find_case(names[i]));
    return 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: socket_semantics peer PORT [--max-seconds N]\n"
            "       socket_semantics client PEER_IP PORT [CASE...]\n"
            "       socket_semantics list\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "list") == 0) {
        for (size_t i = 0; i < NCASES; i++)
            printf("%s\n", cases[i].name);
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "peer") == 0) {
        int port = atoi(argv[2]);
        int max_s = 120;
        if (argc >= 5 && strcmp(argv[3], "--max-seconds") == 0)
            max_s = atoi(argv[4]);
        else if (argc != 3)
            usage();
        if (port <= 0 || port > 65533 || max_s <= 0)
            usage();
        return peer_main(port, max_s);
    }
    if (argc >= 4 && strcmp(argv[1], "client") == 0) {
        int port = atoi(argv[3]);
        if (port <= 0 || port > 65533)
            usage();
        return client_main(argv[2], port, argc - 4, argv + 4);
    }
    usage();
    return 2;
}
