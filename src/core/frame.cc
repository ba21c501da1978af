#include "joyride/core/frame.h"

namespace joyride::core {

bool TxQueue::push(uint32_t ifindex, buf::Packet packet) {
  if (count_ == ring_.size()) return false;
  Frame& slot = ring_[(head_ + count_) % ring_.size()];
  slot.ifindex = ifindex;
  slot.packet = std::move(packet);
  ++count_;
  return true;
}

size_t TxQueue::pop_burst(std::span<Frame> out) {
  size_t n = 0;
  while (n < out.size() && count_ > 0) {
    out[n++] = std::move(ring_[head_]);
    head_ = (head_ + 1) % ring_.size();
    --count_;
  }
  return n;
}

}  // namespace joyride::core
