#include "epoll_calls.h"

#include <errno.h>
#include <sys/epoll.h>

#include <mutex>
#include <vector>

#include "blocking.h"
#include "debug_log.h"
#include "interpose.h"
#include "joyride/ipc/wait.h"
#include "libc_calls.h"
#include "socket_common.h"

namespace joyride::preload {

namespace {
// The doorbell's data value in a kernel epoll set: the preload recognises it and
// never reports it. (An app whose own data equals it would lose that event; the
// value is chosen to be neither a small integer nor a plausible pointer.)
constexpr uint64_t kDoorbellData = 0x4a6f795269646521ull;
constexpr uint32_t kAlwaysReported = EPOLLERR | EPOLLHUP;
}  // namespace

struct EpollMember {
  int fd = -1;
  SocketRef ref;
  uint32_t events = 0;  // what the app asked for, with EPOLLET/EPOLLONESHOT
  epoll_data_t data{};
  bool disarmed = false;  // EPOLLONESHOT fired; EPOLL_CTL_MOD re-arms
  // Edge-triggered memory: what was reported last, and the FIFO positions then,
  // so new bytes (or freed space) count as a new edge even with the same bits.
  uint32_t last_events = 0;
  uint64_t last_rx_tail = 0;
  uint64_t last_tx_head = 0;
};

// Never freed (a thread racing close(epfd) reads valid memory); reused after close.
struct EpollSet {
  pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  int epfd = -1;
  bool in_use = false;
  size_t cursor = 0;  // where the next scan starts: no member starves a small maxevents
  std::vector<EpollMember> members;
};

namespace {

std::mutex g_sets_mutex;  // epoll_create/close/first add and fallbacks only
std::vector<EpollSet*> g_sets;

EpollSet* set_for(int epfd, bool create) {
  const FdInfo info = lookup_fd(epfd);
  if (info.kind == FdKind::kEpoll) return info.epoll;
  if (!create) return nullptr;
  std::lock_guard<std::mutex> hold(g_sets_mutex);
  const FdInfo again = lookup_fd(epfd);
  if (again.kind == FdKind::kEpoll) return again.epoll;
  // The doorbell joins the kernel set once; that also proves epfd is an epoll fd.
  epoll_event bell{};
  bell.events = EPOLLIN;
  bell.data.u64 = kDoorbellData;
  if (libc().epoll_ctl(epfd, EPOLL_CTL_ADD, service().app_doorbell(), &bell) != 0 && errno != EEXIST) return nullptr;
  EpollSet* set = nullptr;
  for (EpollSet* s : g_sets)
    if (!s->in_use) set = s;
  if (set == nullptr) {
    set = new EpollSet;
    g_sets.push_back(set);
  }
  pthread_mutex_lock(&set->lock);
  set->in_use = true;
  set->epfd = epfd;
  set->cursor = 0;
  set->members.clear();
  pthread_mutex_unlock(&set->lock);
  set_fd_epoll(epfd, set);
  return set;
}

int joyride_ctl(int epfd, int op, int fd, const FdInfo& info, epoll_event* event) {
  if (const int u = check_usable(info); u < 0) return u;
  if (epfd == fd) return -EINVAL;
  if (op != EPOLL_CTL_ADD && op != EPOLL_CTL_MOD && op != EPOLL_CTL_DEL) return -EINVAL;
  if (op != EPOLL_CTL_DEL && event == nullptr) return -EFAULT;
  EpollSet* set = set_for(epfd, op == EPOLL_CTL_ADD);
  if (set == nullptr) {
    if (op != EPOLL_CTL_ADD) return -ENOENT;
    return -errno;  // epfd is not an epoll fd (EBADF/EINVAL from the kernel)
  }
  pthread_mutex_lock(&set->lock);
  EpollMember* found = nullptr;
  for (size_t i = 0; i < set->members.size();) {
    EpollMember& m = set->members[i];
    if (m.fd == fd && !(m.ref.socket == info.socket.socket && m.ref.incarnation == info.socket.incarnation)) {
      set->members.erase(set->members.begin() + static_cast<long>(i));  // an earlier socket under this number
      continue;
    }
    if (m.fd == fd) found = &m;
    ++i;
  }
  int result = 0;
  if (op == EPOLL_CTL_ADD) {
    if (found != nullptr) {
      result = -EEXIST;
    } else {
      EpollMember m;
      m.fd = fd;
      m.ref = info.socket;
      m.events = event->events;
      m.data = event->data;
      set->members.push_back(m);
    }
  } else if (found == nullptr) {
    result = -ENOENT;
  } else if (op == EPOLL_CTL_MOD) {
    if ((event->events & EPOLLEXCLUSIVE) != 0) {
      result = -EINVAL;  // as Linux: EPOLLEXCLUSIVE only at ADD
    } else {
      found->events = event->events;
      found->data = event->data;
      found->disarmed = false;
      found->last_events = 0;  // MOD re-evaluates: a ready fd is reported again
    }
  } else {
    set->members.erase(set->members.begin() + (found - set->members.data()));
  }
  pthread_mutex_unlock(&set->lock);
  return result;
}

// Joyride events into out[0..max): level-triggered unless EPOLLET; EPOLLONESHOT
// disarms. Returns how many.
int collect(EpollSet* set, epoll_event* out, int max) {
  pthread_mutex_lock(&set->lock);
  std::vector<EpollMember>& ms = set->members;
  for (size_t i = 0; i < ms.size();) {
    if (!ms[i].ref.valid() || service().inherited()) ms.erase(ms.begin() + static_cast<long>(i));  // closed: gone, as Linux
    else ++i;
  }
  int n = 0;
  const size_t count = ms.size();
  size_t visited = 0;
  size_t i = count == 0 ? 0 : set->cursor % count;
  for (; visited < count && n < max; ++visited, i = (i + 1) % count) {
    EpollMember& m = ms[i];
    if (m.disarmed) continue;
    const AppSocket& s = *m.ref.socket;
    const uint32_t ready = socket_events(s) & (m.events | kAlwaysReported);
    if ((m.events & EPOLLET) != 0) {
      const uint64_t rx_tail = s.shared().rx.tail.load(std::memory_order_acquire);
      const uint64_t tx_head = s.shared().tx.head.load(std::memory_order_acquire);
      const bool edge = (ready & ~m.last_events) != 0 || ((ready & EPOLLIN) != 0 && rx_tail != m.last_rx_tail) ||
                        ((ready & EPOLLOUT) != 0 && tx_head != m.last_tx_head);
      m.last_events = ready;
      m.last_rx_tail = rx_tail;
      m.last_tx_head = tx_head;
      if (!edge) continue;
    }
    if (ready == 0) continue;
    out[n].events = ready;
    out[n].data = m.data;
    ++n;
    if ((m.events & EPOLLONESHOT) != 0) m.disarmed = true;
  }
  set->cursor = count == 0 ? 0 : i;
  pthread_mutex_unlock(&set->lock);
  return n;
}

// Drops the doorbell's entries from kernel results; says whether it rang.
int drop_doorbell(epoll_event* events, int n, bool* rung) {
  int kept = 0;
  for (int i = 0; i < n; ++i) {
    if (events[i].data.u64 == kDoorbellData) {
      *rung = true;
      continue;
    }
    events[kept++] = events[i];
  }
  return kept;
}

int kernel_wait(int epfd, epoll_event* events, int max, int timeout_ms, const sigset_t* sigmask) {
  if (sigmask != nullptr) return libc().epoll_pwait(epfd, events, max, timeout_ms, sigmask);
  return libc().epoll_wait(epfd, events, max, timeout_ms);
}

int joyride_wait(EpollSet* set, int epfd, epoll_event* events, int max, int timeout_ms, const sigset_t* sigmask) {
  if (max <= 0) return -EINVAL;
  if (events == nullptr) return -EFAULT;
  const Deadline deadline = Deadline::from_ms(timeout_ms);
  ipc::RegionHeader& h = service().header();
  for (;;) {
    int n = collect(set, events, max);
    bool armed = false;
    if (n == 0 && !deadline.expired()) {
      h.poll_waiters.fetch_add(1);
      h.poll_armed.store(1);
      armed = true;
      n = collect(set, events, max);  // published just before arming?
    }
    if (n > 0 || !armed) {
      if (armed) h.poll_waiters.fetch_sub(1);
      // Kernel fds are asked too, every time: never starved by busy Joyride fds.
      bool rung = false;
      int k = n < max ? kernel_wait(epfd, events + n, max - n, 0, sigmask) : 0;
      if (k < 0) k = 0;
      k = drop_doorbell(events + n, k, &rung);
      if (rung) (void)ipc::take_doorbell_token(service().app_doorbell());
      return n + k;
    }
    const int r = kernel_wait(epfd, events, max, deadline.remaining_ms(), sigmask);
    const int saved_errno = errno;
    bool rung = false;
    const int k = r > 0 ? drop_doorbell(events, r, &rung) : 0;
    if (rung) (void)ipc::take_doorbell_token(service().app_doorbell());
    h.poll_waiters.fetch_sub(1);
    if (r < 0) return -saved_errno;
    if (k > 0 || r == 0 || deadline.expired()) return k + collect(set, events + k, max - k);
  }
}

}  // namespace

void move_epoll_memberships_to_kernel(int fd, const SocketRef& old_ref) {
  std::lock_guard<std::mutex> hold(g_sets_mutex);
  for (EpollSet* set : g_sets) {
    pthread_mutex_lock(&set->lock);
    for (size_t i = 0; set->in_use && i < set->members.size(); ++i) {
      EpollMember& m = set->members[i];
      if (m.fd != fd || m.ref.socket != old_ref.socket || m.ref.incarnation != old_ref.incarnation) continue;
      epoll_event ev{};
      ev.events = m.events & ~EPOLLEXCLUSIVE;
      ev.data = m.data;
      if (libc().epoll_ctl(set->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
        JOYRIDE_DEBUG("fd %d: could not carry its epoll membership (epfd %d) to the kernel", fd, set->epfd);
      set->members.erase(set->members.begin() + static_cast<long>(i));
      break;
    }
    pthread_mutex_unlock(&set->lock);
  }
}

void forget_epoll_set(int epfd) {
  std::lock_guard<std::mutex> hold(g_sets_mutex);
  const FdInfo info = lookup_fd(epfd);
  if (info.kind != FdKind::kEpoll) return;
  set_fd_kernel(epfd);
  pthread_mutex_lock(&info.epoll->lock);
  info.epoll->members.clear();
  info.epoll->in_use = false;
  info.epoll->epfd = -1;
  pthread_mutex_unlock(&info.epoll->lock);
}

}  // namespace joyride::preload

using namespace joyride::preload;
namespace ipc = joyride::ipc;

JOYRIDE_EXPORT int epoll_create(int size) noexcept {
  const int fd = libc().epoll_create(size);
  if (fd >= 0) set_fd_kernel(fd);  // a number we once knew is a fresh epoll fd now
  return fd;
}

JOYRIDE_EXPORT int epoll_create1(int flags) noexcept {
  const int fd = libc().epoll_create1(flags);
  if (fd >= 0) set_fd_kernel(fd);
  return fd;
}

JOYRIDE_EXPORT int epoll_ctl(int epfd, int op, int fd, epoll_event* event) noexcept {
  const FdInfo info = lookup_fd(fd);
  if (info.kind != FdKind::kJoyride) return libc().epoll_ctl(epfd, op, fd, event);
  return finish_call(joyride_ctl(epfd, op, fd, info, event));
}

JOYRIDE_EXPORT int epoll_wait(int epfd, epoll_event* events, int max, int timeout_ms) {
  const FdInfo info = lookup_fd(epfd);
  if (info.kind != FdKind::kEpoll) return libc().epoll_wait(epfd, events, max, timeout_ms);
  return finish_call(joyride_wait(info.epoll, epfd, events, max, timeout_ms, nullptr));
}

JOYRIDE_EXPORT int epoll_pwait(int epfd, epoll_event* events, int max, int timeout_ms, const sigset_t* sigmask) {
  const FdInfo info = lookup_fd(epfd);
  if (info.kind != FdKind::kEpoll) return libc().epoll_pwait(epfd, events, max, timeout_ms, sigmask);
  return finish_call(joyride_wait(info.epoll, epfd, events, max, timeout_ms, sigmask));
}
