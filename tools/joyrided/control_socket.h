// joyrided's control socket: a unix stream socket where `joyride stat` (and tests)
// ask for the service's state (one request line per connection, one text answer,
// then the service closes the connection) and where applications attach (an
// "attach" line; the connection then stays open as the application's session).
//
// Permission-checked twice: the socket file gets the configured mode (0600 by
// default: root only) and group (control_group), and each peer's credentials
// (SO_PEERCRED, SO_PEERGROUPS) must be root, the service's own user, or a member of
// the socket file's group (primary or supplementary) when the mode grants the group
// access. A refused peer gets one line saying so.
//
// Polled from the service's loop without blocking: clients are accepted and read
// non-blocking, a request line may arrive over several polls, and a client that sends
// nothing within its deadline (1 s) is dropped, so a stuck client cannot stall the
// data path.
#pragma once

#include <sys/socket.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "joyride/base/result.h"

namespace joyride::joyrided {

class ControlSocket {
 public:
  // Creates, binds and listens at `path` (its directory is created; a stale socket
  // file left by a crashed run is replaced). Errors are human-readable.
  // `group`: the socket file's group (control_group), else the service's own.
  static base::Result<ControlSocket, std::string> open(const std::string& path, unsigned mode,
                                                       std::optional<uint32_t> group = std::nullopt);
  ControlSocket(ControlSocket&& o) noexcept;
  ControlSocket& operator=(ControlSocket&&) = delete;
  ~ControlSocket();  // closes and unlinks the socket file

  // Serves every pending client: answer(request_line) -> reply text. A request line
  // starting with "attach" is an application attaching (ipc/attach.h): the
  // connection goes to `attach` with the peer's credentials, which owns it from then.
  using Handler = std::function<std::string(std::string_view request)>;
  using AttachHandler = std::function<void(int client, const ucred& peer, std::string_view request)>;
  void poll(const Handler& answer, const AttachHandler& attach = {});

  const std::string& path() const { return path_; }
  // The listening socket: readable when a client waits (IdleWaiter::watch).
  int fd() const { return fd_; }

 private:
  ControlSocket(int fd, std::string path, unsigned mode) : fd_(fd), path_(std::move(path)), mode_(mode) {}
  bool peer_allowed(int client, const ucred& cred) const;
  // A client whose request line has not fully arrived yet.
  struct Pending {
    int fd;
    ucred cred;
    std::string request;
    int64_t deadline;  // CLOCK_MONOTONIC ms: dropped (answered with what came) after it
  };
  static constexpr int64_t kRequestDeadlineMs = 1000;
  int fd_;
  std::string path_;
  unsigned mode_;
  std::vector<Pending> pending_;
};

}  // namespace joyride::joyrided
