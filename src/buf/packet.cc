#include "joyride/buf/packet.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace joyride::buf {

namespace {
constexpr size_t kMaxPacketLen = std::numeric_limits<uint32_t>::max();  // pkt_len is 32-bit
}  // namespace

size_t PacketPool::alloc_burst(std::span<Packet> out, uint32_t headroom) {
  size_t n = 0;
  for (; n < out.size(); ++n) {
    Packet p = alloc(headroom);
    if (p.empty()) break;
    out[n] = std::move(p);
  }
  return n;
}

// Drop one segment's hold on its storage. An indirect descriptor goes back to its pool
// at once; the storage (and its direct descriptor) goes back when its last user does.
// A direct descriptor freed while clones remain stays out of every chain until then.
[[gnu::always_inline]] inline void Packet::free_segment(Segment* s) {
  Segment* owner = s->storage;
  s->next = nullptr;
  if (owner != s) s->pool->release(s);
  if (--owner->refcnt == 0) owner->pool->release(owner);
}

void Packet::free_chain(Segment* s) {
  while (s != nullptr) {
    Segment* next = s->next;
    free_segment(s);
    s = next;
  }
}

size_t Packet::segment_count() const {
  size_t n = 0;
  for (const Segment* s = head_; s != nullptr; s = s->next) ++n;
  return n;
}

Segment* Packet::last() const {
  Segment* s = head_;
  while (s->next != nullptr) s = s->next;
  return s;
}

uint8_t* Packet::append(size_t n) {
  if (head_ == nullptr) return nullptr;
  Segment* tail = last();
  if (n > tail->tailroom() || !tail->writable() || n > kMaxPacketLen - len()) return nullptr;
  uint8_t* out = tail->data() + tail->data_len;
  tail->data_len += static_cast<uint32_t>(n);
  head_->pkt_len += static_cast<uint32_t>(n);
  return out;
}

bool Packet::trim_front_chain(size_t n) {
  if (n > len()) return false;
  if (n == 0) return true;
  const uint32_t total = head_->pkt_len - static_cast<uint32_t>(n);
  // Free leading segments that the trim empties, but always keep one segment.
  while (head_->next != nullptr && n >= head_->data_len) {
    n -= head_->data_len;
    Segment* next = head_->next;
    next->offload = head_->offload;
    next->tso_segsz = head_->tso_segsz;
    free_segment(head_);
    head_ = next;
  }
  head_->data_off += static_cast<uint32_t>(n);
  head_->data_len -= static_cast<uint32_t>(n);
  head_->pkt_len = total;
  return true;
}

bool Packet::trim_back(size_t n) {
  if (n > len()) return false;
  if (n == 0) return true;
  size_t keep = len() - n;
  head_->pkt_len = static_cast<uint32_t>(keep);
  // Find the segment holding the new last byte (the head when keep == 0).
  Segment* s = head_;
  while (keep > s->data_len) {
    keep -= s->data_len;
    s = s->next;  // non-null: keep < len() means a later segment holds the byte
  }
  s->data_len = static_cast<uint32_t>(keep);
  free_chain(std::exchange(s->next, nullptr));
  return true;
}

bool Packet::copy_out(size_t offset, std::span<uint8_t> out) const {
  if (offset > len() || out.size() > len() - offset) return false;
  size_t done = 0;
  for (const Segment* s = head_; s != nullptr && done < out.size(); s = s->next) {
    if (offset >= s->data_len) {
      offset -= s->data_len;
      continue;
    }
    const size_t n = std::min<size_t>(s->data_len - offset, out.size() - done);
    std::memcpy(out.data() + done, s->data() + offset, n);
    done += n;
    offset = 0;
  }
  return true;
}

const uint8_t* Packet::read(size_t offset, size_t n, uint8_t* scratch) const {
  if (head_ == nullptr || offset > len() || n > len() - offset) return nullptr;
  size_t rel = offset;
  const Segment* s = head_;
  while (rel >= s->data_len && s->next != nullptr) {
    rel -= s->data_len;
    s = s->next;
  }
  if (rel + n <= s->data_len) return s->data() + rel;
  copy_out(offset, std::span<uint8_t>(scratch, n));
  return scratch;
}

bool Packet::append_bytes_slow(std::span<const uint8_t> bytes, PacketPool& pool) {
  if (bytes.size() > kMaxPacketLen - len()) return false;
  if (bytes.empty()) return true;
  if (head_ == nullptr) {
    Packet fresh = pool.alloc(0);
    if (fresh.empty()) return false;
    if (!fresh.append_bytes_slow(bytes, pool)) return false;
    *this = std::move(fresh);
    return true;
  }
  // Remember where the packet ended, to undo a partial append.
  Segment* const old_tail = last();
  const uint32_t old_tail_len = old_tail->data_len;
  const uint32_t old_len = head_->pkt_len;
  size_t done = 0;
  Segment* tail = old_tail;
  while (done < bytes.size()) {
    if (tail->tailroom() == 0 || !tail->writable()) {
      Packet more = pool.alloc(0);
      if (more.empty()) {
        free_chain(std::exchange(old_tail->next, nullptr));
        old_tail->data_len = old_tail_len;
        head_->pkt_len = old_len;
        return false;
      }
      tail->next = more.release();
      tail = tail->next;
      continue;  // a zero-capacity pool makes no progress here and runs out
    }
    const size_t n = std::min<size_t>(tail->tailroom(), bytes.size() - done);
    std::memcpy(tail->data() + tail->data_len, bytes.data() + done, n);
    tail->data_len += static_cast<uint32_t>(n);
    head_->pkt_len += static_cast<uint32_t>(n);
    done += n;
  }
  return true;
}

void Packet::chain(Packet&& tail) {
  if (tail.empty() || &tail == this) return;
  if (head_ == nullptr) {
    head_ = tail.release();
    return;
  }
  const uint32_t added = tail.head_->pkt_len;
  last()->next = tail.release();
  head_->pkt_len += added;
}

Packet Packet::clone(PacketPool& pool) const {
  Packet out;
  Segment* prev = nullptr;
  for (const Segment* s = head_; s != nullptr; s = s->next) {
    Segment* d = pool.alloc_descriptor();
    if (d == nullptr) return Packet();  // `out` frees what was made so far
    d->base = s->base;
    d->capacity = s->capacity;
    d->data_off = s->data_off;
    d->data_len = s->data_len;
    d->pkt_len = 0;
    d->next = nullptr;
    d->storage = s->storage;
    d->storage->refcnt++;
    if (prev == nullptr) {
      out = Packet(d);
    } else {
      prev->next = d;
    }
    prev = d;
  }
  if (!out.empty()) {
    out.head_->pkt_len = head_->pkt_len;
    out.head_->offload = head_->offload;
    out.head_->tso_segsz = head_->tso_segsz;
  }
  return out;
}

Packet Packet::copy(PacketPool& pool, uint32_t headroom) const {
  if (head_ == nullptr) return Packet();
  Packet out = pool.alloc(headroom);
  if (out.empty()) return out;
  for (const Segment* s = head_; s != nullptr; s = s->next) {
    if (!out.append_bytes(std::span<const uint8_t>(s->data(), s->data_len), pool)) return Packet();
  }
  return out;
}

}  // namespace joyride::buf
