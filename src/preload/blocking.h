// Sleeping until a socket is ready, the way region.h prescribes: futex_waiters += 1,
// read wake_seq, look once more, FUTEX_WAIT on wake_seq, futex_waiters -= 1. A
// blocked thread holds no lock. Signal rules follow Linux's for socket calls: an
// untimed wait restarts under SA_RESTART by itself (the futex does), otherwise and
// always with a timeout a signal ends it with EINTR.
#pragma once

#include <time.h>

#include <cstdint>

#include "app_socket.h"

namespace joyride::preload {

// An absolute CLOCK_MONOTONIC deadline, or none.
class Deadline {
 public:
  // timeout_ns < 0: no deadline.
  explicit Deadline(int64_t timeout_ns);
  static Deadline from_ms(int timeout_ms) { return Deadline(timeout_ms < 0 ? -1 : int64_t{timeout_ms} * 1'000'000); }
  static Deadline from_timespec(const timespec* ts);
  bool unlimited() const { return at_ns_ < 0; }
  // Nanoseconds left (0 when passed); -1 when unlimited.
  int64_t remaining_ns() const;
  // For poll(2): milliseconds left, rounded up; -1 when unlimited.
  int remaining_ms() const;
  bool expired() const { return !unlimited() && remaining_ns() == 0; }

 private:
  int64_t at_ns_;
};

int64_t monotonic_ns();

// Sleeps until socket_events(s) & wanted, the handle goes stale, or the deadline /
// a signal ends the wait. Returns 0 (look again), -EBADF (closed meanwhile),
// -EAGAIN (deadline passed) or -EINTR.
int wait_for_socket(const SocketRef& ref, uint32_t wanted, const Deadline& deadline);

// Sleeps until `ready()` is true (same protocol as wait_for_socket; the predicate
// is re-checked after announcing ourselves as a sleeper).
template <typename Ready>
int wait_until(const SocketRef& ref, const Deadline& deadline, Ready ready);

int futex_sleep_once(const SocketRef& ref, const Deadline& deadline, bool (*ready)(const void*), const void* context);

template <typename Ready>
int wait_until(const SocketRef& ref, const Deadline& deadline, Ready ready) {
  auto thunk = [](const void* c) { return (*static_cast<const Ready*>(c))(); };
  return futex_sleep_once(ref, deadline, thunk, &ready);
}

}  // namespace joyride::preload
