#include "control_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

namespace joyride::joyrided {
namespace {

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

base::Result<ControlSocket, std::string> ControlSocket::open(const std::string& path, unsigned mode) {
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
  if (bound != 0 || ::chmod(path.c_str(), mode) != 0 || ::listen(fd, 16) != 0) {
    std::string e = errno_text(("control socket " + path).c_str());
    ::close(fd);
    return base::Err{std::move(e)};
  }
  return ControlSocket(fd, path, mode);
}

ControlSocket::ControlSocket(ControlSocket&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)), path_(std::move(o.path_)), mode_(o.mode_) {}

ControlSocket::~ControlSocket() {
  if (fd_ < 0) return;
  ::close(fd_);
  ::unlink(path_.c_str());
}

bool ControlSocket::peer_allowed(const ucred& cred) const {
  if (cred.uid == 0 || cred.uid == ::getuid()) return true;
  struct stat st {};
  if ((mode_ & 0060) != 0 && ::stat(path_.c_str(), &st) == 0 && cred.gid == st.st_gid) return true;
  return false;
}

void ControlSocket::poll(const Handler& answer, const AttachHandler& attach) {
  for (;;) {
    const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) return;  // EAGAIN: nobody waiting (or a transient error: next time)
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(client, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || !peer_allowed(cred)) {
      write_all(client, "error: permission denied\n");
      ::close(client);
      continue;
    }
    // One request line, within 100 ms.
    std::string request;
    char buf[256];
    for (;;) {
      pollfd p{client, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) break;
      const ssize_t n = ::recv(client, buf, sizeof buf, 0);
      if (n <= 0) break;
      request.append(buf, static_cast<size_t>(n));
      if (request.find('\n') != std::string::npos || request.size() > 1024) break;
    }
    if (auto nl = request.find('\n'); nl != std::string::npos) request.resize(nl);
    if (attach && request.starts_with("attach")) {
      attach(client, cred, request);
      continue;
    }
    write_all(client, answer(request));
    ::close(client);
  }
}

}  // namespace joyride::joyrided
