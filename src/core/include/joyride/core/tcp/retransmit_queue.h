// The sender's scoreboard: one record per transmitted segment, in sequence order, from
// snd_una to snd_nxt (like Linux's retransmit queue). The connection owns the data
// bytes and the decisions (when to send, the recovery state machine, TLP); this class
// keeps the per-segment bookkeeping those decisions need and the RFC algorithms that
// run over it:
//   - cumulative ACKs and SACK blocks (RFC 2018), with D-SACK detection (RFC 2883 §4);
//   - RTT samples under Karn's rule (RFC 6298 §3): never from a retransmitted segment;
//   - RACK-TLP time-based loss detection (RFC 8985 §6.2) and its reordering window;
//   - bytes in flight as Linux counts them, packets_out - sacked_out - lost_out +
//     retrans_out, which is RFC 6675's pipe: a byte not SACKed and not deemed lost
//     counts once, and once more while a retransmission of it is in flight.
//
// Record flags follow Linux's skb->sacked bits (TCPCB_SACKED_ACKED, TCPCB_LOST,
// TCPCB_SACKED_RETRANS, TCPCB_EVER_RETRANS):
//   sacked               the receiver has it (SACK); lost/retransmitted are then clear
//   lost                 the original transmission is deemed lost. It stays set while
//                        a retransmission is in flight, so the record counts 1 in
//                        flight (-1 lost, +1 retransmitted), not 2
//   retransmitted        a retransmission is in flight; cleared when RACK or an RTO
//                        deems that retransmission lost too
//   ever_retransmitted   was retransmitted at some point (Karn, RACK's spurious check)
// So "to be retransmitted" is lost && !retransmitted (next_lost()).
//
// Storage. Records live in a ring (a power-of-two std::vector used as a deque) that
// doubles when full and never shrinks: no allocation per segment once it has grown to
// the window. Records are contiguous: record i covers [begin_i, begin_{i+1}), so a
// sequence number is found by binary search. A SACK block or a retransmission that
// starts or ends inside a record splits it (a shift of the shorter side of the ring;
// rare, as receivers SACK whole segments). SACK blocks repeated from the previous ACK
// are not walked again (the bytes they cover are already SACKed), so a steady stream
// of ACKs repeating a large block costs a binary search each, not a walk.
// Byte counters are kept incrementally.
//
// Sequence numbers compare modulo 2^32; everything in the queue lies in
// [snd_una, snd_nxt), less than 2^31 bytes.
//
// Pointers returned by first()/last()/next_lost() are valid until the next call that
// modifies the queue.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "joyride/base/seq.h"
#include "joyride/base/time.h"
#include "joyride/wire/tcp_options.h"

namespace joyride::core::tcp {

struct SentSegment {
  base::SeqNum begin, end;  // sequence range (a SYN or FIN counts as one)
  base::Instant sent_at;    // time of the latest (re)transmission
  base::Instant first_sent_at;  // time of the original transmission (TCP_USER_TIMEOUT)
  // See "Record flags" above.
  bool sacked = false;
  bool lost = false;           // stays set while a retransmission is in flight
  bool retransmitted = false;  // a retransmission is in flight
  bool ever_retransmitted = false;

  uint32_t len() const { return static_cast<uint32_t>(end - begin); }
};

struct AckResult {
  uint32_t acked_bytes = 0;  // snd_una advance
  uint32_t newly_sacked_bytes = 0;
  // Karn (RFC 6298 §3): now - sent_at of the most recently sent segment newly acked or
  // sacked that was never retransmitted.
  std::optional<base::Duration> rtt;
  // The first block was a D-SACK (RFC 2883 §4): below the cumulative ACK, or inside the
  // second block. It reports a duplicate, so it marks nothing.
  std::optional<wire::SackBlock> dsack;
  bool acked_retransmitted = false;  // a newly acked/sacked segment had been retransmitted
};

class RetransmitQueue {
 public:
  // RFC 6675 DupThresh, RFC 8985's threshold of SACKed segments for a zero reo_wnd.
  static constexpr uint32_t kDupThresh = 3;
  // RFC 8985 §6.2 step 4: a D-SACK-grown reordering window persists 16 recoveries.
  static constexpr uint32_t kReoWndPersist = 16;
  static constexpr uint32_t kMaxReoWndMult = 255;  // Linux's u8 reo_wnd_steps

  explicit RetransmitQueue(size_t initial_capacity = 64);

  // New data [begin, end) sent at `now`, appended at the tail. begin must equal the
  // previous end (snd_nxt) unless the queue is empty (a call that does not is ignored,
  // and asserts in debug builds); an empty range is ignored. A `now` earlier than the
  // previous send is taken as that send's time: RACK relies on original sends being
  // in time order.
  void on_send(base::SeqNum begin, base::SeqNum end, base::Instant now);

  // A retransmission of [begin, end) (clipped to [snd_una, snd_nxt)). Records that
  // straddle either edge are split (MSS shrank, or a partial SACK). For each un-SACKed
  // record covered: retransmitted = ever_retransmitted = true, sent_at = now. `lost`
  // is left as it is (see the header comment). SACKed records are skipped.
  void on_retransmit(base::SeqNum begin, base::SeqNum end, base::Instant now);

