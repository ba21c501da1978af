// Descriptor-level calls: close, dup/dup2/dup3, fcntl, ioctl, close_range,
// closefrom. A Joyride fd is a kernel placeholder, so most of these act on it
// directly; what they mean for the socket (O_NONBLOCK, FIONREAD, closing) is ours.
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/sockios.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "control_call.h"
#include "datagram_path.h"
#include "debug_log.h"
#include "epoll_calls.h"
#include "fallback.h"
#include "interpose.h"
#include "kernel_twin.h"
#include "libc_calls.h"
#include "socket_common.h"

namespace joyride::preload {
namespace {

// Our close of a Joyride fd: a listener's kernel twin goes with it, the fd table
// forgets the fd first (so a number the kernel hands out again is never mistaken
// for ours), the incarnation ends (threads blocked on it wake with EBADF), the
// service closes the socket, then the kernel closes the placeholder. In a fork child the socket is the parent's: only the
// placeholder goes.
void release_joyride_fd(int fd, const FdInfo& info) {
  AppSocket& s = *info.socket.socket;
  if (service().inherited()) {
    set_fd_kernel(fd);
    return;
  }
  pthread_mutex_lock(&s.control_lock);
  const bool still_ours = info.socket.valid();
  if (still_ours) retire_twin_locked(s);
  set_fd_kernel(fd);
  const uint32_t index = s.index;
  const uint32_t generation = s.generation.load();
  pthread_mutex_unlock(&s.control_lock);
  if (!still_ours) return;  // closed or handed to the kernel meanwhile
  retire_app_socket(s);
  close_service_socket(index, generation);
  JOYRIDE_DEBUG("fd %d: joyride #%u closed", fd, index);
}

// Everything close() does before the kernel's close. False: refuse (our own fd).
bool before_close(int fd) {
  if (service().is_private_fd(fd)) {
    JOYRIDE_DEBUG("close(%d) refused: that descriptor is the preload's own", fd);
    return false;
  }
  const FdInfo info = lookup_fd(fd);
  if (info.kind == FdKind::kJoyride) release_joyride_fd(fd, info);
  else if (info.kind == FdKind::kEpoll) forget_epoll_set(fd);
  return true;
}

int refuse_dup(int fd) {
  JOYRIDE_DEBUG("fd %d: dup of a Joyride socket is not supported yet (EINVAL)", fd);
  return -EINVAL;
}

// dup2/dup3 onto `target`: whatever target was is closed first, as the kernel does.
int dup_onto(int old_fd, int target, int flags, bool is_dup3) {
  if (lookup_fd(old_fd).kind == FdKind::kJoyride) return refuse_dup(old_fd);
  if (service().is_private_fd(target)) return -EBADF;
  if (old_fd == target) {
    if (is_dup3) return -EINVAL;
    return libc().fcntl(old_fd, F_GETFD) < 0 ? -EBADF : target;
  }
  if (libc().fcntl(old_fd, F_GETFD) < 0) return -EBADF;  // an invalid source leaves target alone
  before_close(target);
  const int r = is_dup3 ? libc().dup3(old_fd, target, flags) : libc().dup2(old_fd, target);
  return r < 0 ? -errno : r;
}

long joyride_fcntl(int fd, const FdInfo& info, int cmd, void* arg) {
  switch (cmd) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
      return refuse_dup(fd);
    case F_SETFL: {
      if (const int u = check_usable(info); u < 0) return u;
      // The placeholder carries the flags too, so F_GETFL answers from the kernel.
      if (libc().fcntl(fd, F_SETFL, arg) != 0) return -errno;
      info.socket.socket->nonblocking.store((reinterpret_cast<long>(arg) & O_NONBLOCK) != 0);
      return 0;
    }
    default: {
      const int r = libc().fcntl(fd, cmd, arg);
      return r < 0 ? -errno : r;
    }
  }
}

int joyride_ioctl(int fd, const FdInfo& info, unsigned long request, void* arg) {
  if (const int u = check_usable(info); u < 0) return u;
  AppSocket& s = *info.socket.socket;
  switch (request) {
    case FIONBIO: {
      if (arg == nullptr) return -EFAULT;
      if (libc().ioctl(fd, FIONBIO, arg) != 0) return -errno;
      s.nonblocking.store(*static_cast<int*>(arg) != 0);
      return 0;
    }
    case FIONREAD: {  // == SIOCINQ
      if (arg == nullptr) return -EFAULT;
      if (s.listening.load()) return -EINVAL;
      if (s.datagram.load()) {
        *static_cast<int*>(arg) = datagram_next_size(s);  // Linux's UDP FIONREAD: the next datagram
        return 0;
      }
      const uint64_t queued = rx_available(s) + s.shared().rx_in_stack.load(std::memory_order_relaxed);
      *static_cast<int*>(arg) = static_cast<int>(std::min<uint64_t>(queued, INT32_MAX));
      return 0;
    }
    case SIOCOUTQ: {  // == TIOCOUTQ: unsent or unacknowledged, in our FIFO and in the stack
      if (arg == nullptr) return -EFAULT;
      if (s.listening.load()) return -EINVAL;
      const CallAnswer a = socket_call(s, ipc::CallOp::kQueues);
      if (a.result < 0) return static_cast<int>(a.result);
      const uint64_t queued = service().geometry().fifo_bytes - tx_space(s) + static_cast<uint64_t>(a.out[0]);
      *static_cast<int*>(arg) = static_cast<int>(std::min<uint64_t>(queued, INT32_MAX));
      return 0;
    }
    default: {
      // Interface ioctls (SIOCGIF*) work on any socket: the placeholder answers.
      const int r = libc().ioctl(fd, request, arg);
      return r < 0 ? -errno : r;
    }
  }
}

// close_range without touching our own descriptors: the range is cut around them.
int close_range_around_private(unsigned first, unsigned last, int flags) {
  for_each_known_fd(first, last, [](int fd) { before_close(fd); });
  unsigned from = first;
  for (unsigned fd = first; fd <= last && fd != ~0u; ++fd) {
    if (!service().attached()) break;
    if (service().is_private_fd(static_cast<int>(fd))) {
      if (fd > from && ::syscall(SYS_close_range, from, fd - 1, flags) != 0) return -errno;
      from = fd + 1;
    }
    if (fd > 1u << 16) break;  // our descriptors live below 64 Ki (service.cc)
  }
  if (from <= last && ::syscall(SYS_close_range, from, last, flags) != 0) return -errno;
  return 0;
}

}  // namespace
}  // namespace joyride::preload

