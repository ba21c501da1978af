#include "epoll_calls.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>

#include <atomic>
#include <mutex>
#include <vector>

#include "blocking.h"
#include "debug_log.h"
#include "interpose.h"
#include "joyride/ipc/wait.h"
#include "kernel_twin.h"
#include "libc_calls.h"
#include "socket_common.h"

namespace joyride::preload {

namespace {
// The doorbell's data value in a kernel epoll set: the preload recognises it and
// never reports it. (An app whose own data equals it would lose that event; the
// value is chosen to be neither a small integer nor a plausible pointer.)
constexpr uint64_t kDoorbellData = 0x4a6f795269646521ull;
constexpr uint32_t kAlwaysReported = EPOLLERR | EPOLLHUP;
// A listener's kernel twin in a kernel epoll set: this tag in the high half, the
// member's id in the low half. As the doorbell's value, never a small integer nor a
// user-space pointer (those have a zero top half on 64-bit Linux).
constexpr uint64_t kTwinTag = 0x4a52545700000000ull;  // "JRTW"
constexpr uint64_t kTagMask = 0xffffffff00000000ull;
// What a twin is registered for: the read side of the app's request and its
// triggering flags (the kernel then does EPOLLET/EPOLLONESHOT for that side).
constexpr uint32_t kTwinEvents = EPOLLIN | EPOLLRDNORM | EPOLLET | EPOLLONESHOT | EPOLLEXCLUSIVE;
}  // namespace

struct EpollMember {
  int fd = -1;
  SocketRef ref;
  uint32_t id = 0;   // names the member in its twin's kernel data (kTwinTag | id)
  int twin_fd = -1;  // the kernel twin registered for it in the kernel set, or -1
  uint32_t events = 0;  // what the app asked for, with EPOLLET/EPOLLONESHOT
  epoll_data_t data{};
  bool disarmed = false;  // EPOLLONESHOT fired; EPOLL_CTL_MOD re-arms
  // Edge-triggered memory: what was reported last, and the FIFO positions then,
  // so new bytes (or freed space) count as a new edge even with the same bits.
  uint32_t last_events = 0;
  uint64_t last_rx_tail = 0;
  uint64_t last_tx_head = 0;
  uint32_t last_drained = 0;   // a listener's accept_drained then
  uint32_t last_arrivals = 0;  // a listener's arrivals then (SocketShared::arrivals)
};

// Never freed (a thread racing close(epfd) reads valid memory); reused after close.
struct EpollSet {
  pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  int epfd = -1;
  bool in_use = false;
  size_t cursor = 0;  // where the next scan starts: no member starves a small maxevents
  uint32_t next_id = 1;
  std::vector<EpollMember> members;
  // What the kernel set holds besides the doorbell: the app's kernel fds, sockets that
  // fell back to the kernel, twins. Counted up on every add, down on every delete
  // that succeeds (a kernel fd closed without a delete leaves it high: safe). While
  // it is 0, a wait that found Joyride events makes no system call.
  std::atomic<uint32_t> kernel_fds{0};
  std::atomic<uint32_t> busy_waits{0};  // waits that found Joyride events (any thread; a hint)
};

// Kernel registrations that bypass the interposed epoll_ctl (a raw syscall, an
// epoll fd reached through a dup) are not counted: the kernel is asked anyway on
// every kKernelCheckEvery-th wait that found Joyride events, so none starves.
constexpr uint32_t kKernelCheckEvery = 64;

namespace {

std::mutex g_sets_mutex;  // epoll_create/close/first add and fallbacks only
std::vector<EpollSet*> g_sets;

// The kernel fds an epoll fd held before it became a set of ours (the doorbell,
// just added, not counted): its "tfd:" lines in /proc/self/fdinfo. Unknown: many.
uint32_t registered_before(int epfd) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", epfd);
  const int saved_errno = errno;
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);  // open is not interposed
  uint32_t n = 0;
  bool ok = fd >= 0;
  if (ok) {
    char buf[8192];
    size_t len = 0;
    for (ssize_t r; len < sizeof buf - 1 && (r = libc().read(fd, buf + len, sizeof buf - 1 - len)) > 0;) len += r;
    buf[len] = 0;
    ok = len < sizeof buf - 1;  // a set too big to read whole: count it as unknown
    for (const char* p = buf; (p = strstr(p, "tfd:")) != nullptr; p += 4) ++n;
    libc().close(fd);
  }
  errno = saved_errno;
  if (!ok || n == 0) return ok ? 0 : UINT32_MAX / 2;
  return n - 1;
}

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
  set->kernel_fds.store(registered_before(epfd));
  pthread_mutex_unlock(&set->lock);
  set_fd_epoll(epfd, set);
  return set;
}

