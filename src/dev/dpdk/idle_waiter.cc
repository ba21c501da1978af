#include "joyride/dev/dpdk/idle_waiter.h"

#include <rte_ethdev.h>
#include <sys/epoll.h>

#include <algorithm>
#include <array>

namespace joyride::dev::dpdk {

IdleWaiter::IdleWaiter(std::span<Port* const> ports) {
  bool all = !ports.empty();
  for (Port* port : ports) {
    if (!port->capabilities().rx_interrupts) {
      all = false;
      continue;
    }
    for (uint16_t q = 0; q < port->capabilities().rx_queues; ++q) {
      if (rte_eth_dev_rx_intr_ctl_q(port->id(), q, RTE_EPOLL_PER_THREAD, RTE_INTR_EVENT_ADD, nullptr) != 0) {
        all = false;
        continue;
      }
      queues_.push_back({port->id(), q});
    }
  }
  interrupts_ = all;
}

IdleWaiter::~IdleWaiter() {
  disarm();
  for (const Queue& q : queues_) {
    (void)rte_eth_dev_rx_intr_ctl_q(q.port, q.queue, RTE_EPOLL_PER_THREAD, RTE_INTR_EVENT_DEL, nullptr);
  }
  for (auto& ev : watched_) (void)rte_epoll_ctl(RTE_EPOLL_PER_THREAD, EPOLL_CTL_DEL, ev->fd, ev.get());
}

bool IdleWaiter::watch(int fd) {
  auto ev = std::make_unique<rte_epoll_event>();
  ev->epdata.event = EPOLLIN;
  if (rte_epoll_ctl(RTE_EPOLL_PER_THREAD, EPOLL_CTL_ADD, fd, ev.get()) != 0) return false;
  watched_.push_back(std::move(ev));
  return true;
}

void IdleWaiter::arm() {
  if (armed_) return;
  for (const Queue& q : queues_) (void)rte_eth_dev_rx_intr_enable(q.port, q.queue);
  armed_ = true;
}

void IdleWaiter::disarm() {
  if (!armed_) return;
  for (const Queue& q : queues_) (void)rte_eth_dev_rx_intr_disable(q.port, q.queue);
  armed_ = false;
}

int IdleWaiter::wait(base::Duration timeout) {
  constexpr int64_t kMs = 1'000'000;
  const int64_t ns = std::max<int64_t>(timeout.as_nanos(), 0);
  const int ms = static_cast<int>(std::min<int64_t>((ns + kMs - 1) / kMs, 60'000));
  std::array<rte_epoll_event, 8> events{};
  // The interruptible variant returns on a signal (SIGTERM must stop the service).
  // For queue events DPDK drains the interrupt's eventfd itself; watched fds are
  // level-triggered and drained by their owner.
  const int n = rte_epoll_wait_interruptible(RTE_EPOLL_PER_THREAD, events.data(), static_cast<int>(events.size()), ms);
  return n < 0 ? 0 : n;
}

}  // namespace joyride::dev::dpdk
