#include "fallback.h"

#include <errno.h>
#include <fcntl.h>

#include "addresses.h"
#include "control_call.h"
#include "debug_log.h"
#include "epoll_calls.h"
#include "fd_table.h"
#include "kernel_twin.h"
#include "libc_calls.h"
#include "service.h"

namespace joyride::preload {
namespace {

// Binds the kernel socket where the Joyride one was bound. A Joyride address is not
// the kernel's: then the port alone is kept (INADDR_ANY), as close as the kernel can
// come; failing that the socket stays unbound (the connect picks a port).
void replay_bind(int kernel_fd, const AppSocket& s) {
  sockaddr_in a = s.bound_address;
  if (libc().bind(kernel_fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0) return;
  if (errno == EADDRNOTAVAIL) {
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    if (libc().bind(kernel_fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0) return;
  }
  JOYRIDE_DEBUG("fd %d: the kernel socket could not take the bind to %s (%s); left unbound", s.fd.load(),
                AddressText(s.bound_address).text, strerror(errno));
}

}  // namespace

void close_service_socket(uint32_t index, uint32_t generation) {
  CallRequest req;
  req.op = ipc::CallOp::kClose;
  req.socket = index;
  req.generation = generation;
  (void)control_call(req);
}

int move_to_kernel(int fd, const SocketRef& ref, ipc::FallbackReason reason, const char* why, bool with_bind) {
  const int saved_errno = errno;
  AppSocket& s = *ref.socket;
  pthread_mutex_lock(&s.control_lock);
  if (!ref.valid()) {
    pthread_mutex_unlock(&s.control_lock);
    return -EBADF;
  }
  // The twin goes first: the kernel socket taking over must be able to bind its port.
  retire_twin_locked(s);
  const bool nonblocking = s.nonblocking.load();
  const int type = s.datagram.load() ? SOCK_DGRAM : SOCK_STREAM;
  const int kernel_fd = libc().socket(AF_INET, type | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  if (kernel_fd < 0) {
    const int e = errno;
    pthread_mutex_unlock(&s.control_lock);
    errno = saved_errno;
    return -e;
  }
  for (const RecordedOption& o : s.options) {
    if (libc().setsockopt(kernel_fd, o.level, o.name, o.value, o.length) != 0)
      JOYRIDE_DEBUG("fd %d: the kernel refused option %d/%d at fallback (%s)", fd, o.level, o.name, strerror(errno));
  }
  if (with_bind && s.bound) replay_bind(kernel_fd, s);
  const int fd_flags = libc().fcntl(fd, F_GETFD);
  const int dup_flags = (fd_flags >= 0 && (fd_flags & FD_CLOEXEC) != 0) ? O_CLOEXEC : 0;
  if (libc().dup3(kernel_fd, fd, dup_flags) < 0) {
    const int e = errno;
    libc().close(kernel_fd);
    pthread_mutex_unlock(&s.control_lock);
    errno = saved_errno;
    return -e;
  }
  libc().close(kernel_fd);
  set_fd_kernel(fd);
  move_epoll_memberships_to_kernel(fd, ref);
  const uint32_t index = s.index;
  const uint32_t generation = s.generation.load();
  pthread_mutex_unlock(&s.control_lock);
  retire_app_socket(s);
  close_service_socket(index, generation);
  service().count_fallback(reason);
  JOYRIDE_DEBUG("fd %d: joyride socket #%u -> kernel: %s", fd, index, why);
  errno = saved_errno;
  return 0;
}

}  // namespace joyride::preload
