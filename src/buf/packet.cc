#include "joyride/buf/packet.h"

#include <algorithm>
#include <cstring>

namespace joyride::buf {

void Packet::free_segment(Segment* s) {
  Segment* owner = s->storage;
  if (owner != s) {
    s->pool->release(s);  // the indirect descriptor itself
  }
  if (--owner->refcnt == 0) owner->pool->release(owner);
}

void Packet::reset() {
  Segment* s = head_;
  head_ = nullptr;
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

uint8_t* Packet::prepend(size_t n) {
  if (n > head_->data_off || !head_->writable()) return nullptr;
  head_->data_off -= static_cast<uint32_t>(n);
  head_->data_len += static_cast<uint32_t>(n);
  head_->pkt_len += static_cast<uint32_t>(n);
  return head_->data();
}

uint8_t* Packet::append(size_t n) {
  Segment* tail = last();
  if (n > tail->tailroom() || !tail->writable()) return nullptr;
  uint8_t* out = tail->data() + tail->data_len;
  tail->data_len += static_cast<uint32_t>(n);
  head_->pkt_len += static_cast<uint32_t>(n);
  return out;
}

bool Packet::trim_front(size_t n) {
  if (n > len()) return false;
  const uint32_t total = head_->pkt_len - static_cast<uint32_t>(n);
  // Free leading segments that the trim empties, but always keep one segment.
  while (head_->next != nullptr && n >= head_->data_len) {
    n -= head_->data_len;
    Segment* next = head_->next;
    head_->next = nullptr;
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
  size_t keep = len() - n;
  head_->pkt_len = static_cast<uint32_t>(keep);
  Segment* s = head_;
  while (keep > s->data_len && s->next != nullptr) {
    keep -= s->data_len;
    s = s->next;
  }
  s->data_len = static_cast<uint32_t>(keep);
  Segment* rest = s->next;
  s->next = nullptr;
  while (rest != nullptr) {
    Segment* next = rest->next;
    free_segment(rest);
    rest = next;
  }
  return true;
}

bool Packet::copy_out(size_t offset, std::span<uint8_t> out) const {
  if (head_ == nullptr || offset > len() || out.size() > len() - offset) return false;
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

bool Packet::append_bytes(std::span<const uint8_t> bytes, PacketPool& pool) {
  size_t done = 0;
  Segment* tail = last();
  while (done < bytes.size()) {
    if (tail->tailroom() == 0 || !tail->writable()) {
      Packet more = pool.alloc(0);
      if (more.empty()) return false;
      Segment* seg = more.release();
      tail->next = seg;
      tail = seg;
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
  if (tail.empty()) return;
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
  if (!out.empty()) out.head_->pkt_len = head_->pkt_len;
  return out;
}

Packet Packet::copy(PacketPool& pool, uint32_t headroom) const {
  Packet out = pool.alloc(headroom);
  if (out.empty()) return out;
  bool ok = true;
  for_each_segment([&](std::span<const uint8_t> bytes) { ok = ok && out.append_bytes(bytes, pool); });
  if (!ok) return Packet();
  return out;
}

}  // namespace joyride::buf
