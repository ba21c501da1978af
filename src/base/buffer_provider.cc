#include "joyride/base/buffer_provider.h"

#include <cassert>

namespace joyride::base {

std::span<uint8_t> HeapBufferProvider::allocate(size_t bytes) {
  if (bytes == 0) return {};
  // Written as a subtraction so a huge request cannot overflow the sum.
  if (budget_ != 0 && bytes > budget_ - outstanding_bytes_) {
    ++failures_;
    return {};
  }
  Block block{std::make_unique<uint8_t[]>(bytes), bytes};  // value-initialized: zeroed
  uint8_t* p = block.bytes.get();
  blocks_.emplace(p, std::move(block));
  outstanding_bytes_ += bytes;
  return {p, bytes};
}

void HeapBufferProvider::release(std::span<uint8_t> storage) {
  if (storage.empty()) return;
  const auto it = blocks_.find(storage.data());
  const bool known = it != blocks_.end() && it->second.size == storage.size();
  assert(known && "HeapBufferProvider::release of a span it did not hand out");
  if (!known) return;
  outstanding_bytes_ -= it->second.size;
  blocks_.erase(it);
}

}  // namespace joyride::base
