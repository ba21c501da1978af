#include "joyride/core/socket.h"

namespace joyride::core {

void ReadinessQueue::queue(SocketId s, uint32_t readiness) {
  uint32_t& at = position(s);
  if (at != kNone) {
    // The slot was reused by a newer socket while the old one's event was pending
    // (close without forget): the old event is dropped, the new one queued.
    pending_[at].socket = SocketId{};
    --live_;
  }
  at = static_cast<uint32_t>(pending_.size());
  pending_.push_back(SocketEvent{s, readiness});
  ++live_;
}

size_t ReadinessQueue::take(std::span<SocketEvent> out) {
  size_t n = 0;
  while (n < out.size() && taken_ < pending_.size()) {
    const SocketEvent& e = pending_[taken_++];
    if (!e.socket.valid()) continue;  // forgotten
    position(e.socket) = kNone;
    out[n++] = e;
    --live_;
  }
  if (taken_ == pending_.size()) {
    pending_.clear();
    taken_ = 0;
  }
  return n;
}

void ReadinessQueue::forget(SocketId s) {
  if (!s.valid()) return;
  uint32_t& at = position(s);
  if (at == kNone || !(pending_[at].socket == s)) return;
  pending_[at].socket = SocketId{};
  at = kNone;
  --live_;
}

}  // namespace joyride::core
