#include "joyride/base/byte_ring.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace joyride::base {

size_t ByteRing::write(std::span<const uint8_t> data) {
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

size_t ByteRing::read(std::span<uint8_t> out) {
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

void ByteRing::consume(size_t n) {
  assert(n <= size_ && "ByteRing::consume past the held bytes");
  n = std::min(n, size_);
  size_ -= n;
  // Empty: restart at 0 so the free space is one span again.
  head_ = size_ == 0 ? 0 : index(n);
}

std::array<std::span<const uint8_t>, 2> ByteRing::readable(size_t offset, size_t n) const {
  if (offset >= size_) return {};
  n = std::min(n, size_ - offset);
  const size_t start = index(offset);
  const size_t first = std::min(n, storage_.size() - start);
  return {std::span<const uint8_t>(storage_.data() + start, first),
          std::span<const uint8_t>(storage_.data(), n - first)};
}

std::array<std::span<uint8_t>, 2> ByteRing::writable() {
  const size_t n = free();
  if (n == 0) return {};
  const size_t tail = index(size_);
  const size_t first = std::min(n, storage_.size() - tail);
  return {storage_.subspan(tail, first), storage_.first(n - first)};
}

void ByteRing::commit(size_t n) {
  assert(n <= free() && "ByteRing::commit past the free space");
  size_ += std::min(n, free());
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
