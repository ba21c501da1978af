#include "control_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <time.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

namespace joyride::joyrided {
namespace {

int64_t monotonic_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1'000'000;
}

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

// Writes all of `text` (the client is local; a short timeout bounds a stuck one).
void write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, 100) <= 0) return;
    const ssize_t n = ::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    text.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

base::Result<ControlSocket, std::string> ControlSocket::open(const std::string& path, unsigned mode,
                                                             std::optional<uint32_t> group) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) return base::Err{std::string("control socket path too long: ") + path};
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) return base::Err{"cannot create the directory of " + path + ": " + ec.message()};
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return base::Err{errno_text("socket(AF_UNIX)")};
  // A socket file from a run that did not clean up; a live joyrided would still
  // answer on it, so only a file nobody listens on is replaced.
  if (std::filesystem::exists(path, ec)) {
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool live = probe >= 0 && ::connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    if (probe >= 0) ::close(probe);
    if (live) {
      ::close(fd);
      return base::Err{"another joyrided is serving " + path};
    }
    ::unlink(path.c_str());
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  // The mode is applied before anyone can connect: bind under a umask that grants
  // nothing, then chmod to the configured mode.
  const mode_t old_umask = ::umask(0777);
  const int bound = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old_umask);
  if (bound != 0 || (group && ::chown(path.c_str(), static_cast<uid_t>(-1), static_cast<gid_t>(*group)) != 0) ||
      ::chmod(path.c_str(), mode) != 0 || ::listen(fd, 16) != 0) {
    std::string e = errno_text(("control socket " + path).c_str());
    ::close(fd);
    return base::Err{std::move(e)};
  }
  return ControlSocket(fd, path, mode);
}

ControlSocket::ControlSocket(ControlSocket&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)), path_(std::move(o.path_)), mode_(o.mode_), pending_(std::move(o.pending_)) {}

ControlSocket::~ControlSocket() {
  for (const auto& p : pending_) ::close(p.fd);
  if (fd_ < 0) return;
  ::close(fd_);
  ::unlink(path_.c_str());
}

bool ControlSocket::peer_allowed(int client, const ucred& cred) const {
  if (cred.uid == 0 || cred.uid == ::getuid()) return true;
  struct stat st {};
  if ((mode_ & 0060) == 0 || ::stat(path_.c_str(), &st) != 0) return false;
  if (cred.gid == st.st_gid) return true;
  // Supplementary groups too (SO_PEERGROUPS, Linux 4.13+), as a file's group check.
  gid_t groups[256];
  socklen_t len = sizeof groups;
  if (::getsockopt(client, SOL_SOCKET, SO_PEERGROUPS, groups, &len) != 0) return false;
  for (socklen_t i = 0; i < len / sizeof(gid_t); ++i)
    if (groups[i] == st.st_gid) return true;
  return false;
}

void ControlSocket::poll(const Handler& answer, const AttachHandler& attach) {
  const int64_t now = monotonic_ms();
  for (;;) {
    // Non-blocking: a client that connects and says nothing must not stall the
    // service loop (every application's packets run on it). Its line is gathered
    // over later polls, until its deadline.
    const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (client < 0) break;  // EAGAIN: nobody waiting (or a transient error: next time)
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(client, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || !peer_allowed(client, cred)) {
      write_all(client, "error: permission denied\n");
      ::close(client);
      continue;
    }
    pending_.push_back(Pending{client, cred, {}, now + kRequestDeadlineMs});
  }
  for (size_t i = 0; i < pending_.size();) {
    Pending& p = pending_[i];
    bool complete = false;
    char buf[256];
    for (;;) {
      const ssize_t n = ::recv(p.fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        p.request.append(buf, static_cast<size_t>(n));
        if (p.request.find('\n') != std::string::npos || p.request.size() > 1024) {
          complete = true;
          break;
        }
        continue;
      }
      complete = n == 0 || (errno != EAGAIN && errno != EINTR);  // hung up: answer what came
      break;
    }
    if (!complete && now < p.deadline) {
      ++i;
      continue;
    }
    Pending done = std::move(p);
    pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(i));
    if (auto nl = done.request.find('\n'); nl != std::string::npos) done.request.resize(nl);
    if (attach && done.request.starts_with("attach")) {
      attach(done.fd, done.cred, done.request);
      continue;
    }
    write_all(done.fd, answer(done.request));
    ::close(done.fd);
  }
}

}  // namespace joyride::joyrided
