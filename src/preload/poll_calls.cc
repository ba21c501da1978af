// poll, ppoll, select, pselect over sets that mix Joyride and kernel fds. Joyride
// readiness is read from the region; the kernel fds are asked in the same call, with
// timeout 0 when something is already ready (never starved), and when nothing is
// ready the thread sleeps once in the kernel, on its fds plus the app doorbell.
// A wildcard listener's kernel twin (kernel_twin.h) joins the kernel part, and what
// it reports is added to its listener's entry.
#include <errno.h>
#include <poll.h>
#include <sys/select.h>
#include <time.h>

#include <vector>

#include "blocking.h"
#include "interpose.h"
#include "joyride/ipc/wait.h"
#include "kernel_twin.h"
#include "libc_calls.h"
#include "socket_common.h"

namespace joyride::preload {
namespace {

constexpr short kAlwaysReported = POLLERR | POLLHUP | POLLNVAL;

// Where a kernel entry came from in the caller's array: the entry itself, or the
// twin of the Joyride listener there.
struct KernelOrigin {
  nfds_t slot;
  bool twin;
};

// Scratch space per thread: poll is called in loops, so no allocation per call.
struct PollScratch {
  std::vector<pollfd> kernel;  // the kernel part (+ the doorbell while sleeping)
  std::vector<KernelOrigin> kernel_origin;
  std::vector<nfds_t> joyride_slot;
  std::vector<SocketRef> joyride_ref;
  std::vector<AppSocket*> twins_held;  // borrowed for this call (release_twins)
};
thread_local PollScratch t_scratch;

int kernel_poll(std::vector<pollfd>& fds, int timeout_ms, const timespec* timeout_ts, const sigset_t* sigmask) {
  // ppoll when there is a signal mask to apply for the wait (ppoll/pselect callers).
  if (sigmask != nullptr || timeout_ts != nullptr) return libc().ppoll(fds.data(), fds.size(), timeout_ts, sigmask);
  return libc().poll(fds.data(), fds.size(), timeout_ms);
}

// Fills revents of the Joyride entries; returns how many are ready.
int joyride_readiness(pollfd* fds, const PollScratch& s) {
  int ready = 0;
  for (size_t j = 0; j < s.joyride_slot.size(); ++j) {
    pollfd& p = fds[s.joyride_slot[j]];
    const SocketRef& ref = s.joyride_ref[j];
    if (service().inherited() || !ref.valid()) {
      p.revents = POLLNVAL;
    } else {
      p.revents = static_cast<short>(socket_events(*ref.socket) & static_cast<uint32_t>(p.events | kAlwaysReported));
    }
    if (p.revents != 0) ++ready;
  }
  return ready;
}

// Fills revents of the kernel entries and adds the twins' to their listeners'
// (after joyride_readiness). Returns how many entries became ready here.
int merge_kernel(pollfd* fds, const PollScratch& s) {
  int ready = 0;
  for (size_t k = 0; k < s.kernel_origin.size(); ++k) {
    pollfd& p = fds[s.kernel_origin[k].slot];
    const short got = s.kernel[k].revents;
    if (!s.kernel_origin[k].twin) {
      p.revents = got;
      if (got != 0) ++ready;
      continue;
    }
    const short before = p.revents;
    p.revents = static_cast<short>(before | (got & (p.events | kAlwaysReported) & ~POLLNVAL));
    if (before == 0 && p.revents != 0) ++ready;
  }
  return ready;
}

timespec to_timespec(int64_t ns) { return timespec{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)}; }

// The mixed poll. Returns the number of ready entries or a negated errno.
int mixed_poll(pollfd* fds, const Deadline& deadline, const sigset_t* sigmask) {
  PollScratch& s = t_scratch;
  Service& svc = service();
  ipc::RegionHeader& h = svc.header();
  static const timespec kZero{0, 0};
  for (;;) {
    int ready = joyride_readiness(fds, s);
    if (ready > 0 || deadline.expired()) {
      const int k = s.kernel.empty() ? 0 : kernel_poll(s.kernel, 0, sigmask != nullptr ? &kZero : nullptr, sigmask);
      if (k < 0) return ready > 0 ? ready : -errno;
      return ready + merge_kernel(fds, s);
    }
    h.poll_waiters.fetch_add(1);
    h.poll_armed.store(1);
    // Armed: whatever the service publishes from now on rings the doorbell; look
    // once more so nothing published just before arming is slept through.
    ready = joyride_readiness(fds, s);
    if (ready > 0) {
      h.poll_waiters.fetch_sub(1);
      continue;
    }
    s.kernel.push_back(pollfd{svc.app_doorbell(), POLLIN, 0});
    const int64_t left = deadline.remaining_ns();
    timespec ts = to_timespec(left < 0 ? 0 : left);
    const int r = kernel_poll(s.kernel, deadline.remaining_ms(), (sigmask != nullptr && left >= 0) ? &ts : nullptr,
                              sigmask);
    const int saved_errno = errno;
    const bool rung = (s.kernel.back().revents & POLLIN) != 0;
    s.kernel.pop_back();
    if (rung) (void)ipc::take_doorbell_token(svc.app_doorbell());
    h.poll_waiters.fetch_sub(1);
    if (r < 0) return -saved_errno;
    const int kernel_ready = r - (rung ? 1 : 0);
    if (kernel_ready > 0 || r == 0 || deadline.expired()) {
      ready = joyride_readiness(fds, s);
      return ready + merge_kernel(fds, s);
    }
  }
}

// A listener's twin joins the kernel part when the caller asks for reading.
void add_twin(PollScratch& s, const pollfd& p, nfds_t slot, const SocketRef& ref) {
  if ((p.events & (POLLIN | POLLRDNORM)) == 0 || service().inherited() || !ref.valid()) return;
  const int twin = acquire_twin(*ref.socket);
  if (twin < 0) return;
  s.twins_held.push_back(ref.socket);
  s.kernel.push_back(pollfd{twin, POLLIN, 0});
  s.kernel_origin.push_back(KernelOrigin{slot, true});
}

// Splits the caller's array. The twins borrowed here are held until release_twins().
void split(pollfd* fds, nfds_t count) {
  PollScratch& s = t_scratch;
  s.kernel.clear();
  s.kernel_origin.clear();
  s.joyride_slot.clear();
  s.joyride_ref.clear();
  s.twins_held.clear();
  for (nfds_t i = 0; i < count; ++i) {
    const FdInfo info = lookup_fd(fds[i].fd);
    if (info.kind == FdKind::kJoyride) {
      s.joyride_slot.push_back(i);
      s.joyride_ref.push_back(info.socket);
      add_twin(s, fds[i], i, info.socket);
    } else {
      s.kernel_origin.push_back(KernelOrigin{i, false});
      s.kernel.push_back(fds[i]);
    }
  }
}

void release_twins() {
  for (AppSocket* held : t_scratch.twins_held) release_twin(*held);
  t_scratch.twins_held.clear();
}

// The whole mixed poll of a caller's array that holds a Joyride fd.
int split_and_poll(pollfd* fds, nfds_t count, const Deadline& deadline, const sigset_t* sigmask) {
  split(fds, count);
  const int r = mixed_poll(fds, deadline, sigmask);
  release_twins();
  return r;
}

bool has_joyride(const pollfd* fds, nfds_t count) {
  for (nfds_t i = 0; i < count; ++i)
    if (lookup_fd(fds[i].fd).kind == FdKind::kJoyride) return true;
  return false;
}

// fd_set bits read directly (FD_ISSET's fortified form aborts above FD_SETSIZE,
// while the kernel honours any nfds the caller's memory covers).
constexpr int kBitsPerWord = 8 * sizeof(unsigned long);
bool bit_is_set(const fd_set* set, int fd) {
  return set != nullptr && ((reinterpret_cast<const unsigned long*>(set)[fd / kBitsPerWord] >> (fd % kBitsPerWord)) & 1UL) != 0;
}
void set_bit(fd_set* set, int fd) { reinterpret_cast<unsigned long*>(set)[fd / kBitsPerWord] |= 1UL << (fd % kBitsPerWord); }
void clear_set(fd_set* set, int nfds) {
  if (set == nullptr) return;
  unsigned long* words = reinterpret_cast<unsigned long*>(set);
  for (int w = 0; w < (nfds + kBitsPerWord - 1) / kBitsPerWord; ++w) words[w] = 0;
}

thread_local std::vector<pollfd> t_select_fds;

// select/pselect as a mixed poll (the kernel's POLLIN_SET/POLLOUT_SET/POLLEX_SET
// mapping). Returns the number of bits set or a negated errno; -1 when no Joyride
// fd is involved (the caller uses libc directly).
int mixed_select(int nfds, fd_set* rd, fd_set* wr, fd_set* ex, const Deadline& deadline, const sigset_t* sigmask,
                 bool* handled) {
  *handled = false;
  if (nfds < 0) return -EINVAL;
  bool any = false;
  std::vector<pollfd>& fds = t_select_fds;
  fds.clear();
  for (int fd = 0; fd < nfds; ++fd) {
    const short events = static_cast<short>((bit_is_set(rd, fd) ? POLLIN : 0) | (bit_is_set(wr, fd) ? POLLOUT : 0) |
                                            (bit_is_set(ex, fd) ? POLLPRI : 0));
    if (events == 0) continue;
    if (lookup_fd(fd).kind == FdKind::kJoyride) any = true;
    fds.push_back(pollfd{fd, events, 0});
  }
  if (!any) return 0;
  *handled = true;
  const int r = split_and_poll(fds.data(), fds.size(), deadline, sigmask);
  if (r < 0) return r;
  for (const pollfd& p : fds)
    if ((p.revents & POLLNVAL) != 0) return -EBADF;
  // The requests live on in fds[].events: the caller's sets can be cleared now.
  fd_set* sets[3] = {rd, wr, ex};
  int bits = 0;
  for (fd_set* set : sets) clear_set(set, nfds);
  for (const pollfd& p : fds) {
    if ((p.events & POLLIN) != 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      set_bit(rd, p.fd);
      ++bits;
    }
    if ((p.events & POLLOUT) != 0 && (p.revents & (POLLOUT | POLLERR)) != 0) {
      set_bit(wr, p.fd);
      ++bits;
    }
    if ((p.events & POLLPRI) != 0 && (p.revents & POLLPRI) != 0) {
      set_bit(ex, p.fd);
      ++bits;
    }
  }
  return bits;
}

}  // namespace
}  // namespace joyride::preload

