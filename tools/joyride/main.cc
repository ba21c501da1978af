// joyride: the command-line client of joyrided.
//
//   joyride run [--service PATH] [--] CMD [ARGS...]
//       run an unmodified program over Joyride (run_command.h)
//   joyride stat [--socket PATH]
//       print the service's interfaces, counters and sockets
//   joyride close <ip>:<port> [--reset] [--socket PATH]
//       close the built-in services' TCP connections with that peer (FIN, or RST with
//       --reset); exit 0 when one or more were closed, 1 when none matched
//   joyride send <ip>:<port> --bytes N [--connections K] [--timeout S] [--socket PATH]
//       have joyrided send N bytes of RFC 864's pattern over K connections (default 1)
//       to <ip>:<port> (a discard service), wait for the job (at most S seconds,
//       default 60) and print "sent N bytes in T s, G Gbit/s, crc32 0x..."; the time
//       and the CRC (of connection 0's bytes) are joyrided's
//
// Each request is one line on joyrided's control socket and one answer
// (control_dispatch.h in tools/joyrided has the grammar). Exit status: 0 on success,
// 1 on failure (joyrided unreachable, an error answer, a failed or timed-out job),
// 2 on a bad command line.
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "joyride/base/parse_number.h"
#include "run_command.h"

namespace {

constexpr const char* kDefaultSocket = "/run/joyride/joyrided.sock";

int usage() {
  std::fprintf(stderr,
               "usage: joyride run [--service PATH] [--] CMD [ARGS...]\n"
               "       joyride stat [--socket PATH]\n"
               "       joyride close <ip>:<port> [--reset] [--socket PATH]\n"
               "       joyride send <ip>:<port> --bytes N [--connections K] [--timeout S] [--socket PATH]\n");
  return 2;
}

// One request, one answer; empty (after a message on stderr) when joyrided cannot be
// reached or does not answer.
std::optional<std::string> ask(const std::string& path, const std::string& request) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) {
    std::fprintf(stderr, "joyride: socket path too long: %s\n", path.c_str());
    return std::nullopt;
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::fprintf(stderr, "joyride: cannot reach joyrided at %s: %s (is it running? see scripts/testbed up)\n",
                 path.c_str(), std::strerror(errno));
    if (fd >= 0) ::close(fd);
    return std::nullopt;
  }
  const std::string line = request + "\n";
  if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
    std::fprintf(stderr, "joyride: send: %s\n", std::strerror(errno));
    ::close(fd);
    return std::nullopt;
  }
  std::string answer;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    answer.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (answer.empty()) {
    std::fprintf(stderr, "joyride: joyrided closed the connection without answering\n");
    return std::nullopt;
  }
  return answer;
}

// Prints an "error: ..." answer; true when it was one.
bool is_error(const std::string& answer) {
  if (!answer.starts_with("error:")) return false;
  std::fprintf(stderr, "joyride: %s", answer.c_str());
  return true;
}

// The value of `key=` in a job status line ("" when absent).
std::string field(std::string_view line, std::string_view key) {
  const std::string needle = " " + std::string(key) + "=";
  const size_t at = line.find(needle);
  if (at == std::string_view::npos) return "";
  line.remove_prefix(at + needle.size());
  return std::string(line.substr(0, line.find_first_of(" \n")));
}

// N from an answer "<prefix>N\n".
std::optional<uint64_t> numbered_answer(std::string_view answer, std::string_view prefix) {
  if (!answer.starts_with(prefix)) return std::nullopt;
  answer.remove_prefix(prefix.size());
  return joyride::base::parse_number<uint64_t>(answer.substr(0, answer.find('\n')));
}

double monotonic_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

int stat(const std::string& path) {
  const auto answer = ask(path, "stat");
  if (!answer) return 1;
  std::fwrite(answer->data(), 1, answer->size(), stdout);
  return answer->starts_with("error:") ? 1 : 0;
}

