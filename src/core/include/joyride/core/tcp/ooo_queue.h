// The TCP receiver's out-of-order queue: segments that arrived beyond rcv_nxt, held
// as packets (never copied) until the gap before them fills (RFC 9293 §3.10.7.4,
// "segments with higher beginning sequence numbers SHOULD be held for later
// processing"). It also answers the two questions the ACK sender asks:
//   - which SACK blocks to advertise (RFC 2018 §3-4): the held ranges, merged, the one
//     holding the most recently received byte first, then the others from most to
//     least recently touched (so blocks reported earlier are repeated, §4);
//   - whether a segment was a duplicate, and which part (D-SACK, RFC 2883 §4): the
//     first contiguous run of already-held bytes in it.
//
// Each byte is held once. A new segment is trimmed against what is held, keeping the
// held bytes: its front is cut where it overlaps the entry before it and its back
// where it overlaps an entry that runs past its end. Held entries lying wholly inside
// the new segment are replaced by it (same bytes, fewer packets, no packet split);
// that is what Linux's tcp_data_queue_ofo() does too. Adjacent entries stay separate
// packets; only the SACK ranges are merged.
//
//   held:      [10      20)   [30  35)     [40        60)
//   insert:         [15                         50)
//   stored:    [10      20)[20                   40)[40        60)
//              front trimmed to 20, [30,35) replaced, back trimmed to 40
//   D-SACK:    [15,20) (the first run of held bytes), new_bytes = 20 - 5 = 15
//
// Bounds: at most max_bytes payload bytes in at most max_segments packets. An insert
// that would exceed either is refused whole (nothing stored; held data is untouched),
// so a peer cannot make us hold unbounded memory by sending scattered bytes. An
// insert that replaces held entries counts only its net effect.
//
// Storage: entries sorted by sequence number in a vector that grows to the queue's
// high-water mark and is kept (clear() keeps it), so steady-state inserts do not
// allocate, and a connection that never sees reordering never allocates at all.
// Costs, n = held segments: insert O(log n + covered + moved), where moved is the
// entries after the insertion point (pointer-sized moves); drain O(delivered +
// remaining); sack_blocks O(k n) for k blocks (k <= 4).
//
// Sequence order: all held data lies within one receive window (< 2^31 bytes), which
// is what makes base::SeqNum comparisons a total order here, across the wrap at 2^32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "joyride/base/seq.h"
#include "joyride/buf/packet.h"
#include "joyride/wire/tcp_options.h"

namespace joyride::core::tcp {

struct OooInsertResult {
  uint32_t new_bytes = 0;  // bytes not held before (0 when fully duplicate or dropped)
  bool dropped = false;    // refused: queue limits reached (nothing stored)
  // D-SACK (RFC 2883): the first contiguous part of the segment that was already held,
  // if any. Reported even when the rest was dropped for the limits: those bytes did
  // arrive twice.
  std::optional<wire::SackBlock> duplicate;
};

class OutOfOrderQueue {
 public:
  OutOfOrderQueue(size_t max_bytes, size_t max_segments);
  OutOfOrderQueue(const OutOfOrderQueue&) = delete;
  OutOfOrderQueue& operator=(const OutOfOrderQueue&) = delete;

  // `payload` is exactly the segment's data starting at sequence `seq`. The caller has
  // checked seq > rcv_nxt and that seq + len is within the receive window. An empty
  // payload is ignored. Trims and replaces as described above.
  OooInsertResult insert(base::SeqNum seq, buf::Packet payload);

  // Calls deliver(buf::Packet) in sequence order for the held data that continues
  // rcv_nxt, trimming any part below rcv_nxt, and discards entries wholly below it.
  // Returns the new rcv_nxt. `deliver` must not call back into this queue.
  template <typename F>
  base::SeqNum drain(base::SeqNum rcv_nxt, F&& deliver);

  // Writes up to out.size() SACK blocks of the held ranges (adjacent entries merged):
  // the block holding the most recently inserted (or duplicated) byte first, then the
  // others most recent first (RFC 2018 §4). Returns the count.
  size_t sack_blocks(std::span<wire::SackBlock> out) const;

  bool empty() const { return entries_.empty(); }
  size_t bytes() const { return bytes_; }  // payload bytes held
  size_t segments() const { return entries_.size(); }
  size_t max_bytes() const { return max_bytes_; }
  size_t max_segments() const { return max_segments_; }
  // Right edge of the highest held range; nullopt when empty.
  std::optional<base::SeqNum> highest_end() const;
  // Drops everything (RST, close); the packets go back to their pools.
  void clear();

 private:
  struct Entry {
    base::SeqNum seq;
    uint32_t len = 0;    // data.len(), kept here so searches do not touch the packet
    uint64_t stamp = 0;  // value of clock_ when last inserted or duplicated; unique
    buf::Packet data;
    base::SeqNum end() const { return seq + len; }
  };

  // Index of the first entry whose seq is after `s` (binary search).
  size_t first_after(base::SeqNum s) const;
  void erase_front(size_t n);

  size_t max_bytes_;
  size_t max_segments_;
  size_t bytes_ = 0;
  uint64_t clock_ = 0;  // insert counter, for SACK recency
  std::vector<Entry> entries_;
};

template <typename F>
base::SeqNum OutOfOrderQueue::drain(base::SeqNum rcv_nxt, F&& deliver) {
  size_t done = 0;
  // Entries do not overlap and are sorted, so once one starts after rcv_nxt so do the rest.
  for (; done < entries_.size() && entries_[done].seq <= rcv_nxt; ++done) {
    Entry& e = entries_[done];
    bytes_ -= e.len;
    if (e.end() <= rcv_nxt) continue;  // wholly old: freed by erase_front
    e.data.trim_front(static_cast<uint32_t>(rcv_nxt - e.seq));
    rcv_nxt = e.end();
    deliver(std::move(e.data));
  }
  erase_front(done);
  return rcv_nxt;
}

}  // namespace joyride::core::tcp
