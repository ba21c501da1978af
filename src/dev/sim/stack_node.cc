#include "joyride/dev/stack_node.h"

#include <array>

namespace joyride::dev::sim {

StackNode::StackNode(const core::StackConfig& config, uint64_t seed, base::Instant start, uint32_t pool_segments)
    : pool_(pool_segments, buf::HeapPacketPool::kDefaultSegmentCapacity, pool_segments),
      random_(seed),
      last_now_(start) {
  stack_.emplace(config, pool_, random_, start);
}

void StackNode::receive(uint32_t port, buf::Packet frame, base::Instant now) {
  last_now_ = now;
  stack_->input(port, std::move(frame), now);
}

void StackNode::poll(base::Instant now, TxFn& tx) {
  last_now_ = now;
  stack_->poll(now);
  std::array<core::Frame, 32> burst;
  for (size_t n; (n = stack_->take_tx(burst)) > 0;) {
    for (size_t i = 0; i < n; ++i) tx(burst[i].ifindex, std::move(burst[i].packet));
  }
}

base::Instant StackNode::next_deadline() const {
  // Frames queued by socket calls made between steps go out at the next step.
  if (stack_->has_tx()) return last_now_;
  return stack_->next_deadline();
}

}  // namespace joyride::dev::sim
