// socket, bind, listen, accept, accept4, connect, shutdown, getsockname, getpeername.
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addresses.h"
#include "blocking.h"
#include "control_call.h"
#include "debug_log.h"
#include "fallback.h"
#include "interpose.h"
#include "kernel_twin.h"
#include "libc_calls.h"
#include "socket_common.h"

namespace joyride::preload {

int make_placeholder(bool cloexec, bool nonblocking) {
  int pair[2];
  const int type = SOCK_STREAM | (cloexec ? SOCK_CLOEXEC : 0) | (nonblocking ? SOCK_NONBLOCK : 0);
  if (libc().socketpair(AF_UNIX, type, 0, pair) != 0) return -errno;
  libc().close(pair[1]);
  return pair[0];
}

int adopt_service_socket(uint32_t index, uint32_t generation, bool cloexec, bool nonblocking, bool connected) {
  const int saved_errno = errno;
  const int fd = make_placeholder(cloexec, nonblocking);
  if (fd < 0) {
    close_service_socket(index, generation);
    errno = saved_errno;
    return fd;
  }
  AppSocket* s = open_app_socket(index, generation, fd, nonblocking);
  if (s == nullptr) {
    JOYRIDE_DEBUG("the service handed out socket index %u, which is out of range or in use", index);
    libc().close(fd);
    close_service_socket(index, generation);
    errno = saved_errno;
    return -ENOBUFS;
  }
  if (connected) s->set_connect(ConnectState::kConnected);
  if (!set_fd_joyride(fd, SocketRef{s, s->incarnation.load()})) {
    retire_app_socket(*s);
    libc().close(fd);
    close_service_socket(index, generation);
    errno = saved_errno;
    return -EMFILE;
  }
  return fd;
}

namespace {

int open_joyride_socket(int type, bool cloexec, bool nonblocking) {
  CallRequest req;
  req.op = ipc::CallOp::kSocket;
  req.args[0] = type;
  const CallAnswer a = control_call(req);
  if (a.result < 0) return static_cast<int>(a.result);
  const int fd = adopt_service_socket(static_cast<uint32_t>(a.result), static_cast<uint32_t>(a.out[0]), cloexec,
                                      nonblocking, false);
  if (fd >= 0) JOYRIDE_DEBUG("fd %d: socket -> joyride #%lld", fd, static_cast<long long>(a.result));
  return fd;
}

// The address checks of Linux's inet_bind / tcp_v4_connect, in their order.
int check_inet_address(const sockaddr* addr, socklen_t len, bool for_bind, sockaddr_in& out) {
  if (addr == nullptr) return -EFAULT;
  if (len < sizeof(sockaddr_in)) return -EINVAL;
  memcpy(&out, addr, sizeof out);
  if (out.sin_family == AF_INET) return 0;
  // inet_bind accepts AF_UNSPEC with INADDR_ANY for compatibility.
  if (for_bind && out.sin_family == AF_UNSPEC && out.sin_addr.s_addr == htonl(INADDR_ANY)) return 0;
  return -EAFNOSUPPORT;
}

int joyride_bind(int fd, const FdInfo& info, const sockaddr* addr, socklen_t len) {
  if (const int u = check_usable(info); u < 0) return u;
  sockaddr_in a{};
  if (const int c = check_inet_address(addr, len, true, a); c < 0) return c;
  AppSocket& s = *info.socket.socket;
  const ipc::WireAddress wire = to_wire(a);
  const CallAnswer r = socket_call(s, ipc::CallOp::kBind, 0, 0, 0, 0, &wire);
  if (r.result == -EADDRNOTAVAIL) {
    char why[96];
    snprintf(why, sizeof why, "bind to %s: not a Joyride address", AddressText(a).text);
    if (const int m = move_to_kernel(fd, info.socket, ipc::kFallbackRoute, why, false); m < 0) return m;
    return libc().bind(fd, addr, len) == 0 ? 0 : -errno;
  }
  if (r.result < 0) return static_cast<int>(r.result);
  pthread_mutex_lock(&s.control_lock);
  s.bound = true;
  s.bound_address = a;
  s.bound_address.sin_family = AF_INET;
  pthread_mutex_unlock(&s.control_lock);
  return 0;
}

// A connect already under way (or just started): its outcome, or EINPROGRESS /
// EALREADY without blocking. As Linux, the first connect() after a non-blocking one
// completed returns 0, later ones EISCONN; a failure is reported once (SO_ERROR's
// value) and leaves the socket unconnected.
int finish_connect(const SocketRef& ref, bool first_call) {
  AppSocket& s = *ref.socket;
  const Deadline deadline(s.send_timeout_ns.load());
  // Linux answers a non-blocking connect with EINPROGRESS even when the handshake
  // is already over (loopback); the outcome is for poll + SO_ERROR or the next call.
  if (first_call && s.nonblocking.load()) return -EINPROGRESS;
  for (;;) {
    const uint32_t f = s.shared().flags.load(std::memory_order_acquire);
    if ((f & ipc::kConnected) != 0) {
      s.set_connect(ConnectState::kConnected);
      return 0;
    }
    if ((f & (ipc::kError | ipc::kRefused)) != 0) {
      int e = take_socket_error(s);
      if (e == 0) e = s.shared().error.load();
      if (e <= 0 || e >= 4096) e = ECONNREFUSED;
      s.set_connect(ConnectState::kUnconnected);
      return -e;
    }
    if (s.nonblocking.load()) return first_call ? -EINPROGRESS : -EALREADY;
    const int w = wait_until(ref, deadline, [&s] {
      return (s.shared().flags.load(std::memory_order_acquire) & (ipc::kConnected | ipc::kError | ipc::kRefused)) != 0;
    });
    if (w == -EAGAIN) return -EINPROGRESS;  // SO_SNDTIMEO ran out, as Linux reports it
    if (w < 0) return w;
  }
}

// connect on a UDP socket only sets the peer: no handshake, and it may be redone.
int datagram_connect(int fd, const FdInfo& info, const sockaddr* addr, socklen_t len, const sockaddr_in& a) {
  AppSocket& s = *info.socket.socket;
  char why[96];
  if (is_kernel_local(a)) {
    snprintf(why, sizeof why, "connect to %s: the kernel's local addresses", AddressText(a).text);
    if (const int m = move_to_kernel(fd, info.socket, ipc::kFallbackRoute, why, true); m < 0) return m;
    return libc().connect(fd, addr, len) == 0 ? 0 : -errno;
  }
  const ipc::WireAddress wire = to_wire(a);
  const CallAnswer r = socket_call(s, ipc::CallOp::kConnect, 0, 0, 0, 0, &wire);
  if (r.result == -ENETUNREACH) {
    snprintf(why, sizeof why, "connect to %s: no Joyride route", AddressText(a).text);
    if (const int m = move_to_kernel(fd, info.socket, ipc::kFallbackRoute, why, true); m < 0) return m;
    return libc().connect(fd, addr, len) == 0 ? 0 : -errno;
  }
  if (r.result < 0) return static_cast<int>(r.result);
  s.set_connect(ConnectState::kConnected);
  JOYRIDE_DEBUG("fd %d: udp peer %s through joyride #%u", fd, AddressText(a).text, s.index);
  return 0;
}

int joyride_connect(int fd, const FdInfo& info, const sockaddr* addr, socklen_t len) {
  if (const int u = check_usable(info); u < 0) return u;
  if (addr == nullptr) return -EFAULT;
  if (len < sizeof(sa_family_t)) return -EINVAL;
  sockaddr_in a{};
  if (const int c = check_inet_address(addr, len, false, a); c < 0) {
    if (len >= sizeof(sa_family_t) && addr->sa_family == AF_UNSPEC) {
      JOYRIDE_DEBUG("fd %d: connect(AF_UNSPEC) (disconnect) is not supported on a Joyride socket", fd);
      return -EOPNOTSUPP;
    }
    return c;
  }
  AppSocket& s = *info.socket.socket;
  if (s.datagram.load()) return datagram_connect(fd, info, addr, len, a);
  switch (s.connect()) {
    case ConnectState::kConnected:
      return -EISCONN;
    case ConnectState::kConnecting:
      return finish_connect(info.socket, false);
    case ConnectState::kUnconnected:
      break;
  }
  char why[96];
  if (is_kernel_local(a)) {
    snprintf(why, sizeof why, "connect to %s: the kernel's local addresses", AddressText(a).text);
    if (const int m = move_to_kernel(fd, info.socket, ipc::kFallbackRoute, why, true); m < 0) return m;
    return libc().connect(fd, addr, len) == 0 ? 0 : -errno;
  }
  const ipc::WireAddress wire = to_wire(a);
  const CallAnswer r = socket_call(s, ipc::CallOp::kConnect, 0, 0, 0, 0, &wire);
  if (r.result == -ENETUNREACH) {
    snprintf(why, sizeof why, "connect to %s: no Joyride route", AddressText(a).text);
    if (const int m = move_to_kernel(fd, info.socket, ipc::kFallbackRoute, why, true); m < 0) return m;
    return libc().connect(fd, addr, len) == 0 ? 0 : -errno;
  }
  if (r.result < 0) return static_cast<int>(r.result);
  s.set_connect(ConnectState::kConnecting);
  JOYRIDE_DEBUG("fd %d: connect to %s through joyride #%u", fd, AddressText(a).text, s.index);
  return finish_connect(info.socket, true);
}

// One kAccept on the Joyride queue: the new fd, or -EAGAIN when the queue is empty.
int accept_from_joyride(AppSocket& s, sockaddr* addr, socklen_t* len, int flags) {
  const CallAnswer r = socket_call(s, ipc::CallOp::kAccept);
  if (r.result == -EAGAIN) s.accept_drained.fetch_add(1, std::memory_order_release);
  if (r.result < 0) return static_cast<int>(r.result);
  const int fd = adopt_service_socket(static_cast<uint32_t>(r.result), static_cast<uint32_t>(r.out[0]),
                                      (flags & SOCK_CLOEXEC) != 0, (flags & SOCK_NONBLOCK) != 0, true);
  if (fd < 0) return fd;
  const sockaddr_in peer = from_wire(r.addr);
  JOYRIDE_DEBUG("fd %d: accepted joyride #%lld from %s", fd, static_cast<long long>(r.result), AddressText(peer).text);
  (void)copy_address_out(peer, addr, len);
  return fd;
}

// One accept on the kernel twin (a plain kernel socket), or -EAGAIN.
int accept_from_kernel(const AppSocket& s, int twin, sockaddr* addr, socklen_t* len, int flags) {
  const int fd = accept_from_twin(twin, addr, len, flags);
  if (fd >= 0) JOYRIDE_DEBUG("fd %d: accepted by the kernel twin of joyride #%u", fd, s.index);
  return fd;
}

// Both queues once. With a twin the side asked first alternates per call: a busy
// side answered first every time would leave the other's clients waiting.
int accept_once(AppSocket& s, int twin, sockaddr* addr, socklen_t* len, int flags) {
  if (twin < 0) return accept_from_joyride(s, addr, len, flags);
  const bool kernel_first = (s.accept_turn.fetch_add(1, std::memory_order_relaxed) & 1) != 0;
  const int r = kernel_first ? accept_from_kernel(s, twin, addr, len, flags) : accept_from_joyride(s, addr, len, flags);
  if (r != -EAGAIN) return r;
  return kernel_first ? accept_from_joyride(s, addr, len, flags) : accept_from_kernel(s, twin, addr, len, flags);
}

int joyride_accept(const FdInfo& info, sockaddr* addr, socklen_t* len, int flags) {
  if (const int u = check_usable(info); u < 0) return u;
  if ((flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != 0) return -EINVAL;
  if (addr != nullptr && len == nullptr) return -EFAULT;
  if (addr != nullptr && static_cast<int>(*len) < 0) return -EINVAL;
  AppSocket& s = *info.socket.socket;
  const Deadline deadline(s.recv_timeout_ns.load());
  // Held for the whole call, sleep included: the twin's number stays ours meanwhile.
  const TwinUse twin(s);
  for (;;) {
    if (!info.socket.valid()) return -EBADF;
    // A twin retired meanwhile (shutdown) is shut down: asking it again would spin.
    const int live_twin = twin.fd() >= 0 && s.kernel_twin.load() == twin.fd() ? twin.fd() : -1;
    const int r = accept_once(s, live_twin, addr, len, flags);
    if (r != -EAGAIN) return r;
    if (s.nonblocking.load()) return -EAGAIN;
    const int w = live_twin >= 0 ? wait_for_either(info.socket, live_twin, deadline)
                                 : wait_for_socket(info.socket, POLLIN, deadline);
    if (w < 0) return w;  // -EAGAIN (SO_RCVTIMEO), -EINTR, -EBADF
  }
}

int joyride_name(const FdInfo& info, ipc::CallOp op, sockaddr* addr, socklen_t* len) {
  if (const int u = check_usable(info); u < 0) return u;
  if (addr == nullptr || len == nullptr) return -EFAULT;
  if (static_cast<int>(*len) < 0) return -EINVAL;
  const CallAnswer r = socket_call(*info.socket.socket, op);
  if (r.result < 0) return static_cast<int>(r.result);
  return copy_address_out(from_wire(r.addr), addr, len);
}

}  // namespace
}  // namespace joyride::preload

using namespace joyride::preload;
namespace ipc = joyride::ipc;

JOYRIDE_EXPORT int socket(int domain, int type, int protocol) noexcept {
  const int base_type = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  const bool tcp4 = domain == AF_INET && base_type == SOCK_STREAM && (protocol == 0 || protocol == IPPROTO_TCP);
  const bool udp4 = domain == AF_INET && base_type == SOCK_DGRAM && (protocol == 0 || protocol == IPPROTO_UDP);
  const bool ours = tcp4 || udp4;
  if (!ours || service().inherited()) {
    const int fd = libc().socket(domain, type, protocol);
    if (fd >= 0) set_fd_kernel(fd);  // a number we once knew is the kernel's now
    if (service().attached()) {
      service().count_fallback(ipc::kFallbackFamily);
      JOYRIDE_DEBUG("fd %d: socket(%d, %d, %d) -> kernel: %s", fd, domain, type, protocol,
                    ours ? "a fork child does not drive Joyride sockets yet" : "not TCP or UDP over IPv4");
    }
    return fd;
  }
  if (!service().ensure_attached()) {
    const int fd = libc().socket(domain, type, protocol);
    if (fd >= 0) set_fd_kernel(fd);
    JOYRIDE_DEBUG("fd %d: socket -> kernel: not attached to joyrided", fd);
    return fd;
  }
  return finish_call(open_joyride_socket(base_type, (type & SOCK_CLOEXEC) != 0, (type & SOCK_NONBLOCK) != 0));
}

JOYRIDE_EXPORT int bind(int fd, const sockaddr* addr, socklen_t len) noexcept {
  const FdInfo info = lookup_fd(fd);
  if (info.kind != FdKind::kJoyride) return libc().bind(fd, addr, len);
  return finish_call(joyride_bind(fd, info, addr, len));
}

JOYRIDE_EXPORT int listen(int fd, int backlog) noexcept {
  const FdInfo info = lookup_fd(fd);
  if (info.kind != FdKind::kJoyride) return libc().listen(fd, backlog);
  if (const int u = check_usable(info); u < 0) return finish_call(u);
  AppSocket& s = *info.socket.socket;
  const CallAnswer r = socket_call(s, ipc::CallOp::kListen, backlog);
  if (r.result < 0) return finish_call(static_cast<int>(r.result));
  s.listening.store(true);
  JOYRIDE_DEBUG("fd %d: joyride #%u listening (backlog %d)", fd, s.index, backlog);
  ensure_twin(fd, info.socket, backlog);
  return 0;
}

JOYRIDE_EXPORT int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) noexcept {
  const FdInfo info = lookup_fd(fd);
  if (info.kind != FdKind::kJoyride) {
    const int r = libc().accept4(fd, addr, len, flags);
    if (r >= 0) set_fd_kernel(r);
    return r;
  }
  return finish_call(joyride_accept(info, addr, len, flags));
}