int close_peer(const std::string& path, const std::string& peer, bool reset) {
  const auto answer = ask(path, "close " + peer + (reset ? " reset" : ""));
  if (!answer || is_error(*answer)) return 1;
  const std::optional<uint64_t> n = numbered_answer(*answer, "closed ");
  if (!n) {
    std::fprintf(stderr, "joyride: unexpected answer: %s", answer->c_str());
    return 1;
  }
  if (*n == 0) {
    std::fprintf(stderr, "joyride: no built-in service connection with peer %s\n", peer.c_str());
    return 1;
  }
  std::printf("closed %llu connection(s) with %s%s\n", static_cast<unsigned long long>(*n), peer.c_str(),
              reset ? " (reset)" : "");
  return 0;
}

int send_job(const std::string& path, const std::string& peer, uint64_t bytes, uint32_t connections,
             double timeout) {
  const auto started = ask(path, "send " + peer + " " + std::to_string(bytes) + " " + std::to_string(connections));
  if (!started || is_error(*started)) return 1;
  const std::optional<uint64_t> id = numbered_answer(*started, "job ");
  if (!id) {
    std::fprintf(stderr, "joyride: unexpected answer: %s", started->c_str());
    return 1;
  }
  const double deadline = monotonic_seconds() + timeout;
  const std::string poll = "job " + std::to_string(*id);
  for (;;) {
    const auto line = ask(path, poll);
    if (!line || is_error(*line)) return 1;
    const std::string state = field(*line, "state");
    if (state == "done") {
      const double seconds = std::strtod(field(*line, "seconds").c_str(), nullptr);
      const double sent = std::strtod(field(*line, "bytes").c_str(), nullptr);
      std::printf("sent %s bytes in %.6f s, %.3f Gbit/s, crc32 %s\n", field(*line, "bytes").c_str(), seconds,
                  seconds > 0 ? sent * 8 / seconds / 1e9 : 0.0, field(*line, "crc32").c_str());
      return 0;
    }
    if (state != "running") {
      std::string error = field(*line, "error");
      for (char& ch : error) ch = ch == '-' ? ' ' : ch;
      std::fprintf(stderr, "joyride: job %llu failed after %s of %llu bytes: %s\n",
                   static_cast<unsigned long long>(*id), field(*line, "bytes").c_str(),
                   static_cast<unsigned long long>(bytes), error.c_str());
      return 1;
    }
    if (monotonic_seconds() >= deadline) {
      std::fprintf(stderr, "joyride: job %llu still running after %.0f s (%s bytes sent); it goes on in joyrided\n",
                   static_cast<unsigned long long>(*id), timeout, field(*line, "bytes").c_str());
      return 1;
    }
    const timespec nap{0, 5'000'000};  // joyrided looks at its control socket every 10 ms
    ::nanosleep(&nap, nullptr);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string_view command = argv[1];
  if (command == "run") return joyride::tool::run_command(argc - 1, argv + 1, kDefaultSocket);
  std::string path = kDefaultSocket;
  std::string peer;
  bool reset = false;
  std::optional<uint64_t> bytes;
  std::optional<uint32_t> connections = 1;
  std::optional<double> timeout = 60;
  for (int i = 2; i < argc; ++i) {
    const std::string_view a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--socket" && has_value) {
      path = argv[++i];
    } else if (a == "--reset" && command == "close") {
      reset = true;
    } else if (a == "--bytes" && has_value && command == "send") {
      bytes = joyride::base::parse_number<uint64_t>(argv[++i]);
      if (!bytes) return usage();
    } else if (a == "--connections" && has_value && command == "send") {
      connections = joyride::base::parse_number<uint32_t>(argv[++i]);
      if (!connections || *connections == 0) return usage();
    } else if (a == "--timeout" && has_value && command == "send") {
      char* end = nullptr;
      timeout = std::strtod(argv[++i], &end);
      if (end == argv[i] || *end != '\0' || !(*timeout > 0)) return usage();
    } else if (peer.empty() && !a.starts_with("-") && (command == "close" || command == "send")) {
      peer = std::string(a);
    } else {
      return usage();
    }
  }
  if (command == "stat") return stat(path);
  if (command == "close" && !peer.empty()) return close_peer(path, peer, reset);
  if (command == "send" && !peer.empty() && bytes) return send_job(path, peer, *bytes, *connections, *timeout);
  return usage();
}
