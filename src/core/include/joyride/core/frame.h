// Frames leaving a stack instance, and the bounded queue that holds them until the
// host takes them (Stack::take_tx). Nothing in core/ transmits by itself.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "joyride/buf/packet.h"

namespace joyride::core {

// Headroom every locally built packet reserves: Ethernet + 802.1Q + IPv4 with
// options + TCP with options, rounded up.
inline constexpr uint32_t kPacketHeadroom = 128;

struct Frame {
  uint32_t ifindex = 0;
  buf::Packet packet;
};

// A fixed-capacity FIFO ring of frames. push() refuses when full (the caller
// counts the drop); the ring never grows. Inline: one push and one pop per frame.
class TxQueue {
 public:
  explicit TxQueue(size_t capacity) : ring_(capacity) {}
  bool push(uint32_t ifindex, buf::Packet packet) {
    if (count_ == ring_.size()) return false;
    size_t at = head_ + count_;
    if (at >= ring_.size()) at -= ring_.size();
    Frame& slot = ring_[at];
    slot.ifindex = ifindex;
    slot.packet = std::move(packet);
    ++count_;
    return true;
  }
  // Moves up to out.size() frames into out, oldest first; returns how many.
  size_t pop_burst(std::span<Frame> out) {
    const size_t n = std::min(out.size(), count_);
    for (size_t i = 0; i < n; ++i) {
      out[i] = std::move(ring_[head_]);
      if (++head_ == ring_.size()) head_ = 0;
    }
    count_ -= n;
    return n;
  }
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  size_t capacity() const { return ring_.size(); }

 private:
  std::vector<Frame> ring_;
  size_t head_ = 0;
  size_t count_ = 0;
};

}  // namespace joyride::core