  // An ACK with cumulative `ack` and SACK blocks, in the order they came on the wire
  // (at most 4 valid blocks are used: the most a TCP option can carry).
  //  - ack in (snd_una, snd_nxt] removes fully acked records and trims a partially
  //    acked head record; any other ack moves nothing (the caller has already
  //    rejected ACKs of unsent data).
  //  - D-SACK (RFC 2883 §4, as Linux tcp_check_dsack): the first block, if it starts
  //    below `ack` or lies inside the second block, is reported and starts a D-SACK
  //    round (on_dsack).
  //  - the other blocks count only if inside (snd_una, snd_nxt] after the cumulative
  //    ACK (RFC 2018, Linux tcp_is_sackblock_valid); a record only partly covered is
  //    split so only fully covered bytes are SACKed.
  //  - RACK (RFC 8985 §6.2 steps 2-3): rack.xmit_ts/end_seq/rtt from the most recently
  //    sent newly delivered segment, skipping a retransmitted one delivered sooner than
  //    min_rtt after its retransmission (the ACK must be for an earlier transmission);
  //    reordering_seen when a never-retransmitted segment below the highest delivered
  //    sequence (rack.fack) is delivered.
  AckResult on_ack(base::SeqNum ack, std::span<const wire::SackBlock> sacks, base::Instant now,
                   base::Duration min_rtt);
  // on_ack for an ACK without SACK blocks on a scoreboard where no record is SACKed,
  // lost or retransmitted (sacked_segments(), lost_bytes() and retrans_bytes() all 0):
  // the same result and state, without the SACK machinery. on_ack takes it itself;
  // a caller that already knows the conditions hold (TcpLayer::fast_ack) may call it
  // directly and skip on_ack's own checks and frame.
  AckResult on_plain_ack(base::SeqNum ack, base::Instant now, base::Duration min_rtt);

  // RACK loss detection (RFC 8985 §6.2 step 5): every record not SACKed and not already
  // waiting for retransmission (lost && !retransmitted), sent before rack.xmit_ts (or at
  // the same time with a lower end), whose sent_at + rack.rtt + reo_wnd <= now, is
  // marked lost (a retransmitted one loses its retransmission: retransmitted cleared).
  // Returns the bytes newly marked. *timeout is the earliest sent_at + rack.rtt +
  // reo_wnd among the remaining candidates (when the reorder timer should fire), or
  // Instant::never(). (RFC 8985 and Linux arm the timer for the latest candidate,
  // batching; the earliest is exact per segment.)
  uint32_t rack_detect_loss(base::Instant now, base::Duration reo_wnd, base::Instant* timeout);

  // RFC 8985 §6.2 step 4 (RACK_update_reo_wnd): min(reo_wnd_mult * min_rtt / 4, srtt),
  // or zero when no reordering has been seen and either in_recovery or at least
  // kDupThresh segments are SACKed. Ends the current D-SACK round once snd_una reaches
  // it. snd_nxt is accepted for symmetry with on_dsack and is not needed (the queue
  // tracks it).
  base::Duration rack_reo_wnd(base::Duration min_rtt, base::Duration srtt, bool in_recovery,
                              base::SeqNum snd_una, base::SeqNum snd_nxt);
  // A D-SACK arrived (on_ack calls this itself; calling it again for the same ACK is
  // harmless): the first one of a round (until snd_una passes the snd_nxt of the time)
  // grows reo_wnd_mult by one and makes it persist kReoWndPersist recoveries.
  void on_dsack(base::SeqNum snd_nxt);
  // A fast or RTO recovery ended: one of the persisting recoveries used up; when none
  // is left reo_wnd_mult returns to 1.
  void on_recovery_end();

  // NewReno / no SACK (fast retransmit, partial ACK): marks the first un-SACKed record
  // lost if it is not already.
  void mark_head_lost();
  // RTO (Linux tcp_enter_loss): every un-SACKed record lost, retransmitted cleared.
  void mark_all_lost();
  // A loss episode proved spurious (undo, Linux tcp_undo_cwnd_reduction with
  // unmark_loss): no record is lost or waiting for a retransmission any more; each
  // counts once in flight. ever_retransmitted stays (Karn).
  void clear_lost();

  // The first record with lost && !retransmitted (what to retransmit next), or nullptr.
  // Amortized O(1) over a recovery: a hint remembers where the last search stopped.
  const SentSegment* next_lost() const;
  const SentSegment* first() const { return count_ ? &at(0) : nullptr; }
  const SentSegment* last() const { return count_ ? &at(count_ - 1) : nullptr; }

