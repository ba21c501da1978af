#include "joyride/service/region_buffers.h"

#include <sys/mman.h>

#include <bit>
#include <cassert>

namespace joyride::service {

RegionBuffers::RegionBuffers(uint8_t* base, uint64_t bytes, uint64_t max_block)
    : base_(base), bytes_(bytes - bytes % kPage) {
  const uint64_t max_pages = std::bit_ceil(std::max<uint64_t>(1, (max_block + kPage - 1) / kPage));
  max_order_ = std::min(kMaxOrders - 1, std::countr_zero(max_pages));
  // The area as the largest aligned blocks that fit, left to right.
  const uint64_t pages = bytes_ / kPage;
  for (uint64_t page = 0; page < pages;) {
    int order = max_order_;
    while (order > 0 && ((page & ((uint64_t{1} << order) - 1)) != 0 || page + (uint64_t{1} << order) > pages)) --order;
    add_free(page, order);
    page += uint64_t{1} << order;
  }
}

int RegionBuffers::order_for(size_t bytes) const {
  const uint64_t pages = std::bit_ceil((uint64_t{bytes} + kPage - 1) / kPage);
  const int order = std::countr_zero(pages);
  return order > max_order_ ? -1 : order;
}

std::span<uint8_t> RegionBuffers::allocate(size_t bytes) {
  if (bytes == 0) return {};
  const int want = order_for(bytes);
  int order = want;
  while (order >= 0 && order <= max_order_ && free_[order].empty()) ++order;
  if (want < 0 || order > max_order_) {
    ++failures_;
    return {};
  }
  // The lowest free block of the smallest order that fits, split down to size (the
  // upper halves become free blocks): low addresses first keeps the area compact.
  uint64_t page = *free_[order].begin();
  free_[order].erase(free_[order].begin());
  while (order > want) {
    --order;
    add_free(page + (uint64_t{1} << order), order);
  }
  held_[page] = want;
  outstanding_ += kPage << want;
  return {base_ + page * kPage, bytes};
}

void RegionBuffers::release(std::span<uint8_t> storage) {
  if (storage.empty()) return;
  const auto offset = static_cast<uint64_t>(storage.data() - base_);
  const auto it = offset % kPage == 0 ? held_.find(offset / kPage) : held_.end();
  const bool known = it != held_.end() && order_for(storage.size()) == it->second;
  assert(known && "RegionBuffers::release of a span it did not hand out");
  if (!known) return;
  uint64_t page = it->first;
  int order = it->second;
  held_.erase(it);
  outstanding_ -= kPage << order;
  // Zeros the next user sees, and no memory committed meanwhile.
  ::madvise(base_ + page * kPage, kPage << order, MADV_REMOVE);
  // Merge with the buddy while it is free.
  while (order < max_order_) {
    const uint64_t buddy = page ^ (uint64_t{1} << order);
    auto b = free_[order].find(buddy);
    if (b == free_[order].end()) break;
    free_[order].erase(b);
    page = std::min(page, buddy);
    ++order;
  }
  add_free(page, order);
}

}  // namespace joyride::service
