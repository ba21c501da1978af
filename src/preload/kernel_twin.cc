#include "kernel_twin.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>

#include "addresses.h"
#include "control_call.h"
#include "debug_log.h"
#include "epoll_calls.h"
#include "fd_table.h"
#include "joyride/ipc/wait.h"
#include "libc_calls.h"
#include "service.h"

namespace joyride::preload {
namespace {

// The port a wildcard listener listens on, from the service (it picked it when
// listen() came without bind, or bind asked for port 0). False for a socket on a
// specific address: that one gets no twin.
bool wildcard_port(const AppSocket& s, uint16_t& port) {
  if (s.bound && s.bound_address.sin_addr.s_addr != htonl(INADDR_ANY)) return false;
  const CallAnswer r = socket_call(s, ipc::CallOp::kLocalName);
  if (r.result < 0) return false;
  const sockaddr_in local = from_wire(r.addr);
  if (local.sin_addr.s_addr != htonl(INADDR_ANY) || local.sin_port == 0) return false;
  port = ntohs(local.sin_port);
  return true;
}

// A kernel listener on 0.0.0.0:port with the app's options (SO_REUSEADDR above all,
// or a restarted server could not bind while old connections sit in TIME-WAIT).
// Non-blocking (accept and poll only ever ask it) and close-on-exec (an exec'd
// program would not know it). Returns the fd, moved high, or a negated errno.
int open_kernel_listener(int fd, uint16_t port, const std::vector<RecordedOption>& options, int backlog) {
  const int k = libc().socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (k < 0) return -errno;
  for (const RecordedOption& o : options) {
    if (libc().setsockopt(k, o.level, o.name, o.value, o.length) != 0)
      JOYRIDE_DEBUG("fd %d: the kernel twin refused option %d/%d (%s)", fd, o.level, o.name, strerror(errno));
  }
  sockaddr_in any{};
  any.sin_family = AF_INET;
  any.sin_port = htons(port);
  any.sin_addr.s_addr = htonl(INADDR_ANY);
  if (libc().bind(k, reinterpret_cast<const sockaddr*>(&any), sizeof any) != 0 || libc().listen(k, backlog) != 0) {
    const int e = errno;
    libc().close(k);
    return -e;
  }
  return move_out_of_the_way(k, kTwinFdBand);
}

void open_twin_locked(int fd, const SocketRef& ref, int backlog) {
  AppSocket& s = *ref.socket;
  uint16_t port = 0;
  if (!wildcard_port(s, port)) return;
  const int twin = open_kernel_listener(fd, port, s.options, backlog);
  if (twin < 0) {
    JOYRIDE_DEBUG("fd %d: no kernel twin on 0.0.0.0:%u (%s): Joyride's addresses only", fd, port, strerror(-twin));
    return;
  }
  set_fd_private(twin);
  s.kernel_twin.store(twin);
  // Epoll sets the listener joined before listen() must watch the twin as well.
  attach_twin_to_epoll_sets(ref, twin);
  JOYRIDE_DEBUG("fd %d: joyride #%u also listens in the kernel on 0.0.0.0:%u (fd %d)", fd, s.index, port, twin);
}

// Closes a retired twin once (whoever gets here first with no user left).
void close_retired(AppSocket& s) {
  const int twin = s.twin_to_close.exchange(-1);
  if (twin < 0) return;
  set_fd_kernel(twin);  // before the close: the number may be handed out again at once
  libc().close(twin);
}

}  // namespace

void ensure_twin(int fd, const SocketRef& ref, int backlog) {
  const int saved_errno = errno;
  AppSocket& s = *ref.socket;
  pthread_mutex_lock(&s.control_lock);
  if (ref.valid()) {
    const int twin = s.kernel_twin.load();
    if (twin < 0) {
      open_twin_locked(fd, ref, backlog);
    } else if (libc().listen(twin, backlog) != 0) {
      // listen() again (a new backlog, memcached's listen(fd, 0)) applies to both.
      JOYRIDE_DEBUG("fd %d: the kernel twin refused listen(%d) (%s)", fd, backlog, strerror(errno));
    }
  }
  pthread_mutex_unlock(&s.control_lock);
  errno = saved_errno;
}

void retire_twin_locked(AppSocket& s) {
  const int twin = s.kernel_twin.exchange(-1);
  if (twin < 0) return;
  const int saved_errno = errno;
  detach_twin_from_epoll_sets(s, twin);
  // A thread asleep in poll on the twin holds its own reference to the file, so a
  // close alone would not wake it; shutdown does (the listener stops: POLLHUP), and
  // it resets what was still queued, as closing a Linux listener does.
  (void)libc().shutdown(twin, SHUT_RDWR);
  const int older = s.twin_to_close.exchange(twin);
  // Only an older incarnation's user still holding its twin while this one is
  // retired leaves two pending; that older number is then left open (never reused
  // under anyone), which is the safe way to lose it.
  if (older >= 0) JOYRIDE_DEBUG("joyride #%u: kernel twin fd %d left open (still in use at retirement)", s.index, older);
  if (s.twin_users.load() == 0) close_retired(s);
  errno = saved_errno;
}

int acquire_twin(AppSocket& s) {
  // Most Joyride sockets have no twin: no read-modify-write for them.
  if (s.kernel_twin.load(std::memory_order_acquire) < 0) return -1;
  s.twin_users.fetch_add(1);
  const int twin = s.kernel_twin.load();
  if (twin < 0) release_twin(s);
  return twin;
}

void release_twin(AppSocket& s) {
  if (s.twin_users.fetch_sub(1) == 1 && s.twin_to_close.load() >= 0) close_retired(s);
}

int accept_from_twin(int twin, sockaddr* addr, socklen_t* len, int flags) {
  const int saved_errno = errno;
  const int r = libc().accept4(twin, addr, len, flags);
  int result = r;
  if (r >= 0) {
    set_fd_kernel(r);  // a number we once knew is an ordinary kernel socket now
  } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINVAL) {
    result = -EAGAIN;  // EINVAL: the twin was shut down under us; nothing from this side
  } else {
    result = -errno;  // EMFILE, ENOBUFS, ECONNABORTED ...: the app's to see, as on Linux
  }
  errno = saved_errno;
  return result;
}

