#include "joyride/core/socket.h"

#include <algorithm>

namespace joyride::core {

void ReadinessQueue::mark(SocketId s, uint32_t readiness) {
  for (size_t i = taken_; i < pending_.size(); ++i) {
    if (pending_[i].socket == s) {
      pending_[i].readiness = readiness;
      return;
    }
  }
  pending_.push_back(SocketEvent{s, readiness});
}

size_t ReadinessQueue::take(std::span<SocketEvent> out) {
  size_t n = 0;
  while (n < out.size() && taken_ < pending_.size()) out[n++] = pending_[taken_++];
  if (taken_ == pending_.size()) {
    pending_.clear();
    taken_ = 0;
  }
  return n;
}

void ReadinessQueue::forget(SocketId s) {
  auto first = pending_.begin() + static_cast<std::ptrdiff_t>(taken_);
  pending_.erase(std::remove_if(first, pending_.end(), [&](const SocketEvent& e) { return e.socket == s; }),
                 pending_.end());
}

}  // namespace joyride::core
