// A PacketPool over plain memory: a fixed number of fixed-size storage blocks and
// descriptors carved from one allocation at construction, then recycled through
// free lists. No allocation after construction; exhaustion is reported, not hidden.
#pragma once

#include <cstdint>
#include <memory>

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
  uint32_t available_segments() const { return free_direct_count_; }
  uint32_t total_descriptors() const { return descriptors_; }
  uint32_t available_descriptors() const { return free_indirect_count_; }

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
  // Free lists as stacks in arrays sized at construction: a release is a store and an
  // increment (a vector's push_back would carry its growth path into every release).
  std::unique_ptr<Segment*[]> free_direct_;
  std::unique_ptr<Segment*[]> free_indirect_;
  uint32_t free_direct_count_ = 0;
  uint32_t free_indirect_count_ = 0;
};

}  // namespace joyride::buf
