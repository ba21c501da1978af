#include "joyride/base/byte_ring.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace joyride::base {

size_t ByteRing::write_wrapping(std::span<const uint8_t> data) {
  const auto spans = writable();
  size_t done = 0;
  for (const std::span<uint8_t> s : spans) {
    const size_t n = std::min(s.size(), data.size() - done);
    if (n != 0) std::memcpy(s.data(), data.data() + done, n);
    done += n;
  }
  size_ += done;
  return done;
}

size_t ByteRing::read_wrapping(std::span<uint8_t> out) {
  const size_t n = peek(0, out);
  consume(n);
  return n;
}

size_t ByteRing::peek(size_t offset, std::span<uint8_t> out) const {
  const auto spans = readable(offset, out.size());
  size_t done = 0;
  for (const std::span<const uint8_t> s : spans) {
    if (!s.empty()) std::memcpy(out.data() + done, s.data(), s.size());
    done += s.size();
  }
  return done;
}

std::span<uint8_t> ByteRing::migrate(std::span<uint8_t> new_storage) {
  assert(new_storage.size() >= size_ && "ByteRing::migrate into storage smaller than the held bytes");
  // (Release builds keep what fits rather than index past the new storage.)
  const size_t n = peek(0, new_storage);
  const std::span<uint8_t> old = storage_;
  storage_ = new_storage;
  head_ = 0;
  size_ = n;
  return old;
}

void ByteRing::clear() {
  head_ = 0;
  size_ = 0;
}

}  // namespace joyride::base
