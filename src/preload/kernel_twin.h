// The kernel twin of a wildcard listener. Linux serves a socket listening on
// 0.0.0.0 on every address of the host, loopback included; Joyride's addresses are
// not the kernel's, so a server under `joyride run` would lose its local clients
// (redis-cli -h 127.0.0.1). A listener bound to INADDR_ANY therefore also gets a
// kernel listener on the same port, hidden from the app, and accept/poll/epoll on
// the listener combine both queues. A listener on a specific Joyride address gets
// none: Linux would not serve loopback there either.
//
// Lifetime: the twin's number is read lock-free (accept, poll, epoll_ctl) under a
// per-socket user count; retiring it shuts it down at once (waking any thread
// asleep on it) and closes it when the last user lets go, so its number is never
// reused under a thread still about to use it.
#pragma once

#include "app_socket.h"
#include "blocking.h"

namespace joyride::preload {

// After a successful kListen: creates the twin when the socket is bound to
// INADDR_ANY (explicitly or implicitly by listen), or passes the new backlog to an
// existing one. A twin that cannot be made (port taken in the kernel) is logged and
// the Joyride listener works alone. Never changes errno.
void ensure_twin(int fd, const SocketRef& ref, int backlog);

// Ends the twin (close, shutdown(SHUT_RD), fallback). Caller holds control_lock.
void retire_twin_locked(AppSocket& s);

// Borrows the twin's number: -1 when there is none; otherwise the caller must
// release_twin() when done with it.
int acquire_twin(AppSocket& s);
void release_twin(AppSocket& s);

// The borrow as a scope.
class TwinUse {
 public:
  explicit TwinUse(AppSocket& s) : s_(s), fd_(acquire_twin(s)) {}
  ~TwinUse() {
    if (fd_ >= 0) release_twin(s_);
  }
  TwinUse(const TwinUse&) = delete;
  TwinUse& operator=(const TwinUse&) = delete;
  int fd() const { return fd_; }

 private:
  AppSocket& s_;
  int fd_;
};

// One non-blocking accept4 on the twin with the caller's flags; the new fd is a
// plain kernel socket. -EAGAIN when the twin has nothing queued.
int accept_from_twin(int twin, sockaddr* addr, socklen_t* len, int flags);

// A blocking accept's sleep when there is a twin: one kernel poll on the twin and
// the app doorbell (region.h's poll-waiter protocol), so a connection on either
// side wakes it. 0 = look again, -EAGAIN (deadline), -EINTR, -EBADF (closed).
int wait_for_either(const SocketRef& ref, int twin, const Deadline& deadline);

}  // namespace joyride::preload