using namespace joyride::preload;
namespace ipc = joyride::ipc;

// glibc declares poll/ppoll's array write-only (__fortified_attr_access), which
// makes gcc warn that our definitions read it; reading events and fds is what poll
// is. Silenced here, for these definitions only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

JOYRIDE_EXPORT int poll(pollfd* fds, nfds_t count, int timeout_ms) {
  if (!has_joyride(fds, count)) return libc().poll(fds, count, timeout_ms);
  return finish_call(split_and_poll(fds, count, Deadline::from_ms(timeout_ms), nullptr));
}

JOYRIDE_EXPORT int ppoll(pollfd* fds, nfds_t count, const timespec* timeout, const sigset_t* sigmask) {
  if (!has_joyride(fds, count)) return libc().ppoll(fds, count, timeout, sigmask);
  if (timeout != nullptr && (timeout->tv_sec < 0 || timeout->tv_nsec < 0 || timeout->tv_nsec >= 1'000'000'000))
    return finish_call(-EINVAL);
  // Without a caller's mask, an empty set behaves as ppoll(NULL) does: nothing changes.
  return finish_call(split_and_poll(fds, count, Deadline::from_timespec(timeout), sigmask));
}

JOYRIDE_EXPORT int __poll_chk(pollfd* fds, nfds_t count, int timeout_ms, size_t fds_len) {
  if (fds_len / sizeof(pollfd) < count) return libc().poll_chk(fds, count, timeout_ms, fds_len);  // aborts
  return poll(fds, count, timeout_ms);
}

JOYRIDE_EXPORT int __ppoll_chk(pollfd* fds, nfds_t count, const timespec* timeout, const sigset_t* sigmask,
                               size_t fds_len) {
  if (fds_len / sizeof(pollfd) < count) return libc().ppoll_chk(fds, count, timeout, sigmask, fds_len);
  return ppoll(fds, count, timeout, sigmask);
}

JOYRIDE_EXPORT int select(int nfds, fd_set* rd, fd_set* wr, fd_set* ex, timeval* timeout) {
  if (timeout != nullptr && (timeout->tv_sec < 0 || timeout->tv_usec < 0)) return libc().select(nfds, rd, wr, ex, timeout);
  const Deadline deadline(timeout == nullptr ? -1 : int64_t{timeout->tv_sec} * 1'000'000'000 + int64_t{timeout->tv_usec} * 1000);
  bool handled = false;
  const int r = mixed_select(nfds, rd, wr, ex, deadline, nullptr, &handled);
  if (!handled) return libc().select(nfds, rd, wr, ex, timeout);
  if (timeout != nullptr) {
    // Linux writes back the time left.
    const int64_t left = deadline.remaining_ns();
    timeout->tv_sec = static_cast<time_t>(left / 1'000'000'000);
    timeout->tv_usec = static_cast<suseconds_t>((left % 1'000'000'000) / 1000);
  }
  return finish_call(r);
}

JOYRIDE_EXPORT int pselect(int nfds, fd_set* rd, fd_set* wr, fd_set* ex, const timespec* timeout,
                           const sigset_t* sigmask) {
  if (timeout != nullptr && (timeout->tv_sec < 0 || timeout->tv_nsec < 0 || timeout->tv_nsec >= 1'000'000'000))
    return libc().pselect(nfds, rd, wr, ex, timeout, sigmask);
  bool handled = false;
  const int r = mixed_select(nfds, rd, wr, ex, Deadline::from_timespec(timeout), sigmask, &handled);
  if (!handled) return libc().pselect(nfds, rd, wr, ex, timeout, sigmask);
  return finish_call(r);
}