namespace {
// Whether every signal handler the process installed has SA_RESTART.
bool every_handler_restarts() {
  for (int sig = 1; sig < NSIG; ++sig) {
    struct sigaction sa;
    if (::sigaction(sig, nullptr, &sa) != 0) continue;  // not a signal number (32, 33 are glibc's)
    const bool handled = (sa.sa_flags & SA_SIGINFO) != 0 || (sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN);
    if (handled && (sa.sa_flags & SA_RESTART) == 0) return false;
  }
  return true;
}
}  // namespace

int wait_for_either(const SocketRef& ref, int twin, const Deadline& deadline) {
  Service& svc = service();
  ipc::RegionHeader& h = svc.header();
  h.poll_waiters.fetch_add(1);
  h.poll_armed.store(1);
  int result = 0;
  // Armed: look once more, so a connection published just before is not slept through.
  if (!ref.valid()) {
    result = -EBADF;
  } else if ((socket_events(*ref.socket) & POLLIN) == 0) {
    const int saved_errno = errno;
    pollfd p[2] = {{twin, POLLIN, 0}, {svc.app_doorbell(), POLLIN, 0}};
    const int r = libc().poll(p, 2, deadline.remaining_ms());
    // Linux restarts an untimed accept after a handler with SA_RESTART (its wait says
    // ERESTARTSYS; with SO_RCVTIMEO it says EINTR). This sleep is poll(2), which the
    // kernel never restarts, and which signal interrupted it is not visible here; so
    // an untimed wait starts again when every handler the process has installed asks
    // for SA_RESTART (glibc's signal() does), and says EINTR otherwise.
    if (r < 0 && errno == EINTR && deadline.unlimited() && every_handler_restarts()) result = 0;
    else if (r < 0) result = -errno;
    else if (r == 0) result = -EAGAIN;  // SO_RCVTIMEO ran out
    if (r > 0 && (p[1].revents & POLLIN) != 0) (void)ipc::take_doorbell_token(svc.app_doorbell());
    errno = saved_errno;
  }
  h.poll_waiters.fetch_sub(1);
  if (result == 0 && !ref.valid()) result = -EBADF;
  return result;
}

}  // namespace joyride::preload