  uint32_t in_flight() const {
    if (count_ == 0) return 0;
    const uint32_t out = static_cast<uint32_t>(snd_nxt_ - snd_una_);
    return out - sacked_bytes_ - lost_bytes_ + retrans_bytes_;
  }
  uint32_t sacked_bytes() const { return sacked_bytes_; }
  uint32_t lost_bytes() const { return lost_bytes_; }
  uint32_t retrans_bytes() const { return retrans_bytes_; }
  uint32_t sacked_segments() const { return sacked_segs_; }
  // Records ever marked lost, a retransmission deemed lost counting again (Linux tp->lost).
  uint64_t total_lost_segments() const { return total_lost_; }
  // Whether a record overlapping [left, right) was ever retransmitted (a D-SACK for a
  // segment sent once reports reordering or a network duplicate, not a spurious
  // retransmission).
  bool ever_retransmitted(base::SeqNum left, base::SeqNum right) const;
  // The end of the highest SACKed range still in the queue, or nullopt if none is SACKed.
  std::optional<base::SeqNum> highest_sacked() const;

  // RACK state, for the connection (TLP, tracing) and tests.
  bool rack_valid() const { return rack_valid_; }
  base::Instant rack_xmit_ts() const { return rack_xmit_ts_; }
  base::SeqNum rack_end_seq() const { return rack_end_; }
  base::Duration rack_rtt() const { return rack_rtt_; }
  bool reordering_seen() const { return reordering_seen_; }
  uint32_t reo_wnd_mult() const { return reo_wnd_mult_; }

  base::SeqNum snd_una() const { return snd_una_; }
  base::SeqNum snd_nxt() const { return snd_nxt_; }
  bool empty() const { return count_ == 0; }
  size_t size() const { return count_; }
  size_t capacity() const { return ring_.size(); }
  // Forgets every record and all RACK/D-SACK state; keeps the storage.
  void clear();

  // f(const SentSegment&) for every record in sequence order.
  template <typename F>
  void for_each(F&& f) const {
    for (size_t i = 0; i < count_; ++i) f(at(i));
  }

 private:
  static constexpr size_t kSackCacheSize = 4;

  // Per-ACK accumulation of what was delivered (RACK and Karn candidates).
  struct Delivery {
    bool have_rack = false;
    base::Instant rack_ts;
    base::SeqNum rack_end;
    bool have_karn = false;
    base::Instant karn_ts;
    base::SeqNum karn_end;
  };

  const SentSegment& at(size_t i) const { return ring_[(head_ + i) & (ring_.size() - 1)]; }
  SentSegment& at(size_t i) { return ring_[(head_ + i) & (ring_.size() - 1)]; }
  void grow();
  void push_back(const SentSegment& s) {
    if (count_ == ring_.size()) grow();
    ++count_;
    at(count_ - 1) = s;
  }
  void pop_front();
  void insert(size_t i, const SentSegment& s);
  // Index of the record containing s, snd_una <= s < snd_nxt.
  size_t find(base::SeqNum s) const;
  // Makes a record start at s (splitting the one containing it) and returns its index;
  // count_ for s == snd_nxt.
  size_t split_at(base::SeqNum s);
  // Adds (sign = 1) or removes (sign = -1) a record's share of the counters. Every flag
  // or length change is bracketed by account(-1) ... account(+1).
  void account(const SentSegment& s, int sign);
  // Marks a record lost (its retransmission too); true if that counts as a new loss.
  bool mark_lost(SentSegment& s);
  void deliver(const SentSegment& s, base::Instant now, base::Duration min_rtt, Delivery* d,
               AckResult* result);
  void apply_cumulative(base::SeqNum ack, base::Instant now, base::Duration min_rtt, Delivery* d,
                        AckResult* result);
  void sack_range(base::SeqNum left, base::SeqNum right, base::Instant now,
                  base::Duration min_rtt, Delivery* d, AckResult* result);
  void apply_sack_block(wire::SackBlock b, base::Instant now, base::Duration min_rtt,
                        Delivery* d, AckResult* result);
  void end_dsack_round_if_passed();

  std::vector<SentSegment> ring_;
  size_t head_ = 0;
  size_t count_ = 0;
  base::SeqNum snd_una_;
  base::SeqNum snd_nxt_;
  base::Instant last_send_;
  uint32_t sacked_bytes_ = 0;
  uint32_t lost_bytes_ = 0;
  uint32_t retrans_bytes_ = 0;
  uint32_t sacked_segs_ = 0;
  uint64_t total_lost_ = 0;
  base::SeqNum highest_sacked_;
  // Every record beginning before this is known not to be lost && !retransmitted.
  mutable base::SeqNum lost_hint_;

  // The valid SACK blocks of the previous ACK, sorted; every byte in them is SACKed.
  wire::SackBlock sack_cache_[kSackCacheSize];
  size_t sack_cache_len_ = 0;

  // RACK (RFC 8985 §6.1).
  bool rack_valid_ = false;
  base::Instant rack_xmit_ts_;
  base::SeqNum rack_end_;
  base::Duration rack_rtt_;
  base::SeqNum rack_fack_;
  bool reordering_seen_ = false;
  uint32_t reo_wnd_mult_ = 1;
  uint32_t reo_wnd_persist_ = 0;
  std::optional<base::SeqNum> dsack_round_;
};

}  // namespace joyride::core::tcp
