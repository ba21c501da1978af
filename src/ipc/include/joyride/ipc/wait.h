// Futex waits on region words (process-shared: the region is a MAP_SHARED memfd, so
// the futex key is the page, not the address) and the eventfd doorbells.
#pragma once

#include <atomic>
#include <cstdint>

namespace joyride::ipc {

// Sleeps while *word == expected, at most timeout_ns (< 0: no limit). Returns 0 when
// woken or the word differed, ETIMEDOUT, or EINTR (a signal; without a timeout the
// kernel restarts the wait itself when the handler has SA_RESTART, which is exactly
// the restart rule a blocking socket call follows).
int futex_wait(std::atomic<uint32_t>& word, uint32_t expected, int64_t timeout_ns);
// Wakes every waiter on `word`.
void futex_wake_all(std::atomic<uint32_t>& word);

// Rings an eventfd (adds 1 or `count`); never blocks.
void ring_doorbell(int eventfd, uint64_t count = 1);
// Takes one token from a semaphore eventfd without blocking; true when there was one.
bool take_doorbell_token(int eventfd);

}  // namespace joyride::ipc
