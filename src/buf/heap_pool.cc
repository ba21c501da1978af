#include "joyride/buf/heap_pool.h"

#include <cassert>
#include <cstdio>

namespace joyride::buf {

HeapPacketPool::HeapPacketPool(uint32_t segments, uint32_t segment_capacity, uint32_t descriptors)
    : segments_(segments),
      capacity_(segment_capacity),
      descriptors_(descriptors),
      storage_(new uint8_t[static_cast<size_t>(segments) * segment_capacity]),
      direct_(new Segment[segments]),
      indirect_(new Segment[descriptors]),
      free_direct_(new Segment*[segments]),
      free_indirect_(new Segment*[descriptors]) {
  // Pushed in reverse so allocation hands out blocks in address order (nicer to debug).
  for (uint32_t i = segments; i-- > 0;) {
    Segment& s = direct_[i];
    s.base = storage_.get() + static_cast<size_t>(i) * segment_capacity;
    s.capacity = segment_capacity;
    s.storage = &s;
    s.refcnt = 0;
    s.pool = this;
    free_direct_[free_direct_count_++] = &s;
  }
  for (uint32_t i = descriptors; i-- > 0;) {
    indirect_[i].pool = this;
    free_indirect_[free_indirect_count_++] = &indirect_[i];
  }
}

HeapPacketPool::~HeapPacketPool() {
  const size_t segments_out = segments_ - free_direct_count_;
  const size_t descriptors_out = descriptors_ - free_indirect_count_;
  if (segments_out == 0 && descriptors_out == 0) return;
  // A packet outliving its pool would write into freed memory when dropped: say so
  // loudly in every build, and stop debug builds here rather than at the later crash.
  std::fprintf(stderr,
               "joyride::buf::HeapPacketPool %p destroyed with %zu of %u segments and %zu of %u "
               "clone descriptors still in use: packets outlived their pool\n",
               static_cast<void*>(this), segments_out, segments_, descriptors_out, descriptors_);
  assert(segments_out == 0 && descriptors_out == 0 && "packets outlived their HeapPacketPool");
}

Packet HeapPacketPool::alloc(uint32_t headroom) {
  if (free_direct_count_ == 0 || headroom > capacity_) {
    count_segment_alloc_failure();
    return Packet();
  }
  Segment* s = free_direct_[--free_direct_count_];
  s->data_off = headroom;
  s->data_len = 0;
  s->pkt_len = 0;
  s->next = nullptr;
  s->storage = s;
  s->refcnt = 1;
  s->offload = 0;
  return Packet(s);
}

Segment* HeapPacketPool::alloc_descriptor() {
  if (free_indirect_count_ == 0) {
    count_descriptor_alloc_failure();
    return nullptr;
  }
  Segment* s = free_indirect_[--free_indirect_count_];
  s->next = nullptr;
  s->pkt_len = 0;
  s->offload = 0;
  return s;
}

void HeapPacketPool::release(Segment* s) {
  const bool direct = s >= direct_.get() && s < direct_.get() + segments_;
  assert(s->pool == this && (direct || (s >= indirect_.get() && s < indirect_.get() + descriptors_)));
  s->next = nullptr;
  s->storage = s;
  if (direct) {
    s->refcnt = 0;
    free_direct_[free_direct_count_++] = s;
  } else {
    s->base = nullptr;
    s->capacity = 0;
    s->data_off = s->data_len = 0;
    free_indirect_[free_indirect_count_++] = s;
  }
}

}  // namespace joyride::buf
