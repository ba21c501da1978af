#include "joyride/buf/heap_pool.h"

#include <cassert>

namespace joyride::buf {

HeapPacketPool::HeapPacketPool(uint32_t segments, uint32_t segment_capacity, uint32_t descriptors)
    : segments_(segments),
      capacity_(segment_capacity),
      storage_(new uint8_t[static_cast<size_t>(segments) * segment_capacity]),
      direct_(new Segment[segments]),
      indirect_(new Segment[descriptors]) {
  free_direct_.reserve(segments);
  free_indirect_.reserve(descriptors);
  // Pushed in reverse so allocation hands out blocks in address order (nicer to debug).
  for (uint32_t i = segments; i-- > 0;) {
    Segment& s = direct_[i];
    s.base = storage_.get() + static_cast<size_t>(i) * segment_capacity;
    s.capacity = segment_capacity;
    s.pool = this;
    free_direct_.push_back(&s);
  }
  for (uint32_t i = descriptors; i-- > 0;) {
    indirect_[i].pool = this;
    free_indirect_.push_back(&indirect_[i]);
  }
}

HeapPacketPool::~HeapPacketPool() {
  // Every packet must be gone before its pool: a packet outliving its pool would
  // write into freed memory when dropped.
  assert(free_direct_.size() == segments_ && "packets outlived their pool");
}

Packet HeapPacketPool::alloc(uint32_t headroom) {
  if (free_direct_.empty() || headroom > capacity_) {
    ++alloc_failures_;
    return Packet();
  }
  Segment* s = free_direct_.back();
  free_direct_.pop_back();
  s->data_off = headroom;
  s->data_len = 0;
  s->pkt_len = 0;
  s->next = nullptr;
  s->storage = s;
  s->refcnt = 1;
  return Packet(s);
}

Segment* HeapPacketPool::alloc_descriptor() {
  if (free_indirect_.empty()) {
    ++alloc_failures_;
    return nullptr;
  }
  Segment* s = free_indirect_.back();
  free_indirect_.pop_back();
  s->next = nullptr;
  s->pkt_len = 0;
  return s;
}

void HeapPacketPool::release(Segment* s) {
  const bool direct = s >= direct_.get() && s < direct_.get() + segments_;
  s->next = nullptr;
  if (direct) {
    s->storage = s;
    s->refcnt = 0;
    free_direct_.push_back(s);
  } else {
    s->storage = s;
    s->base = nullptr;
    free_indirect_.push_back(s);
  }
}

}  // namespace joyride::buf
