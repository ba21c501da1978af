// A byte ring over storage someone else owns: the socket send and receive buffers.
//
// Why borrowed storage. In service mode a socket's buffers live in the application's
// shared-memory region, so the ring must not allocate: it is handed a span (by a
// BufferProvider, see buffer_provider.h) and only keeps indices into it. Buffer
// auto-tuning (Linux's tcp_rcv_space_adjust / send-buffer growth) asks the provider
// for a bigger span and calls migrate(); the old span comes back to be released.
//
// Layout. `head` is the index of the first held byte; the held bytes run `size`
// bytes from there, wrapping at capacity. Any capacity > 0 works (no power-of-two
// mask), so a provider can hand out exactly what the socket option asked for.
//
//   storage |####......########|      held = [head, cap) + [0, head+size-cap)
//           0   ^tail  ^head   cap
//
// When the ring becomes empty through read()/consume(), head returns to 0 so the
// next write sees one contiguous free span (fewer split copies and checksums).
//
// Zero-copy. readable(offset, n) gives the held bytes [offset, offset+n) as at most
// two spans, for transmitting straight out of the send buffer and for checksumming;
// writable() + commit(n) let a receiver (or a copy from a packet chain) write in
// place. Offsets are always from the front of the held bytes (for a send buffer:
// from snd_una).
//
// The index arithmetic is inline (it runs for every segment sent and received); the
// copies are in byte_ring.cc. Not thread-safe; one owner (the socket's shard).
#pragma once

#include <algorithm>
#include <array>
#include <cassert>
#include <cstddef>
#include <cstring>
#include <cstdint>
#include <span>

namespace joyride::base {

class ByteRing {
 public:
  ByteRing() = default;  // no storage: capacity 0, every write stores nothing
  explicit ByteRing(std::span<uint8_t> storage) : storage_(storage) {}

  size_t capacity() const { return storage_.size(); }
  size_t size() const { return size_; }
  size_t free() const { return storage_.size() - size_; }
  bool empty() const { return size_ == 0; }
  std::span<uint8_t> storage() const { return storage_; }

  // Appends as much of `data` as fits; returns how many bytes were stored. Inline when
  // it fits before the end of the storage (one copy: every send() of a bulk writer).
  size_t write(std::span<const uint8_t> data) {
    const size_t tail = index(size_);
    if (data.size() <= free() && data.size() <= storage_.size() - tail) {
      if (!data.empty()) std::memcpy(storage_.data() + tail, data.data(), data.size());
      size_ += data.size();
      return data.size();
    }
    return write_wrapping(data);
  }
  // Copies up to out.size() bytes from the front into `out` and consumes them. Inline
  // when the bytes read do not wrap (one copy: every read of a bulk reader but one
  // per lap of the ring).
  size_t read(std::span<uint8_t> out) {
    const size_t n = std::min(out.size(), size_);
    if (n > storage_.size() - head_) return read_wrapping(out);
    if (n != 0) std::memcpy(out.data(), storage_.data() + head_, n);
    consume(n);
    return n;
  }
  // Copies up to out.size() bytes starting at front+offset, consuming nothing.
  // Returns the count (0 when offset >= size()).
  size_t peek(size_t offset, std::span<uint8_t> out) const;
  // Drops n bytes from the front; n <= size() (asserted).
  void consume(size_t n) {
    assert(n <= size_ && "ByteRing::consume past the held bytes");
    n = std::min(n, size_);
    size_ -= n;
    // Empty: restart at 0 so the free space is one span again.
    head_ = size_ == 0 ? 0 : index(n);
  }

  // The held bytes [offset, offset+n) as at most two contiguous spans (the second is
  // empty unless the range wraps). n is clamped to what is held past offset; both
  // spans are empty when offset >= size().
  std::array<std::span<const uint8_t>, 2> readable(size_t offset, size_t n) const {
    if (offset >= size_) return {};
    n = std::min(n, size_ - offset);
    const size_t start = index(offset);
    const size_t first = std::min(n, storage_.size() - start);
    return {std::span<const uint8_t>(storage_.data() + start, first),
            std::span<const uint8_t>(storage_.data(), n - first)};
  }
  // The free space, in order, as at most two spans; write into them and then
  // commit(n) to make the first n of those bytes held.
  std::array<std::span<uint8_t>, 2> writable() {
    const size_t n = free();
    if (n == 0) return {};
    const size_t tail = index(size_);
    const size_t first = std::min(n, storage_.size() - tail);
    return {storage_.subspan(tail, first), storage_.first(n - first)};
  }
  // n <= free() (asserted).
  void commit(size_t n) {
    assert(n <= free() && "ByteRing::commit past the free space");
    size_ += std::min(n, free());
  }

  // Copies the held bytes to the start of `new_storage` (its size >= size(),
  // asserted; it must not overlap the current storage) and uses it from now on.
  // Returns the previous storage so the caller can give it back to its provider.
  std::span<uint8_t> migrate(std::span<uint8_t> new_storage);
  // Forgets the held bytes; keeps the storage.
  void clear();

 private:
  size_t write_wrapping(std::span<const uint8_t> data);  // write() in the general case
  size_t read_wrapping(std::span<uint8_t> out);          // read() in the general case
  // Storage index of the byte `offset` past the front; offset <= capacity.
  size_t index(size_t offset) const {
    const size_t i = head_ + offset;
    return i >= storage_.size() ? i - storage_.size() : i;
  }

  std::span<uint8_t> storage_{};
  size_t head_ = 0;  // storage index of the first held byte (< capacity when capacity > 0)
  size_t size_ = 0;
};

}  // namespace joyride::base