// Registers the twin of member m in the kernel set (set lock held). A twin retired
// meanwhile may have had its detach pass this set already: then undone here.
// A twin with m.twin_fd >= 0 under the set lock is open: retirement detaches it
// from every set before it is shut down and closed.
void register_twin(EpollSet& set, EpollMember& m, int twin) {
  const int saved_errno = errno;
  epoll_event ev{};
  ev.events = m.events & kTwinEvents;
  ev.data.u64 = kTwinTag | m.id;
  if (libc().epoll_ctl(set.epfd, EPOLL_CTL_ADD, twin, &ev) != 0) {
    JOYRIDE_DEBUG("fd %d: its kernel twin could not join epoll fd %d (%s)", m.fd, set.epfd, strerror(errno));
  } else if (m.ref.socket->kernel_twin.load() != twin) {
    (void)libc().epoll_ctl(set.epfd, EPOLL_CTL_DEL, twin, nullptr);
  } else {
    m.twin_fd = twin;
    set.kernel_fds.fetch_add(1);
  }
  errno = saved_errno;
}

void count_kernel_delete(EpollSet& set) {
  uint32_t n = set.kernel_fds.load();
  while (n != 0 && !set.kernel_fds.compare_exchange_weak(n, n - 1)) {
  }
}

// EPOLL_CTL_MOD/DEL of a member, carried over to its twin (set lock held).
void twin_follows(EpollSet& set, EpollMember& m, int op) {
  if (m.twin_fd < 0) return;
  const int saved_errno = errno;
  epoll_event ev{};
  ev.events = m.events & kTwinEvents;
  ev.data.u64 = kTwinTag | m.id;
  if (libc().epoll_ctl(set.epfd, op, m.twin_fd, &ev) != 0)
    JOYRIDE_DEBUG("fd %d: epoll_ctl(%d) of its kernel twin failed (%s)", m.fd, op, strerror(errno));
  else if (op == EPOLL_CTL_DEL) count_kernel_delete(set);
  if (op == EPOLL_CTL_DEL) m.twin_fd = -1;
  errno = saved_errno;
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
      m.id = set->next_id++;
      m.events = event->events;
      m.data = event->data;
      set->members.push_back(m);
      const TwinUse twin(*info.socket.socket);
      if (twin.fd() >= 0) register_twin(*set, set->members.back(), twin.fd());
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
      twin_follows(*set, *found, EPOLL_CTL_MOD);  // re-arms a EPOLLONESHOT twin too
    }
  } else {
    twin_follows(*set, *found, EPOLL_CTL_DEL);
    set->members.erase(set->members.begin() + (found - set->members.data()));
  }
  pthread_mutex_unlock(&set->lock);
  return result;
}

// The members one epoll_wait has reported so far, and where: a listener ready on
// both sides (its Joyride queue and its kernel twin) is one event with both sides'
// bits, as Linux reports one socket once.
struct Reported {
  uint32_t id;
  int index;
};
thread_local std::vector<Reported> t_reported;

int reported_at(uint32_t id) {
  for (const Reported& r : t_reported)
    if (r.id == id) return r.index;
  return -1;
}

