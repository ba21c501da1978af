// Storage for one kind of socket: a slab of slots reused through a free list, each
// with a generation that changes on every close so stale SocketIds miss.
//
// Slots live in fixed chunks of kChunk that never move (sockets hold move-only queues
// and are referred to by address), so get() is two indexings: it runs several times
// per TCP segment.
#pragma once

#include <cstdint>
#include <memory>
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
      if (used_ >= limit_) return base::Err{OpenError::kTooManySockets};
      index = used_++;
      if ((index >> kChunkBits) == chunks_.size()) chunks_.push_back(std::make_unique<Slot[]>(kChunk));
    }
    Slot& slot = at(index);
    slot.value.emplace(std::move(value));
    ++live_;
    return SocketId{index, slot.generation, kind_};
  }

  T* get(SocketId id) { return const_cast<T*>(std::as_const(*this).get(id)); }
  const T* get(SocketId id) const {
    if (id.kind != kind_ || id.index >= used_) return nullptr;
    const Slot& slot = at(id.index);
    if (slot.generation != id.generation || !slot.value) return nullptr;
    return &*slot.value;
  }

  bool erase(SocketId id) {
    if (get(id) == nullptr) return false;
    Slot& slot = at(id.index);
    slot.value.reset();
    ++slot.generation;
    free_.push_back(id.index);
    --live_;
    return true;
  }

  // f(SocketId, T&) for every live socket.
  template <typename F>
  void for_each(F&& f) {
    for (uint32_t i = 0; i < used_; ++i) {
      Slot& slot = at(i);
      if (slot.value) f(SocketId{i, slot.generation, kind_}, *slot.value);
    }
  }

  size_t size() const { return live_; }

 private:
  struct Slot {
    uint32_t generation = 0;
    std::optional<T> value;
  };
  static constexpr uint32_t kChunkBits = 6;
  static constexpr uint32_t kChunk = 1u << kChunkBits;
  Slot& at(uint32_t index) const { return chunks_[index >> kChunkBits][index & (kChunk - 1)]; }

  SocketKind kind_;
  size_t limit_;
  std::vector<std::unique_ptr<Slot[]>> chunks_;
  uint32_t used_ = 0;  // slots ever handed out: [0, used_) exist
  std::vector<uint32_t> free_;
  size_t live_ = 0;
};

}  // namespace joyride::core