JOYRIDE_EXPORT int accept(int fd, sockaddr* addr, socklen_t* len) noexcept {
  const FdInfo info = lookup_fd(fd);
  if (info.kind != FdKind::kJoyride) {
    const int r = libc().accept(fd, addr, len);
    if (r >= 0) set_fd_kernel(r);
    return r;
  }
  return finish_call(joyride_accept(info, addr, len, 0));
}

JOYRIDE_EXPORT int connect(int fd, const sockaddr* addr, socklen_t len) noexcept {
  const FdInfo info = lookup_fd(fd);
  if (info.kind != FdKind::kJoyride) return libc().connect(fd, addr, len);
  return finish_call(joyride_connect(fd, info, addr, len));
}

JOYRIDE_EXPORT int shutdown(int fd, int how) noexcept {
  const FdInfo info = lookup_fd(fd);
  if (info.kind != FdKind::kJoyride) return libc().shutdown(fd, how);
  if (const int u = check_usable(info); u < 0) return finish_call(u);
  if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR) return finish_call(-EINVAL);
  AppSocket& s = *info.socket.socket;
  const CallAnswer r = socket_call(s, ipc::CallOp::kShutdown, how);
  if (r.result < 0) return finish_call(static_cast<int>(r.result));
  if (how != SHUT_WR) s.shut_rd.store(true);
  if (how != SHUT_RD) s.shut_wr.store(true);
  if (how != SHUT_WR && s.listening.load()) {
    // A listener shut for reading stops listening (Linux disconnects it): so does
    // its twin. A later listen() makes a new one.
    pthread_mutex_lock(&s.control_lock);
    retire_twin_locked(s);
    pthread_mutex_unlock(&s.control_lock);
  }
  service().wake_local_sleepers();  // a thread blocked in recv/send must look again
  return 0;
}

JOYRIDE_EXPORT int getsockname(int fd, sockaddr* addr, socklen_t* len) noexcept {
  const FdInfo info = lookup_fd(fd);
  if (info.kind != FdKind::kJoyride) return libc().getsockname(fd, addr, len);
  return finish_call(joyride_name(info, ipc::CallOp::kLocalName, addr, len));
}

JOYRIDE_EXPORT int getpeername(int fd, sockaddr* addr, socklen_t* len) noexcept {
  const FdInfo info = lookup_fd(fd);
  if (info.kind != FdKind::kJoyride) return libc().getpeername(fd, addr, len);
  return finish_call(joyride_name(info, ipc::CallOp::kPeerName, addr, len));
}
