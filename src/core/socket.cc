#include "joyride/core/socket.h"

namespace joyride::core {

void ReadinessQueue::mark(SocketId s, uint32_t readiness) {
  auto [it, inserted] = position_.try_emplace(key(s), pending_.size());
  if (!inserted) {
    SocketEvent& e = pending_[it->second];
    if (e.socket == s) {
      e.readiness = readiness;
      return;
    }
    // The slot was reused by a newer socket while the old one's event was pending
    // (close without forget): the old event is dropped, the new one queued.
    e.socket = SocketId{};
    --live_;
    it->second = pending_.size();
  }
  pending_.push_back(SocketEvent{s, readiness});
  ++live_;
}

size_t ReadinessQueue::take(std::span<SocketEvent> out) {
  size_t n = 0;
  while (n < out.size() && taken_ < pending_.size()) {
    const SocketEvent& e = pending_[taken_++];
    if (!e.socket.valid()) continue;  // forgotten
    position_.erase(key(e.socket));
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
  auto it = position_.find(key(s));
  if (it == position_.end() || !(pending_[it->second].socket == s)) return;
  pending_[it->second].socket = SocketId{};
  position_.erase(it);
  --live_;
}

}  // namespace joyride::core
