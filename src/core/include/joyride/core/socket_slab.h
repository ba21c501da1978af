// Storage for one kind of socket: a slab of slots reused through a free list, each
// with a generation that changes on every close so stale SocketIds miss.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "joyride/base/result.h"
#include "joyride/core/errors.h"
#include "joyride/core/socket.h"

namespace joyride::core {

template <typename T>
class SocketSlab {
 public:
  SocketSlab(SocketKind kind, size_t limit) : kind_(kind), limit_(limit) {}

  base::Result<SocketId, OpenError> insert(T value) {
    uint32_t index;
    if (!free_.empty()) {
      index = free_.back();
      free_.pop_back();
    } else {
      if (slots_.size() >= limit_) return base::Err{OpenError::kTooManySockets};
      index = static_cast<uint32_t>(slots_.size());
      slots_.emplace_back();
    }
    Slot& slot = slots_[index];
    slot.value.emplace(std::move(value));
    ++live_;
    return SocketId{index, slot.generation, kind_};
  }

  T* get(SocketId id) { return const_cast<T*>(std::as_const(*this).get(id)); }
  const T* get(SocketId id) const {
    if (id.kind != kind_ || id.index >= slots_.size()) return nullptr;
    const Slot& slot = slots_[id.index];
    if (slot.generation != id.generation || !slot.value) return nullptr;
    return &*slot.value;
  }

  bool erase(SocketId id) {
    if (get(id) == nullptr) return false;
    Slot& slot = slots_[id.index];
    slot.value.reset();
    ++slot.generation;
    free_.push_back(id.index);
    --live_;
    return true;
  }

  // f(SocketId, T&) for every live socket.
  template <typename F>
  void for_each(F&& f) {
    for (uint32_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].value) f(SocketId{i, slots_[i].generation, kind_}, *slots_[i].value);
    }
  }

  size_t size() const { return live_; }

 private:
  struct Slot {
    uint32_t generation = 0;
    std::optional<T> value;
  };
  SocketKind kind_;
  size_t limit_;
  std::deque<Slot> slots_;  // a deque: slots never move (sockets hold move-only queues)
  std::vector<uint32_t> free_;
  size_t live_ = 0;
};

}  // namespace joyride::core
