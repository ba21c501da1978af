#include "joyride/core/ipv4_reassembler.h"

#include <algorithm>
#include <cassert>
#include <iterator>

namespace joyride::core {
namespace {

// RFC 791 §3.1: "Total Length is the length of the datagram, measured in octets,
// including internet header and data." It is a 16-bit field.
constexpr uint32_t kMaxDatagramLen = 0xffff;

// The splitmix64 finaliser: every input bit reaches every output bit.
constexpr uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

}  // namespace

size_t Ipv4Reassembler::KeyHash::operator()(const Key& k) const noexcept {
  const uint64_t addresses = (uint64_t{k.src} << 32) | k.dst;
  const uint64_t rest = (uint64_t{k.ident} << 8) | k.protocol;
  return static_cast<size_t>(mix64(mix64(addresses ^ seed) ^ rest ^ (seed >> 17)));
}

Ipv4Reassembler::Datagram::Datagram(Ipv4Reassembler* owner_in, const Key& key_in)
    : owner(owner_in), key(key_in), timer(&Ipv4Reassembler::on_timer, this) {}

Ipv4Reassembler::Ipv4Reassembler(const ReassemblyConfig& config, base::TimerWheel& timers,
                                 ReassemblyTimeoutListener* listener)
    : config_(config),
      timers_(timers),
      listener_(listener),
      datagrams_(/*bucket_count=*/16, KeyHash{config.hash_seed}) {}

// Destroying the table destroys each datagram's Timer, which cancels it.
Ipv4Reassembler::~Ipv4Reassembler() = default;

size_t Ipv4Reassembler::datagrams_in_progress() const { return datagrams_.size(); }
size_t Ipv4Reassembler::bytes_held() const { return bytes_held_; }

size_t Ipv4Reassembler::truesize_of(const buf::Packet& p) {
  size_t n = 0;
  for (const buf::Segment* s = p.head(); s != nullptr; s = s->next) n += s->capacity;
  return n;
}

std::optional<ReassembledDatagram> Ipv4Reassembler::input(const wire::Ipv4Repr& header,
                                                          buf::Packet fragment, base::Instant now) {
  if (header.is_fragment()) counters_.inc(ReassemblyCounter::kFragmentsReceived);
  // The Packet must hold what the header says (the parser saw the same bytes).
  if (fragment.len() < header.total_len()) {
    counters_.inc(ReassemblyCounter::kDropBadFragment);
    return std::nullopt;
  }
  // Link padding (e.g. Ethernet's 60-byte minimum) is not part of the datagram.
  fragment.trim_back(fragment.len() - header.total_len());
  if (!header.is_fragment()) {
    fragment.trim_front(header.header_len);
    return ReassembledDatagram{header, std::move(fragment)};
  }

  const uint32_t offset = header.frag_offset;
  const uint32_t end = offset + header.payload_len;
  const bool last = !header.more_fragments;
  // RFC 791: every fragment but the last carries a multiple of 8 octets (the offset
  // unit), and an empty non-final fragment carries nothing to reassemble.
  if (!last && (header.payload_len == 0 || header.payload_len % 8 != 0)) {
    counters_.inc(ReassemblyCounter::kDropBadFragment);
    return std::nullopt;
  }
  if (header.header_len + end > kMaxDatagramLen) {
    counters_.inc(ReassemblyCounter::kDropTooLong);
    return std::nullopt;
  }
  // The first fragment keeps its header (quoted on timeout); the others hold payload.
  if (offset != 0) fragment.trim_front(header.header_len);
  // An empty final fragment only fixes the length; nothing of it is held.
  const size_t truesize = offset == end ? 0 : truesize_of(fragment);

  const Key key{header.src.value(), header.dst.value(), header.ident, header.protocol};
  auto it = datagrams_.find(key);
  if (it == datagrams_.end()) {
    if (config_.max_datagrams == 0) {
      counters_.inc(ReassemblyCounter::kDropTooManyDatagrams);
      return std::nullopt;
    }
    if (!make_room(key.src, truesize, true, nullptr)) {
      counters_.inc(ReassemblyCounter::kDropMemoryLimit);
      return std::nullopt;
    }
    it = datagrams_.try_emplace(key, this, key).first;
    Datagram& d = it->second;
    d.age_pos = age_.insert(age_.end(), &d);
    auto& source = sources_[key.src].datagrams;
    d.source_pos = source.insert(source.end(), &d);
    timers_.arm(d.timer, now + config_.timeout);
  } else {
    switch (classify(it->second, offset, end, last)) {
      case Verdict::kInsert:
        break;
      case Verdict::kDuplicate:
        counters_.inc(ReassemblyCounter::kDropDuplicate);
        return std::nullopt;
      case Verdict::kOverlap:
        discard(it, ReassemblyCounter::kDropOverlap);
        return std::nullopt;
      case Verdict::kInconsistentEnd:
        discard(it, ReassemblyCounter::kDropInconsistentEnd);
        return std::nullopt;
    }
    if (!make_room(key.src, truesize, false, &it->second)) {
      counters_.inc(ReassemblyCounter::kDropMemoryLimit);
      return std::nullopt;
    }
  }

  Datagram& d = it->second;
  insert(d, header, end, std::move(fragment), truesize);
  // Held ranges are disjoint and inside [0, total_len), so they cover it exactly when
  // their lengths add up to it: no hole is left.
  if (d.have_last && d.received == d.total_len) return complete(it);
  return std::nullopt;
}

// Where [offset, end) goes among the held ranges, given the rules in the header.
Ipv4Reassembler::Verdict Ipv4Reassembler::classify(const Datagram& d, uint32_t offset, uint32_t end,
                                                   bool last) {
  // RFC 791 fixes the datagram's length with the final fragment; Linux discards a
  // queue whose fragments contradict it (a second, different end, or data past it).
  if (last) {
    if (d.have_last && end != d.total_len) return Verdict::kInconsistentEnd;
    if (!d.have_last && !d.fragments.empty() && d.fragments.back().end > end) {
      return Verdict::kInconsistentEnd;
    }
  } else if (d.have_last && end > d.total_len) {
    return Verdict::kInconsistentEnd;
  }
  if (offset == end) return d.have_last ? Verdict::kDuplicate : Verdict::kInsert;

  const auto next = std::lower_bound(d.fragments.begin(), d.fragments.end(), offset,
                                     [](const Fragment& f, uint32_t o) { return f.offset < o; });
  if (next != d.fragments.end()) {
    if (next->offset == offset && next->end == end) return Verdict::kDuplicate;
    if (next->offset < end) return Verdict::kOverlap;
  }
  if (next != d.fragments.begin() && std::prev(next)->end > offset) return Verdict::kOverlap;
  return Verdict::kInsert;
}

void Ipv4Reassembler::insert(Datagram& d, const wire::Ipv4Repr& header, uint32_t end,
                             buf::Packet packet, size_t truesize) {
  const uint32_t offset = header.frag_offset;
  if (!header.more_fragments) {
    d.have_last = true;
    d.total_len = end;
  }
  if (offset == end) return;  // an empty final fragment: the Packet is freed here
  if (offset == 0) d.first_header = header;
  const auto pos = std::lower_bound(d.fragments.begin(), d.fragments.end(), offset,
                                    [](const Fragment& f, uint32_t o) { return f.offset < o; });
  d.fragments.insert(pos, Fragment{offset, end, std::move(packet)});
  d.received += end - offset;
  d.truesize += truesize;
  bytes_held_ += truesize;
  sources_[d.key.src].bytes += truesize;
}

bool Ipv4Reassembler::make_room(uint32_t src, size_t bytes, bool new_datagram, const Datagram* keep) {
  // The oldest datagram of `list` that is not `keep`, or nullptr.
  auto oldest = [keep](const std::list<Datagram*>& list) -> Datagram* {
    for (Datagram* d : list) {
      if (d != keep) return d;
    }
    return nullptr;
  };
  // Room is made only at a cap, so one source alone may use all of it. There, a
  // source holding half of either cap pays with its own oldest datagrams (a flooding
  // source evicts only itself); any other takes the oldest of all.
  while (bytes_held_ + bytes > config_.max_bytes || (new_datagram && datagrams_.size() >= config_.max_datagrams)) {
    Datagram* victim = nullptr;
    ReassemblyCounter reason = ReassemblyCounter::kEvictedOldest;
    if (auto s = sources_.find(src); s != sources_.end()) {
      const bool over_share = s->second.bytes >= config_.max_bytes / 2 ||
                              s->second.datagrams.size() >= std::max<size_t>(1, config_.max_datagrams / 2);
      if (over_share) {
        victim = oldest(s->second.datagrams);
        reason = ReassemblyCounter::kEvictedSourceShare;
      }
    }
    if (victim == nullptr) victim = oldest(age_);
    if (victim == nullptr) return false;  // only `keep` is held, and it does not fit
    evict(victim, reason);
  }
  return true;
}

void Ipv4Reassembler::unlink(Datagram& d) {
  bytes_held_ -= d.truesize;
  age_.erase(d.age_pos);
  auto s = sources_.find(d.key.src);
  assert(s != sources_.end());
  s->second.bytes -= d.truesize;
  s->second.datagrams.erase(d.source_pos);
  if (s->second.datagrams.empty()) sources_.erase(s);
}

void Ipv4Reassembler::evict(Datagram* d, ReassemblyCounter reason) {
  auto it = datagrams_.find(d->key);
  assert(it != datagrams_.end() && &it->second == d);
  discard(it, reason);
}

std::optional<ReassembledDatagram> Ipv4Reassembler::complete(Table::iterator it) {
  Datagram& d = it->second;
  // Complete means [0, total_len) is covered, total_len > 0, so offset 0 is held.
  assert(d.first_header.has_value() && !d.fragments.empty() && d.fragments.front().offset == 0);
  wire::Ipv4Repr header = *d.first_header;
  if (header.header_len + d.total_len > kMaxDatagramLen) {
    discard(it, ReassemblyCounter::kDropTooLong);
    return std::nullopt;
  }
  header.more_fragments = false;
  header.frag_offset = 0;
  header.payload_len = static_cast<uint16_t>(d.total_len);

  buf::Packet payload = std::move(d.fragments.front().packet);
  payload.trim_front(header.header_len);
  for (size_t i = 1; i < d.fragments.size(); ++i) payload.chain(std::move(d.fragments[i].packet));

  unlink(d);
  datagrams_.erase(it);
  counters_.inc(ReassemblyCounter::kDatagramsReassembled);
  return ReassembledDatagram{header, std::move(payload)};
}

void Ipv4Reassembler::discard(Table::iterator it, ReassemblyCounter reason) {
  unlink(it->second);
  counters_.inc(reason);
  datagrams_.erase(it);  // frees the fragments and cancels the timer
}

void Ipv4Reassembler::on_timer(void* context, base::Instant now) {
  Datagram* d = static_cast<Datagram*>(context);
  d->owner->expire(*d, now);
}

void Ipv4Reassembler::expire(Datagram& d, base::Instant now) {
  // Out of the table first, so the listener sees consistent state (and may even feed
  // this reassembler); the datagram, its timer included, dies at the end of scope,
  // which the timer wheel allows from inside the timer's own callback.
  auto node = datagrams_.extract(d.key);
  assert(!node.empty() && &node.mapped() == &d);
  unlink(d);
  counters_.inc(ReassemblyCounter::kDropTimeout);
  // RFC 792 / RFC 1122 §3.3.2: time exceeded (code 1) only when fragment zero arrived.
  if (listener_ != nullptr && d.first_header.has_value()) {
    listener_->on_reassembly_timeout(*d.first_header, d.fragments.front().packet, now);
  }
}

}  // namespace joyride::core
