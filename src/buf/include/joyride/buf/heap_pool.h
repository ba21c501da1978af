// A PacketPool over plain memory: a fixed number of fixed-size storage blocks and
// descriptors carved from one allocation at construction, then recycled through
// free lists. No allocation after construction; exhaustion is reported, not hidden.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "joyride/buf/packet.h"

namespace joyride::buf {

class HeapPacketPool final : public PacketPool {
 public:
  static constexpr uint32_t kDefaultSegmentCapacity = 2048 + 128;  // like an mbuf data room

  // `segments`: storage blocks; `descriptors`: extra descriptors for indirect (cloned)
  // segments (one per cloned segment).
  //
  // Every packet (and clone) taken from the pool must be gone before the pool is: a
  // packet dropped afterwards would write into freed memory. The destructor reports
  // what is still out on stderr, and asserts in debug builds.
  HeapPacketPool(uint32_t segments, uint32_t segment_capacity = kDefaultSegmentCapacity,
                 uint32_t descriptors = 0);
  ~HeapPacketPool() override;

  Packet alloc(uint32_t headroom) override;
  uint32_t segment_capacity() const override { return capacity_; }

  uint32_t total_segments() const { return segments_; }
  uint32_t available_segments() const { return static_cast<uint32_t>(free_direct_.size()); }
  uint32_t total_descriptors() const { return descriptors_; }
  uint32_t available_descriptors() const { return static_cast<uint32_t>(free_indirect_.size()); }

 protected:
  Segment* alloc_descriptor() override;
  void release(Segment* s) override;

 private:
  uint32_t segments_;
  uint32_t capacity_;
  uint32_t descriptors_;
  std::unique_ptr<uint8_t[]> storage_;
  std::unique_ptr<Segment[]> direct_;
  std::unique_ptr<Segment[]> indirect_;
  std::vector<Segment*> free_direct_;
  std::vector<Segment*> free_indirect_;
};

}  // namespace joyride::buf
