// The socket buffers of one application's stack instance, carved from the buffer
// area of its shared-memory region (ipc/region.h): the instance's BufferProvider, so
// the area's size is the application's buffer budget and its socket memory is part
// of its region (freed with it, shown with it).
//
// A buddy allocator over page-sized units: a request is rounded up to a power of two
// pages (at least one page, at most max_block; larger requests are refused, as a
// budget would refuse them), split from the smallest free block that fits, and merged
// with its buddy when released. Released blocks go back to the system (MADV_REMOVE on
// the region's memfd), so memory is committed only while a socket holds it, and a
// block is all zeros when handed out again (as HeapBufferProvider's are).
//
// Only the service allocates and releases; the app can write the bytes of its own
// sockets' rings (its own data) but never the allocator's state, which lives here.
// Allocation happens when a socket gets or grows its rings, never per packet.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <set>
#include <span>
#include <unordered_map>

#include "joyride/base/buffer_provider.h"

namespace joyride::service {

class RegionBuffers final : public base::BufferProvider {
 public:
  static constexpr size_t kPage = 4096;
  static constexpr int kMaxOrders = 24;  // pages << 23: 32 GiB blocks, far above any ring

  // [base, base + bytes) of a mapping; bytes a multiple of kPage. max_block: the
  // largest block one request may take (rounded up to a power of two pages).
  RegionBuffers(uint8_t* base, uint64_t bytes, uint64_t max_block);
  RegionBuffers(const RegionBuffers&) = delete;
  RegionBuffers& operator=(const RegionBuffers&) = delete;

  std::span<uint8_t> allocate(size_t bytes) override;
  void release(std::span<uint8_t> storage) override;

  uint64_t area_bytes() const { return bytes_; }
  uint64_t outstanding_bytes() const { return outstanding_; }  // whole blocks held
  uint64_t failures() const { return failures_; }

 private:
  // The order of a request: the power of two pages it takes; -1 when too big.
  int order_for(size_t bytes) const;
  void add_free(uint64_t page, int order) { free_[order].insert(page); }

  uint8_t* base_;
  uint64_t bytes_;
  int max_order_;
  std::array<std::set<uint64_t>, kMaxOrders> free_;  // free blocks' first page, per order
  std::unordered_map<uint64_t, int> held_;            // a held block's first page -> order
  uint64_t outstanding_ = 0;
  uint64_t failures_ = 0;
};

}  // namespace joyride::service
