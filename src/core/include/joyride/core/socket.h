// Socket handles and readiness, shared by every socket kind of a stack instance.
//
// A SocketId is an index into a slab plus a generation, so a handle kept after
// close() (an app's stale fd, a lying app) is recognised as stale instead of
// reaching whatever socket reused the slot.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "joyride/wire/address.h"

namespace joyride::core {

enum class SocketKind : uint8_t { kUdp, kPing, kTcp };

struct SocketId {
  uint32_t index = std::numeric_limits<uint32_t>::max();
  uint32_t generation = 0;
  SocketKind kind = SocketKind::kUdp;
  bool valid() const { return index != std::numeric_limits<uint32_t>::max(); }
  bool operator==(const SocketId&) const = default;
};

struct Endpoint {
  wire::IpAddress address;
  uint16_t port = 0;
  bool operator==(const Endpoint&) const = default;
};

// Readiness bits, as poll(2) would report them.
enum Readiness : uint32_t {
  kReadable = 1u << 0,
  kWritable = 1u << 1,
  kError = 1u << 2,
  kHangup = 1u << 3,
};

struct SocketEvent {
  SocketId socket;
  uint32_t readiness = 0;
};

// Sockets whose readiness changed since the host last looked. Each socket appears
// at most once however often it changes (the host reads its current readiness), so
// the queue is bounded by the number of sockets. mark() and forget() are O(1): a
// pending socket's position is kept in a table indexed by slot (a queue of thousands
// of connections must not be scanned, nor a hash map probed, per packet).
//
// mark() queues an event (or updates the pending one); update() only refreshes a
// pending event and never queues one: for a change that clears bits, which no host
// needs to be woken for (epoll reports no falling edges) but which an event not yet
// taken must not contradict. Both are inline for the pending case: a bulk transfer
// marks its socket on every segment while the host is busy elsewhere.
class ReadinessQueue {
 public:
  void mark(SocketId s, uint32_t readiness) {
    if (SocketEvent* e = pending(s)) {
      e->readiness = readiness;
      return;
    }
    queue(s, readiness);
  }
  void update(SocketId s, uint32_t readiness) {
    if (SocketEvent* e = pending(s)) e->readiness = readiness;
  }
  // Moves up to out.size() events into out, oldest first; returns how many.
  size_t take(std::span<SocketEvent> out);
  size_t size() const { return live_; }
  // A closed socket's pending event must not outlive it.
  void forget(SocketId s);

 private:
  static constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
  // s's event if one is queued and not yet taken, else nullptr.
  SocketEvent* pending(SocketId s) {
    const auto& v = position_[static_cast<uint8_t>(s.kind)];
    if (s.index >= v.size() || v[s.index] == kNone) return nullptr;
    SocketEvent& e = pending_[v[s.index]];
    return e.socket == s ? &e : nullptr;
  }
  void queue(SocketId s, uint32_t readiness);  // mark() without a pending event
  // The position of s's pending event in pending_, or kNone; grows with the slab.
  uint32_t& position(SocketId s) {
    auto& v = position_[static_cast<uint8_t>(s.kind)];
    if (s.index >= v.size()) v.resize(size_t{s.index} + 1 + v.size() / 2, kNone);
    return v[s.index];
  }

  std::vector<SocketEvent> pending_;  // forgotten entries stay as invalid SocketIds until taken
  size_t taken_ = 0;
  size_t live_ = 0;
  std::array<std::vector<uint32_t>, 3> position_;  // per SocketKind, by slot index
};

}  // namespace joyride::core