// EPOLLET on the Joyride side: a new edge is a new bit, or new bytes (freed space)
// with the same bits, or a listener readable again after its queue was found empty.
// Updates the member's memory.
bool joyride_edge(EpollMember& m, const AppSocket& s, uint32_t ready) {
  const uint64_t rx_tail = s.shared().rx.tail.load(std::memory_order_acquire);
  const uint64_t tx_head = s.shared().tx.head.load(std::memory_order_acquire);
  const uint32_t drained = s.accept_drained.load(std::memory_order_acquire);
  const uint32_t arrivals = s.shared().arrivals.load(std::memory_order_acquire);
  const bool edge = (ready & ~m.last_events) != 0 || ((ready & EPOLLIN) != 0 && rx_tail != m.last_rx_tail) ||
                    ((ready & EPOLLOUT) != 0 && tx_head != m.last_tx_head) ||
                    ((ready & EPOLLIN) != 0 && (drained != m.last_drained || arrivals != m.last_arrivals));
  m.last_events = ready;
  m.last_rx_tail = rx_tail;
  m.last_tx_head = tx_head;
  m.last_drained = drained;
  m.last_arrivals = arrivals;
  return edge;
}

void drop_closed_members(std::vector<EpollMember>& ms) {
  for (size_t i = 0; i < ms.size();) {
    if (!ms[i].ref.valid() || service().inherited()) ms.erase(ms.begin() + static_cast<long>(i));  // closed: gone, as Linux
    else ++i;
  }
}

// Joyride events into out[n..max): level-triggered unless EPOLLET; EPOLLONESHOT
// disarms; a member already reported by its twin gets its bits added there.
// Returns the new count.
int collect(EpollSet* set, epoll_event* out, int n, int max) {
  pthread_mutex_lock(&set->lock);
  std::vector<EpollMember>& ms = set->members;
  drop_closed_members(ms);
  const size_t count = ms.size();
  size_t visited = 0;
  size_t i = count == 0 ? 0 : set->cursor % count;
  for (; visited < count && n < max; ++visited, i = (i + 1) % count) {
    EpollMember& m = ms[i];
    const int earlier = reported_at(m.id);
    if (m.disarmed && earlier < 0) continue;
    const AppSocket& s = *m.ref.socket;
    const uint32_t ready = socket_events(s) & (m.events | kAlwaysReported);
    const bool edge = (m.events & EPOLLET) == 0 || joyride_edge(m, s, ready);
    if (earlier >= 0) {
      out[earlier].events |= ready;
      continue;
    }
    if (!edge || ready == 0) continue;
    out[n].events = ready;
    out[n].data = m.data;
    t_reported.push_back(Reported{m.id, n});
    ++n;
    if ((m.events & EPOLLONESHOT) != 0) m.disarmed = true;
  }
  set->cursor = count == 0 ? 0 : i;
  pthread_mutex_unlock(&set->lock);
  return n;
}

EpollMember* member_with_id(EpollSet* set, uint32_t id) {
  for (EpollMember& m : set->members)
    if (m.id == id) return &m;
  return nullptr;
}

// A twin's kernel event at events[i] becomes its listener's event at events[kept]
// (the app's own data), or joins the listener's earlier entry, or is dropped (the
// member is gone or disarmed). Set lock held. Returns the new `kept`.
int map_twin_event(EpollSet* set, epoll_event* events, int i, int kept) {
  EpollMember* m = member_with_id(set, static_cast<uint32_t>(events[i].data.u64));
  if (m == nullptr || !m->ref.valid() || service().inherited()) return kept;
  const uint32_t bits = events[i].events & (m->events | kAlwaysReported);
  const int earlier = reported_at(m->id);
  if (earlier >= 0) {
    events[earlier].events |= bits;
    return kept;
  }
  if (m->disarmed || bits == 0) return kept;  // a EPOLLONESHOT fired by the Joyride side
  events[kept].events = bits;
  events[kept].data = m->data;
  t_reported.push_back(Reported{m->id, kept});
  if ((m->events & EPOLLONESHOT) != 0) m->disarmed = true;  // the kernel disarmed the twin itself
  return kept + 1;
}

