/* The application side of the preload, count-bounded, for callgrind and strace:
 * connect to HOST:PORT and make N send() calls of 1448 bytes (one MSS), or N recv()
 * calls of up to 1448 bytes, in joyride_bench_loop (callgrind collects only there).
 * Plain POSIX sockets, so the same binary runs on Linux and under `joyride run`.
 *
 *   app_path_bench send|recv HOST PORT N
 *
 * Prints the bytes moved and the calls made; exit 1 on a socket error. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { kChunk = 1448 };
static char buffer[kChunk];

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
    if (argc != 5 || (strcmp(argv[1], "send") != 0 && strcmp(argv[1], "recv") != 0)) {
        fprintf(stderr, "usage: app_path_bench send|recv HOST PORT N\n");
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
    const long bytes = joyride_bench_loop(fd, argv[1][0] == 's', atol(argv[4]), &calls);
    printf("%s %ld bytes in %ld calls\n", argv[1], bytes, calls);
    close(fd);
    return bytes < 0 ? 1 : 0;
}
