// Puts a polling thread to sleep while its ports are idle, and wakes it as soon as a
// frame arrives, a watched file descriptor (the control socket) becomes readable, or
// a timeout (the stack's next timer) passes: adaptive polling without the CPU cost of
// waking every few microseconds to look (../shared/DESIGN.md, "Adaptive polling").
//
// It uses the PMDs' rx queue interrupts through DPDK's per-thread epoll set, so it
// belongs to the thread that constructs it and must only be used there. A port whose
// PMD has no rx interrupts (net_af_packet, net_ring, ...) makes interrupts() false:
// the caller then sleeps in short naps instead, as before.
//
// The race between "the last poll found nothing" and "interrupts are on" is the
// caller's to close, in this order: arm(), poll every queue once more, and only if
// that found nothing wait(); then disarm() and poll. A frame that arrived before
// arm() is found by that poll; one after it raises the interrupt.
#pragma once

#include <rte_epoll.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "joyride/base/time.h"
#include "joyride/dev/dpdk/port.h"

namespace joyride::dev::dpdk {

class IdleWaiter {
 public:
  // Registers every rx queue of every port with this thread's epoll set. The ports
  // must have been opened with rx interrupts requested (PortConfig::rx_interrupts)
  // and must outlive the waiter.
  explicit IdleWaiter(std::span<Port* const> ports);
  ~IdleWaiter();
  IdleWaiter(const IdleWaiter&) = delete;
  IdleWaiter& operator=(const IdleWaiter&) = delete;

  // Whether every rx queue can wake the thread; false means wait() cannot be used.
  bool interrupts() const { return interrupts_; }

  // Also wake when `fd` is readable (level-triggered; the caller drains it).
  // False when the fd cannot be added.
  bool watch(int fd);

  // Turns the rx interrupts on (arm) and off (disarm) on every queue.
  void arm();
  void disarm();

  // Sleeps until an armed queue or a watched fd has something, a signal arrives, or
  // `timeout` passes (rounded up to whole milliseconds: epoll's resolution). Returns
  // the number of events that woke it (0 on timeout or signal).
  int wait(base::Duration timeout);

 private:
  struct Queue {
    uint16_t port;
    uint16_t queue;
  };
  std::vector<Queue> queues_;
  std::vector<std::unique_ptr<rte_epoll_event>> watched_;  // epoll keeps pointers to them
  bool interrupts_ = false;
  bool armed_ = false;
};

}  // namespace joyride::dev::dpdk