using namespace joyride::preload;
namespace ipc = joyride::ipc;

JOYRIDE_EXPORT int close(int fd) {
  if (service().in_vfork_child()) return libc().close(fd);  // the child's fd table only
  if (!before_close(fd)) return finish_call(-EBADF);
  return libc().close(fd);
}

JOYRIDE_EXPORT int dup(int fd) noexcept {
  if (lookup_fd(fd).kind == FdKind::kJoyride) return finish_call(refuse_dup(fd));
  const int r = libc().dup(fd);
  if (r >= 0) set_fd_kernel(r);
  return r;
}

JOYRIDE_EXPORT int dup2(int old_fd, int new_fd) noexcept {
  if (service().in_vfork_child()) return libc().dup2(old_fd, new_fd);
  return finish_call(dup_onto(old_fd, new_fd, 0, false));
}

JOYRIDE_EXPORT int dup3(int old_fd, int new_fd, int flags) noexcept {
  if (service().in_vfork_child()) return libc().dup3(old_fd, new_fd, flags);
  return finish_call(dup_onto(old_fd, new_fd, flags, true));
}

static int fcntl_common(int fd, int cmd, void* arg, int (*real)(int, int, ...)) {
  const FdInfo info = lookup_fd(fd);
  if (info.kind == FdKind::kJoyride && service().in_vfork_child()) return real(fd, cmd, arg);
  if (info.kind != FdKind::kJoyride) {
    const int r = real(fd, cmd, arg);
    if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)) set_fd_kernel(r);
    return r;
  }
  return static_cast<int>(finish_call(joyride_fcntl(fd, info, cmd, arg)));
}

JOYRIDE_EXPORT int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);  // every fcntl argument fits a pointer (as glibc reads it)
  va_end(ap);
  return fcntl_common(fd, cmd, arg, libc().fcntl);
}

JOYRIDE_EXPORT int fcntl64(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return fcntl_common(fd, cmd, arg, libc().fcntl64);
}

JOYRIDE_EXPORT int ioctl(int fd, unsigned long request, ...) noexcept {
  va_list ap;
  va_start(ap, request);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  const FdInfo info = lookup_fd(fd);
  if (info.kind != FdKind::kJoyride) return libc().ioctl(fd, request, arg);
  return finish_call(joyride_ioctl(fd, info, request, arg));
}

JOYRIDE_EXPORT int close_range(unsigned int first, unsigned int last, int flags) noexcept {
  if (first > last) return finish_call(-EINVAL);
  if (service().in_vfork_child()) return libc().close_range(first, last, flags);
  if ((flags & CLOSE_RANGE_CLOEXEC) != 0) return libc().close_range(first, last, flags);  // closes nothing now
  return finish_call(close_range_around_private(first, last, flags));
}

JOYRIDE_EXPORT void closefrom(int low) noexcept {
  if (low < 0) low = 0;
  if (service().in_vfork_child()) return libc().closefrom(low);
  (void)close_range_around_private(static_cast<unsigned>(low), ~0u, 0);
}
