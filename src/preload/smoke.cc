// A tiny self-check for the preload author: connects to a local listener (kernel
// fallback territory) and echoes a few bytes. Not a test suite.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main() {
  const int l = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(l, 4) != 0) return perror("listen"), 1;
  getsockname(l, reinterpret_cast<sockaddr*>(&a), &len);
  const int c = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return perror("connect"), 1;
  const int s = accept(l, nullptr, nullptr);
  if (write(c, "ping", 4) != 4) return perror("write"), 1;
  pollfd p{s, POLLIN, 0};
  if (poll(&p, 1, 1000) != 1) return perror("poll"), 1;
  char buf[8] = {};
  if (read(s, buf, sizeof buf) != 4 || strcmp(buf, "ping") != 0) return fprintf(stderr, "bad read\n"), 1;
  close(c);
  close(s);
  close(l);
  puts("smoke ok");
  return 0;
}
