/* The application side of the preload, count-bounded, for callgrind and strace:
 * connect to HOST:PORT and make N send() calls of 1448 bytes (one MSS), or N recv()
 * calls of up to 1448 bytes, in joyride_bench_loop (callgrind collects only there);
 * `epoll`: N rounds of an event loop, epoll_wait on the (non-blocking) socket then
 * one recv of up to 1448 bytes, as a server's loop does.
 * Plain POSIX sockets, so the same binary runs on Linux and under `joyride run`.
 *
 *   app_path_bench send|recv|epoll HOST PORT N
 *
 * Prints the bytes moved and the calls made; exit 1 on a socket error. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { kChunk = 1448 };
static char buffer[kChunk];

__attribute__((noinline)) long joyride_bench_epoll_loop(int ep, int fd, long n, long *calls)
{
    long bytes = 0;
    struct epoll_event ev[8];
    for (long i = 0; i < n; ++i) {
        int k = epoll_wait(ep, ev, 8, -1);
        if (k < 0)
            return -1;
        ssize_t r = recv(fd, buffer, kChunk, MSG_DONTWAIT);
        if (r == 0)
            return bytes;
        if (r > 0)
            bytes += r;
        ++*calls;
    }
    return bytes;
}

__attribute__((noinline)) long joyride_bench_loop(int fd, int sending, long n, long *calls)
{
    long bytes = 0;
    for (long i = 0; i < n; ++i) {
        ssize_t r = sending ? send(fd, buffer, kChunk, 0) : recv(fd, buffer, kChunk, 0);
        if (r <= 0)
            return r < 0 ? -1 : bytes;
        bytes += r;
        ++*calls;
    }
    return bytes;
}

int main(int argc, char **argv)
{
    if (argc != 5 ||
        (strcmp(argv[1], "send") != 0 && strcmp(argv[1], "recv") != 0 && strcmp(argv[1], "epoll") != 0)) {
        fprintf(stderr, "usage: app_path_bench send|recv|epoll HOST PORT N\n");
        return 2;
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[3]))};
    if (inet_pton(AF_INET, argv[2], &a.sin_addr) != 1)
        return 2;
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("connect");
        return 1;
    }
    memset(buffer, 'j', sizeof buffer);
    long calls = 0;
    long bytes;
    if (argv[1][0] == 'e') {
        const int ep = epoll_create1(EPOLL_CLOEXEC);
        struct epoll_event want = {.events = EPOLLIN, .data.fd = fd};
        if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &want) != 0) {
            perror("epoll");
            return 1;
        }
        bytes = joyride_bench_epoll_loop(ep, fd, atol(argv[4]), &calls);
        close(ep);
    } else {
        bytes = joyride_bench_loop(fd, argv[1][0] == 's', atol(argv[4]), &calls);
    }
    printf("%s %ld bytes in %ld calls\n", argv[1], bytes, calls);
    close(fd);
    return bytes < 0 ? 1 : 0;
}
