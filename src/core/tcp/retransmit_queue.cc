#include "joyride/core/tcp/retransmit_queue.h"

#include <algorithm>
#include <cassert>

namespace joyride::core::tcp {

using base::Duration;
using base::Instant;
using base::SeqNum;
using wire::SackBlock;

namespace {

// RFC 8985 §6.2 RACK_sent_after(t1, seq1, t2, seq2): later time, or the same time
// (one burst, or pieces of one split record) and a higher end.
bool sent_after(Instant t1, SeqNum end1, Instant t2, SeqNum end2) {
  return t1 > t2 || (t1 == t2 && end1 > end2);
}

size_t round_up_pow2(size_t n) {
  size_t p = 4;
  while (p < n) p *= 2;
  return p;
}

}  // namespace

RetransmitQueue::RetransmitQueue(size_t initial_capacity) : ring_(round_up_pow2(initial_capacity)) {}

// ---- ring ----------------------------------------------------------------------------

void RetransmitQueue::grow() {
  std::vector<SentSegment> bigger(ring_.size() * 2);
  for (size_t i = 0; i < count_; ++i) bigger[i] = at(i);
  ring_.swap(bigger);
  head_ = 0;
}

void RetransmitQueue::pop_front() {
  head_ = (head_ + 1) & (ring_.size() - 1);
  --count_;
}

void RetransmitQueue::insert(size_t i, const SentSegment& s) {
  if (count_ == ring_.size()) grow();
  if (i >= count_ / 2) {
    // Shift the tail right by one.
    ++count_;
    for (size_t k = count_ - 1; k > i; --k) at(k) = at(k - 1);
  } else {
    // Shift the head left by one: the records before i move down a slot.
    head_ = (head_ + ring_.size() - 1) & (ring_.size() - 1);
    ++count_;
    for (size_t k = 0; k < i; ++k) at(k) = at(k + 1);
  }
  at(i) = s;
}

size_t RetransmitQueue::find(SeqNum s) const {
  // Offsets from snd_una are monotonic across the queue even when sequence numbers wrap.
  const uint32_t off = static_cast<uint32_t>(s - snd_una_);
  size_t lo = 0, hi = count_;  // answer in [lo, hi)
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (static_cast<uint32_t>(at(mid).begin - snd_una_) <= off) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return lo;
}

size_t RetransmitQueue::split_at(SeqNum s) {
  if (s == snd_nxt_) return count_;
  size_t i = find(s);
  if (at(i).begin == s) return i;
  SentSegment right = at(i);
  right.begin = s;
  account(at(i), -1);
  at(i).end = s;
  account(at(i), +1);
  account(right, +1);
  insert(i + 1, right);
  return i + 1;
}

// ---- counters --------------------------------------------------------------------------

void RetransmitQueue::account(const SentSegment& s, int sign) {
  const uint32_t len = s.len();
  const uint32_t delta = sign > 0 ? len : 0u - len;  // unsigned wrap subtracts
  if (s.sacked) {
    sacked_bytes_ += delta;
    sacked_segs_ += sign > 0 ? 1u : 0u - 1u;
  }
  if (s.lost) lost_bytes_ += delta;
  if (s.retransmitted) retrans_bytes_ += delta;
  if (sign > 0 && s.lost && !s.retransmitted && s.begin < lost_hint_) lost_hint_ = s.begin;
}

std::optional<SeqNum> RetransmitQueue::highest_sacked() const {
  if (sacked_segs_ == 0) return std::nullopt;
  return highest_sacked_;
}

bool RetransmitQueue::mark_lost(SentSegment& s) {
  // Linux tcp_sum_lost: a loss is counted when the record was not lost yet, or when
  // the retransmission in flight is what got lost.
  const bool counts = !s.lost || s.retransmitted;
  account(s, -1);
  s.lost = true;
  s.retransmitted = false;
  account(s, +1);
  if (counts) ++total_lost_;
  return counts;
}

// ---- sending ---------------------------------------------------------------------------

void RetransmitQueue::on_send(SeqNum begin, SeqNum end, Instant now) {
  if (!(begin < end)) return;
  if (count_ == 0) {
    // Nothing outstanding: the connection may start anywhere (a first SYN, after clear()).
    snd_una_ = snd_nxt_ = begin;
    lost_hint_ = begin;
    rack_fack_ = begin;
  } else if (begin != snd_nxt_) {
    assert(false && "on_send must continue at snd_nxt");
    return;
  }
  // RACK's early stop in rack_detect_loss() needs original sends in time order.
  if (count_ != 0 && now < last_send_) now = last_send_;
  last_send_ = now;
  SentSegment s;
  s.begin = begin;
  s.end = end;
  s.sent_at = now;
  s.first_sent_at = now;
  push_back(s);
  snd_nxt_ = end;
}

void RetransmitQueue::on_retransmit(SeqNum begin, SeqNum end, Instant now) {
  if (count_ == 0) return;
  begin = seq_max(begin, snd_una_);
  end = seq_min(end, snd_nxt_);
  if (!(begin < end)) return;
  size_t i = split_at(begin);
  while (i < count_ && at(i).begin < end) {
    if (end < at(i).end) split_at(end);
    SentSegment& s = at(i);
    if (!s.sacked) {
      account(s, -1);
      s.retransmitted = true;
      s.ever_retransmitted = true;
      s.sent_at = now;
      account(s, +1);
    }
    ++i;
  }
}

// ---- ACK processing ----------------------------------------------------------------------

inline void RetransmitQueue::deliver(const SentSegment& s, Instant now, Duration min_rtt, Delivery* d,
                                     AckResult* result) {
  if (s.ever_retransmitted) result->acked_retransmitted = true;
  // Karn: only never-retransmitted segments give unambiguous samples.
  if (!s.ever_retransmitted &&
      (!d->have_karn || sent_after(s.sent_at, s.end, d->karn_ts, d->karn_end))) {
    d->have_karn = true;
    d->karn_ts = s.sent_at;
    d->karn_end = s.end;
  }
  // RACK step 2: an ACK arriving sooner than min_rtt after a retransmission must be for
  // an earlier transmission, so it says nothing about when this one was delivered.
  const bool ambiguous = s.ever_retransmitted && now - s.sent_at < min_rtt;
  if (!ambiguous && (!d->have_rack || sent_after(s.sent_at, s.end, d->rack_ts, d->rack_end))) {
    d->have_rack = true;
    d->rack_ts = s.sent_at;
    d->rack_end = s.end;
  }
  // RACK step 3: delivered below the highest delivered sequence without having been
  // retransmitted: the network reordered.
  if (s.end > rack_fack_) {
    rack_fack_ = s.end;
  } else if (s.end < rack_fack_ && !s.ever_retransmitted) {
    reordering_seen_ = true;
  }
}

void RetransmitQueue::apply_cumulative(SeqNum ack, Instant now, Duration min_rtt, Delivery* d,
                                       AckResult* result) {
  result->acked_bytes = static_cast<uint32_t>(ack - snd_una_);
  while (count_ != 0 && at(0).end <= ack) {
    const SentSegment& s = at(0);
    if (!s.sacked) deliver(s, now, min_rtt, d, result);
    account(s, -1);
    pop_front();
  }
  if (count_ != 0 && at(0).begin < ack) {
    SentSegment& head = at(0);
    if (!head.sacked) {
      SentSegment part = head;
      part.end = ack;
      deliver(part, now, min_rtt, d, result);
    }
    account(head, -1);
    head.begin = ack;
    account(head, +1);
  }
  snd_una_ = ack;
  if (lost_hint_ < snd_una_) lost_hint_ = snd_una_;
}

// Marks [left, right) SACKed; snd_una < left < right <= snd_nxt.
void RetransmitQueue::sack_range(SeqNum left, SeqNum right, Instant now, Duration min_rtt,
                                 Delivery* d, AckResult* result) {
  size_t i = find(left);
  if (!at(i).sacked && at(i).begin < left) i = split_at(left);
  for (; i < count_ && at(i).begin < right; ++i) {
    if (at(i).sacked) continue;
    if (right < at(i).end) split_at(right);
    SentSegment& s = at(i);
    deliver(s, now, min_rtt, d, result);
    account(s, -1);
    s.sacked = true;
    s.lost = false;
    s.retransmitted = false;
    account(s, +1);
    result->newly_sacked_bytes += s.len();
    if (sacked_segs_ == 1 || s.end > highest_sacked_) highest_sacked_ = s.end;
  }
}

// Walks only the parts of the block the previous ACK's blocks did not cover.
void RetransmitQueue::apply_sack_block(SackBlock b, Instant now, Duration min_rtt, Delivery* d,
                                       AckResult* result) {
  SeqNum cur = b.left;
  for (size_t k = 0; k < sack_cache_len_ && cur < b.right; ++k) {
    const SackBlock& c = sack_cache_[k];
    if (c.right <= cur) continue;
    if (b.right <= c.left) break;
    if (cur < c.left) sack_range(cur, c.left, now, min_rtt, d, result);
    cur = seq_max(cur, c.right);
  }
  if (cur < b.right) sack_range(cur, b.right, now, min_rtt, d, result);
}

// The common case of a sender without loss: no SACK blocks on the ACK and no record
// SACKed, lost or being retransmitted, so no record has a counter share to remove
// (account() would change nothing), no block can be a D-SACK and the SACK cache
// empties. The same result and state as the general path below, in one pass.
//
// Records never retransmitted have, in sequence order, non-decreasing send times
// (on_send keeps them monotonic; a split keeps its record's time) and increasing
// ends, so each is RACK_sent_after the one before it: delivering a run of them in
// order leaves its last record as both the Karn and the RACK candidate, moves
// rack.fack to the last end, and finds reordering only if the run's first record
// ends below rack.fack. Such a run is summed up instead of delivered record by
// record; a record that was retransmitted (still possible after an undo) ends the
// run and it and the rest go through deliver().
AckResult RetransmitQueue::on_plain_ack(SeqNum ack, Instant now, Duration min_rtt) {
  AckResult result;
  if (count_ != 0 && snd_una_ < ack && ack <= snd_nxt_) {
    result.acked_bytes = static_cast<uint32_t>(ack - snd_una_);
    Delivery d;
    // The run: the leading never-retransmitted records the ACK covers in full, and
    // the record it ends inside, if that one was never retransmitted either.
    size_t full = 0;
    while (full < count_ && at(full).end <= ack && !at(full).ever_retransmitted) ++full;
    const bool partial =
        full < count_ && at(full).begin < ack && ack < at(full).end && !at(full).ever_retransmitted;
    if (full != 0 || partial) {
      const SentSegment& last = at(partial ? full : full - 1);
      const SeqNum run_end = partial ? ack : last.end;
      if ((full != 0 ? at(0).end : ack) < rack_fack_) reordering_seen_ = true;
      d.have_karn = d.have_rack = true;
      d.karn_ts = d.rack_ts = last.sent_at;
      d.karn_end = d.rack_end = run_end;
      if (run_end > rack_fack_) rack_fack_ = run_end;
      head_ = (head_ + full) & (ring_.size() - 1);
      count_ -= full;
      if (partial) at(0).begin = ack;
    }
    // What the ACK covers beyond the run starts with a retransmitted record: record by
    // record from there.
    while (count_ != 0 && at(0).end <= ack) {
      deliver(at(0), now, min_rtt, &d, &result);
      pop_front();
    }
    if (count_ != 0 && at(0).begin < ack) {
      SentSegment& head = at(0);
      SentSegment part = head;
      part.end = ack;
      deliver(part, now, min_rtt, &d, &result);
      head.begin = ack;
    }
    snd_una_ = ack;
    if (lost_hint_ < snd_una_) lost_hint_ = snd_una_;
    if (d.have_karn) result.rtt = now - d.karn_ts;
    if (d.have_rack) {
      rack_rtt_ = now - d.rack_ts;
      if (!rack_valid_ || sent_after(d.rack_ts, d.rack_end, rack_xmit_ts_, rack_end_)) {
        rack_valid_ = true;
        rack_xmit_ts_ = d.rack_ts;
        rack_end_ = d.rack_end;
      }
    }
  }
  sack_cache_len_ = 0;
  end_dsack_round_if_passed();
  return result;
}

AckResult RetransmitQueue::on_ack(SeqNum ack, std::span<const SackBlock> sacks, Instant now,
                                  Duration min_rtt) {
  if (sacks.empty() && sacked_segs_ == 0 && lost_bytes_ == 0 && retrans_bytes_ == 0) {
    return on_plain_ack(ack, now, min_rtt);
  }
  AckResult result;
  Delivery d;

  // D-SACK (RFC 2883 §4), judged against this ACK's cumulative ack as Linux does.
  size_t first_sack = 0;
  if (!sacks.empty()) {
    const SackBlock& b0 = sacks[0];
    const bool below_ack = b0.left < ack;
    const bool inside_second =
        sacks.size() > 1 && sacks[1].left <= b0.left && b0.right <= sacks[1].right;
    if (b0.left < b0.right && (below_ack || inside_second)) {
      first_sack = 1;
      if (b0.right <= snd_nxt_) result.dsack = b0;
    }
  }

  if (count_ != 0 && snd_una_ < ack && ack <= snd_nxt_) {
    apply_cumulative(ack, now, min_rtt, &d, &result);
  }

  // Valid blocks, sorted so delivery is seen in sequence order (no false reordering
  // inside one ACK) and the cache stays sorted.
  SackBlock valid[kSackCacheSize];
  size_t n_valid = 0;
  for (size_t k = first_sack; k < sacks.size() && n_valid < kSackCacheSize; ++k) {
    const SackBlock& b = sacks[k];
    if (snd_una_ < b.left && b.left < b.right && b.right <= snd_nxt_) valid[n_valid++] = b;
  }
  std::sort(valid, valid + n_valid,
            [](const SackBlock& x, const SackBlock& y) { return x.left < y.left; });
  for (size_t k = 0; k < n_valid; ++k) apply_sack_block(valid[k], now, min_rtt, &d, &result);
  std::copy(valid, valid + n_valid, sack_cache_);
  sack_cache_len_ = n_valid;

  if (d.have_karn) result.rtt = now - d.karn_ts;
  if (d.have_rack) {
    rack_rtt_ = now - d.rack_ts;
    if (!rack_valid_ || sent_after(d.rack_ts, d.rack_end, rack_xmit_ts_, rack_end_)) {
      rack_valid_ = true;
      rack_xmit_ts_ = d.rack_ts;
      rack_end_ = d.rack_end;
    }
  }

  end_dsack_round_if_passed();
  if (result.dsack) on_dsack(snd_nxt_);
  return result;
}

// ---- RACK ----------------------------------------------------------------------------------

uint32_t RetransmitQueue::rack_detect_loss(Instant now, Duration reo_wnd, Instant* timeout) {
  *timeout = Instant::never();
  if (!rack_valid_) return 0;
  uint32_t newly_lost = 0;
  for (size_t i = 0; i < count_; ++i) {
    SentSegment& s = at(i);
    if (!sent_after(rack_xmit_ts_, rack_end_, s.sent_at, s.end)) {
      // Records never retransmitted carry their original send time, which grows with
      // the sequence (on_send keeps time monotonic), and a retransmitted record was sent
      // after its original. So past a never-retransmitted record that is not older than
      // the RACK point, no record is.
      if (!s.ever_retransmitted) break;
      continue;
    }
    if (s.sacked || (s.lost && !s.retransmitted)) continue;
    const Instant deadline = s.sent_at + rack_rtt_ + reo_wnd;
    if (deadline <= now) {
      const uint32_t len = s.len();
      mark_lost(s);
      newly_lost += len;
    } else {
      *timeout = base::earliest(*timeout, deadline);
    }
  }
  return newly_lost;
}

Duration RetransmitQueue::rack_reo_wnd(Duration min_rtt, Duration srtt, bool in_recovery,
                                       SeqNum snd_una, SeqNum /*snd_nxt*/) {
  if (dsack_round_ && snd_una >= *dsack_round_) dsack_round_.reset();
  if (!reordering_seen_ && (in_recovery || sacked_segs_ >= kDupThresh)) return Duration::zero();
  // min(mult * min_rtt / 4, srtt) without overflowing when min_rtt is still
  // Duration::max() (no sample yet).
  const Duration quarter = min_rtt / 4;
  if (quarter > srtt / static_cast<int64_t>(reo_wnd_mult_)) return srtt;
  return std::min(quarter * static_cast<int64_t>(reo_wnd_mult_), srtt);
}

void RetransmitQueue::end_dsack_round_if_passed() {
  if (dsack_round_ && snd_una_ >= *dsack_round_) dsack_round_.reset();
}

void RetransmitQueue::on_dsack(SeqNum snd_nxt) {
  end_dsack_round_if_passed();
  if (dsack_round_) return;  // one step per round trip, however many D-SACKs it brings
  dsack_round_ = snd_nxt;
  if (reo_wnd_mult_ < kMaxReoWndMult) ++reo_wnd_mult_;
  reo_wnd_persist_ = kReoWndPersist;
}

void RetransmitQueue::on_recovery_end() {
  if (reo_wnd_persist_ == 0) return;
  if (--reo_wnd_persist_ == 0) reo_wnd_mult_ = 1;
}

// ---- marking and queries -----------------------------------------------------------------

void RetransmitQueue::mark_head_lost() {
  for (size_t i = 0; i < count_; ++i) {
    SentSegment& s = at(i);
    if (s.sacked) continue;
    if (!s.lost) {
      account(s, -1);
      s.lost = true;
      account(s, +1);
      ++total_lost_;
    }
    return;
  }
}

void RetransmitQueue::mark_all_lost() {
  for (size_t i = 0; i < count_; ++i) {
    SentSegment& s = at(i);
    if (!s.sacked) mark_lost(s);
  }
}

bool RetransmitQueue::ever_retransmitted(SeqNum left, SeqNum right) const {
  left = seq_max(left, snd_una_);
  right = seq_min(right, snd_nxt_);
  if (count_ == 0 || !(left < right)) return false;
  for (size_t i = find(left); i < count_ && at(i).begin < right; ++i) {
    if (at(i).ever_retransmitted) return true;
  }
  return false;
}

void RetransmitQueue::clear_lost() {
  for (size_t i = 0; i < count_; ++i) {
    SentSegment& s = at(i);
    if (!s.lost && !s.retransmitted) continue;
    account(s, -1);
    s.lost = false;
    s.retransmitted = false;
    account(s, +1);
  }
  lost_hint_ = snd_nxt_;
}

const SentSegment* RetransmitQueue::next_lost() const {
  if (count_ == 0 || lost_hint_ == snd_nxt_) return nullptr;
  for (size_t i = find(lost_hint_); i < count_; ++i) {
    const SentSegment& s = at(i);
    if (s.lost && !s.retransmitted) {
      lost_hint_ = s.begin;
      return &s;
    }
  }
  lost_hint_ = snd_nxt_;
  return nullptr;
}

void RetransmitQueue::clear() {
  head_ = count_ = 0;
  sacked_bytes_ = lost_bytes_ = retrans_bytes_ = sacked_segs_ = 0;
  total_lost_ = 0;
  sack_cache_len_ = 0;
  rack_valid_ = false;
  rack_rtt_ = Duration::zero();
  reordering_seen_ = false;
  reo_wnd_mult_ = 1;
  reo_wnd_persist_ = 0;
  dsack_round_.reset();
  snd_una_ = snd_nxt_;
  lost_hint_ = snd_nxt_;
}

}  // namespace joyride::core::tcp
