#include "joyride/dev/dpdk/stack_driver.h"

#include <time.h>

#include <algorithm>
#include <utility>

namespace joyride::dev::dpdk {

base::Instant monotonic_now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return base::Instant::from_nanos(int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec);
}

StackDriver::StackDriver(core::Stack& stack, Port& port, const StackDriverConfig& config)
    : stack_(stack),
      port_(port),
      config_(config),
      rx_(std::max<uint16_t>(config.burst, 1)),
      frames_(std::max<uint16_t>(config.burst, 1)),
      pending_(std::max<uint16_t>(config.burst, 1)) {}

size_t StackDriver::poll_once(base::Instant now) {
  size_t in = 0;
  for (uint16_t q = 0; q < port_.capabilities().rx_queues; ++q) {
    const size_t n = port_.rx_burst(q, rx_);
    for (size_t i = 0; i < n; ++i) stack_.input(config_.ifindex, std::move(rx_[i]), now);
    in += n;
  }
  counters_.inc(StackDriverCounter::kRxFrames, in);
  stack_.poll(now);
  return in + transmit();
}

size_t StackDriver::transmit() {
  size_t out = 0;
  for (;;) {
    // Top the pending buffer up from the stack, oldest frames first behind the ones
    // already waiting.
    const size_t room = pending_.size() - pending_count_;
    const size_t taken = room == 0 ? 0 : stack_.take_tx(std::span(frames_).first(room));
    for (size_t i = 0; i < taken; ++i) {
      if (frames_[i].ifindex != config_.ifindex) {  // not this port's interface: nowhere to go
        frames_[i].packet.reset();
        counters_.inc(StackDriverCounter::kTxDropped);
        continue;
      }
      pending_[pending_count_++] = std::move(frames_[i].packet);
    }
    if (pending_count_ == 0) break;

    const size_t sent = port_.tx_burst(config_.tx_queue, std::span(pending_).first(pending_count_));
    // Keep the refused frames at the front, in order.
    std::move(pending_.begin() + static_cast<ptrdiff_t>(sent),
              pending_.begin() + static_cast<ptrdiff_t>(pending_count_), pending_.begin());
    pending_count_ -= sent;
    out += sent;
    counters_.inc(StackDriverCounter::kTxFrames, sent);
    if (pending_count_ != 0) break;  // the ring is full: try again next round
    if (!stack_.has_tx()) break;
  }

  if (pending_count_ == 0 || out != 0) {
    stalled_rounds_ = 0;
  } else if (++stalled_rounds_ >= config_.tx_retry_rounds) {
    for (size_t i = 0; i < pending_count_; ++i) pending_[i].reset();
    counters_.inc(StackDriverCounter::kTxDropped, pending_count_);
    pending_count_ = 0;
    stalled_rounds_ = 0;
  }
  return out;
}

}  // namespace joyride::dev::dpdk
