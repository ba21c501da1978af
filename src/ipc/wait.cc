#include "joyride/ipc/wait.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

namespace joyride::ipc {

int futex_wait(std::atomic<uint32_t>& word, uint32_t expected, int64_t timeout_ns) {
  timespec ts{};
  timespec* tp = nullptr;
  if (timeout_ns >= 0) {
    ts.tv_sec = static_cast<time_t>(timeout_ns / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(timeout_ns % 1'000'000'000);
    tp = &ts;
  }
  // FUTEX_WAIT (not _PRIVATE): the word is in memory shared with another process.
  const long r = ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT, expected, tp, nullptr, 0);
  if (r == 0) return 0;
  if (errno == EAGAIN) return 0;
  return errno;
}

void futex_wake_all(std::atomic<uint32_t>& word) {
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE, 0x7fffffff, nullptr, nullptr, 0);
}

// Raw system calls, not libc's write/read: in the preload those names are the
// interposed ones, and a doorbell must not go through the socket dispatch.
void ring_doorbell(int eventfd, uint64_t count) {
  if (eventfd < 0 || count == 0) return;
  long n;
  do n = ::syscall(SYS_write, eventfd, &count, sizeof count);
  while (n < 0 && errno == EINTR);
}

bool take_doorbell_token(int eventfd) {
  uint64_t v = 0;
  return ::syscall(SYS_read, eventfd, &v, sizeof v) == static_cast<long>(sizeof v);
}

}  // namespace joyride::ipc
