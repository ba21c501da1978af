#include "blocking.h"

#include <errno.h>
#include <pthread.h>

#include "cpu_relax.h"
#include "joyride/ipc/wait.h"
#include "service.h"

namespace joyride::preload {
namespace {

// A short spin before sleeping catches answers that are microseconds away without
// a system call; kept small because this machine class has few cores to burn.
constexpr int kSpinIterations = 200;

// Cancelled inside the wait: the thread is gone, its sleeper count must go too.
void drop_futex_waiter(void* header) {
  static_cast<ipc::RegionHeader*>(header)->futex_waiters.fetch_sub(1);
}

// The futex wait as a cancellation point, as Linux's recv/send/accept/connect are
// (iperf3 stops its stream threads with pthread_cancel while they block): a raw
// syscall() is not one, so asynchronous cancellation is allowed around just the
// system call (what glibc's own cancellable calls do). Nothing is locked here.
int cancellable_futex_wait(ipc::RegionHeader& h, uint32_t seq, int64_t timeout_ns) {
  pthread_testcancel();
  int r = 0;
  pthread_cleanup_push(drop_futex_waiter, &h);
  int old_type = 0;
  pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &old_type);
  r = ipc::futex_wait(h.wake_seq, seq, timeout_ns);
  pthread_setcanceltype(old_type, nullptr);
  pthread_cleanup_pop(0);
  return r;
}

}  // namespace

int64_t monotonic_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

Deadline::Deadline(int64_t timeout_ns) : at_ns_(timeout_ns < 0 ? -1 : monotonic_ns() + timeout_ns) {}

Deadline Deadline::from_timespec(const timespec* ts) {
  if (ts == nullptr) return Deadline(-1);
  return Deadline(int64_t{ts->tv_sec} * 1'000'000'000 + ts->tv_nsec);
}

int64_t Deadline::remaining_ns() const {
  if (at_ns_ < 0) return -1;
  const int64_t left = at_ns_ - monotonic_ns();
  return left > 0 ? left : 0;
}

int Deadline::remaining_ms() const {
  const int64_t ns = remaining_ns();
  if (ns < 0) return -1;
  const int64_t ms = (ns + 999'999) / 1'000'000;
  return ms > 0x7fffffff ? 0x7fffffff : static_cast<int>(ms);
}

int futex_sleep_once(const SocketRef& ref, const Deadline& deadline, bool (*ready)(const void*), const void* context) {
  for (int i = 0; i < kSpinIterations; ++i) {
    if (!ref.valid()) return -EBADF;
    if (ready(context)) return 0;
    cpu_relax();
  }
  ipc::RegionHeader& h = service().header();
  h.futex_waiters.fetch_add(1);
  const uint32_t seq = h.wake_seq.load();
  int result = 0;
  if (!ref.valid()) {
    result = -EBADF;
  } else if (!ready(context)) {
    const int64_t left = deadline.remaining_ns();
    if (left == 0) {
      result = -EAGAIN;
    } else {
      const int r = cancellable_futex_wait(h, seq, left);
      if (r == EINTR) result = -EINTR;
      else if (r == ETIMEDOUT) result = -EAGAIN;
    }
  }
  h.futex_waiters.fetch_sub(1);
  return result;
}

int wait_for_socket(const SocketRef& ref, uint32_t wanted, const Deadline& deadline) {
  const AppSocket* s = ref.socket;
  return wait_until(ref, deadline, [s, wanted] { return (socket_events(*s) & wanted) != 0; });
}

}  // namespace joyride::preload
