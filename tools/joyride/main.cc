// joyride: the command-line client of joyrided.
//
//   joyride stat [--socket PATH]   print the service's interfaces, counters and sockets
//
// It sends one request line on joyrided's control socket and prints the answer.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

namespace {

constexpr const char* kDefaultSocket = "/run/joyride/joyrided.sock";

int usage() {
  std::fprintf(stderr, "usage: joyride stat [--socket PATH]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string_view(argv[1]) != "stat") return usage();
  std::string path = kDefaultSocket;
  for (int i = 2; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--socket" && i + 1 < argc) {
      path = argv[++i];
    } else {
      return usage();
    }
  }
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) {
    std::fprintf(stderr, "joyride: socket path too long: %s\n", path.c_str());
    return 2;
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::fprintf(stderr, "joyride: cannot reach joyrided at %s: %s (is it running? see scripts/testbed up)\n",
                 path.c_str(), std::strerror(errno));
    return 1;
  }
  const std::string request = "stat\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    std::fprintf(stderr, "joyride: send: %s\n", std::strerror(errno));
    return 1;
  }
  char buf[4096];
  bool any = false;
  bool refused = false;
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    if (!any) refused = std::string_view(buf, static_cast<size_t>(n)).starts_with("error:");
    any = true;
    std::fwrite(buf, 1, static_cast<size_t>(n), stdout);
  }
  ::close(fd);
  if (!any) {
    std::fprintf(stderr, "joyride: joyrided closed the connection without answering\n");
    return 1;
  }
  return refused ? 1 : 0;
}