// Kernel results at events[first .. first+count): the doorbell's entries dropped
// (says whether it rang), twins' mapped to their listeners, the rest kept as they
// are. Returns the new total.
int sort_kernel_events(EpollSet* set, epoll_event* events, int first, int count, bool* rung) {
  int kept = first;
  bool locked = false;
  for (int i = first; i < first + count; ++i) {
    const uint64_t data = events[i].data.u64;
    if (data == kDoorbellData) {
      *rung = true;
    } else if ((data & kTagMask) == kTwinTag) {
      if (!locked) pthread_mutex_lock(&set->lock);
      locked = true;
      kept = map_twin_event(set, events, i, kept);
    } else {
      events[kept++] = events[i];
    }
  }
  if (locked) pthread_mutex_unlock(&set->lock);
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
    t_reported.clear();
    int n = collect(set, events, 0, max);
    bool armed = false;
    if (n == 0 && !deadline.expired()) {
      h.poll_waiters.fetch_add(1);
      h.poll_armed.store(1);
      armed = true;
      n = collect(set, events, 0, max);  // published just before arming?
    }
    if (n > 0 || !armed) {
      if (armed) h.poll_waiters.fetch_sub(1);
      // Kernel fds are asked too, every time there are any: never starved by busy
      // Joyride fds. A set of Joyride sockets alone makes no system call here.
      bool rung = false;
      const bool ask = set->kernel_fds.load(std::memory_order_relaxed) != 0 || (set->busy_waits.fetch_add(1, std::memory_order_relaxed) + 1) % kKernelCheckEvery == 0;
      int k = n < max && ask ? kernel_wait(epfd, events + n, max - n, 0, sigmask) : 0;
      if (k < 0) k = 0;
      const int total = sort_kernel_events(set, events, n, k, &rung);
      if (rung) (void)ipc::take_doorbell_token(service().app_doorbell());
      return total;
    }
    const int r = kernel_wait(epfd, events, max, deadline.remaining_ms(), sigmask);
    const int saved_errno = errno;
    bool rung = false;
    const int k = r > 0 ? sort_kernel_events(set, events, 0, r, &rung) : 0;
    if (rung) (void)ipc::take_doorbell_token(service().app_doorbell());
    h.poll_waiters.fetch_sub(1);
    if (r < 0) return -saved_errno;
    if (k > 0 || r == 0 || deadline.expired()) return collect(set, events, k, max);
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
      else
        set->kernel_fds.fetch_add(1);
      set->members.erase(set->members.begin() + static_cast<long>(i));
      break;
    }
    pthread_mutex_unlock(&set->lock);
  }
}

void attach_twin_to_epoll_sets(const SocketRef& ref, int twin) {
  std::lock_guard<std::mutex> hold(g_sets_mutex);
  for (EpollSet* set : g_sets) {
    pthread_mutex_lock(&set->lock);
    for (EpollMember& m : set->members) {
      const bool same = m.ref.socket == ref.socket && m.ref.incarnation == ref.incarnation;
      if (set->in_use && same && m.twin_fd < 0) register_twin(*set, m, twin);
    }
    pthread_mutex_unlock(&set->lock);
  }
}

void detach_twin_from_epoll_sets(const AppSocket& s, int twin) {
  std::lock_guard<std::mutex> hold(g_sets_mutex);
  for (EpollSet* set : g_sets) {
    pthread_mutex_lock(&set->lock);
    for (EpollMember& m : set->members)
      if (set->in_use && m.ref.socket == &s && m.twin_fd == twin) twin_follows(*set, m, EPOLL_CTL_DEL);
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
  if (info.kind != FdKind::kJoyride) {
    const int r = libc().epoll_ctl(epfd, op, fd, event);
    if (r == 0 && op != EPOLL_CTL_MOD) {
      const FdInfo set = lookup_fd(epfd);
      if (set.kind == FdKind::kEpoll && op == EPOLL_CTL_ADD) set.epoll->kernel_fds.fetch_add(1);
      if (set.kind == FdKind::kEpoll && op == EPOLL_CTL_DEL) count_kernel_delete(*set.epoll);
    }
    return r;
  }
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
