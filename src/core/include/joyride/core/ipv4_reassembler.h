// IPv4 reassembly (RFC 791 §3.2, RFC 815 hole descriptors, RFC 5722's rule applied
// to IPv4 as Linux does): fragments of one datagram, keyed by (src, dst, protocol,
// ident), are collected until the holes close.
//
// - Overlapping fragments (any byte received twice with a different range) discard
//   the whole datagram: overlap is how fragment attacks hide data. An exact
//   duplicate of a fragment already held is dropped alone.
// - Fragments that disagree on where the datagram ends (two final fragments with
//   different ends, or data beyond the end a final fragment gave) discard the
//   datagram too.
// - A datagram not complete within `timeout` (30 s, counted from its first fragment,
//   not restarted by later ones) is discarded; when its first fragment had arrived,
//   the host is told (time exceeded, RFC 792 code 1).
// - Memory is capped (bytes held across all datagrams) and so is the number of
//   datagrams in progress. Bytes held are the *storage* a fragment pins: the sum of
//   its segments' capacities (Linux's truesize), not its data length, so that a flood
//   of tiny fragments cannot pin the packet pool while looking small.
// - Fragment floods (FragmentSmack, CVE-2018-5391) do not shut reassembly down, as
//   Linux's does (it refuses every fragment while memory stays above its threshold,
//   up to the 30 s timeout): at either cap the *oldest* incomplete datagrams are
//   evicted to make room for the new fragment, and one source address may hold at
//   most half of each cap (beyond it, that source's own oldest datagrams go). A
//   legitimate datagram, whose fragments come close together, is reassembled during
//   a flood and at once after it. Only a datagram that alone needs more than a cap
//   allows has its fragment dropped (kDropMemoryLimit).
// - The result is one Packet: the fragments' payloads chained, with no copying.
//
// Per datagram the received ranges [offset, end) are kept sorted and disjoint (RFC
// 815's holes are the gaps between them); the datagram is complete when the final
// fragment (MF = 0) has fixed its length and the held bytes add up to it. Each
// fragment is trimmed of link padding beyond its IP total length and, except the
// first (offset 0), of its IP header as it arrives; the first keeps its header until
// completion so a timeout can quote it as received.
//
// Limits on lengths: a non-final fragment must carry a non-empty multiple of 8 bytes
// and the Packet must hold the header's total length (else kDropBadFragment); a
// fragment whose header length + offset + payload length exceeds 65535 is
// kDropTooLong, and so is a completed datagram whose first header plus payload would.
#pragma once

#include <array>
#include <cstddef>
#include <list>
#include <cstdint>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "joyride/base/counters.h"
#include "joyride/base/time.h"
#include "joyride/base/timer_wheel.h"
#include "joyride/buf/packet.h"
#include "joyride/wire/ipv4.h"

namespace joyride::core {

struct ReassemblyConfig {
  base::Duration timeout = base::Duration::seconds(30);
  size_t max_bytes = 4 * 1024 * 1024;   // like Linux ipfrag_high_thresh (segment capacity)
  size_t max_datagrams = 1024;
  // Seeds the datagram table's hash. The host passes a random value so that remote
  // senders cannot aim all their fragments at one bucket.
  uint64_t hash_seed = 0;
};

enum class ReassemblyCounter : uint8_t {
  kFragmentsReceived,
  kDatagramsReassembled,
  kDropOverlap,        // datagram discarded: overlapping fragments
  kDropDuplicate,      // fragment discarded: exact duplicate
  kDropTimeout,        // datagram discarded: incomplete after timeout
  kDropMemoryLimit,    // fragment refused: max_bytes reached
  kDropTooManyDatagrams,
  kDropTooLong,        // offset + length beyond 65535
  kDropBadFragment,    // a non-final fragment whose length is not a multiple of 8, or empty
  kDropInconsistentEnd,  // datagram discarded: fragments disagree on where it ends
  kEvictedOldest,        // datagram discarded: the oldest, to make room at a cap
  kEvictedSourceShare,   // datagram discarded: its source held more than its share
  kCount
};
constexpr std::array<std::string_view, 12> counter_names(ReassemblyCounter) {
  return {"fragments_received", "datagrams_reassembled", "drop_overlap", "drop_duplicate",
          "drop_timeout", "drop_memory_limit", "drop_too_many_datagrams", "drop_too_long",
          "drop_bad_fragment", "drop_inconsistent_end", "evicted_oldest", "evicted_source_share"};
}

// Told when an incomplete datagram times out after its first fragment arrived.
class ReassemblyTimeoutListener {
 public:
  virtual ~ReassemblyTimeoutListener() = default;
  // first_fragment: the first fragment as received (starting at its IP header, link
  // padding trimmed). Valid only during the call; clone() it to keep it.
  virtual void on_reassembly_timeout(const wire::Ipv4Repr& header, const buf::Packet& first_fragment,
                                     base::Instant now) = 0;
};

struct ReassembledDatagram {
  wire::Ipv4Repr header;  // of the first fragment, with frag fields cleared and payload_len the total
  buf::Packet payload;    // the transport payload, fragments chained
};

class Ipv4Reassembler {
 public:
  // `timers` must outlive the reassembler; `listener` may be null.
  Ipv4Reassembler(const ReassemblyConfig& config, base::TimerWheel& timers,
                  ReassemblyTimeoutListener* listener);
  ~Ipv4Reassembler();
  Ipv4Reassembler(const Ipv4Reassembler&) = delete;
  Ipv4Reassembler& operator=(const Ipv4Reassembler&) = delete;

  // One fragment: `header` parsed from `fragment`, which starts at the IP header.
  // Returns the datagram when this fragment completes it. A packet that is not a
  // fragment (MF = 0, offset 0) is returned at once, trimmed to its payload, and
  // touches no state.
  std::optional<ReassembledDatagram> input(const wire::Ipv4Repr& header, buf::Packet fragment,
                                           base::Instant now);

  size_t datagrams_in_progress() const;
  size_t bytes_held() const;
  const base::CounterSet<ReassemblyCounter>& counters() const { return counters_; }

 private:
  struct Key {
    uint32_t src = 0;
    uint32_t dst = 0;
    uint16_t ident = 0;
    uint8_t protocol = 0;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    uint64_t seed = 0;
    size_t operator()(const Key& k) const noexcept;
  };
  // Payload bytes [offset, end) of the datagram. `packet` holds exactly those bytes,
  // except for the first fragment, which still starts with its IP header.
  struct Fragment {
    uint32_t offset = 0;
    uint32_t end = 0;
    buf::Packet packet;
  };
  struct Datagram {
    Datagram(Ipv4Reassembler* owner, const Key& key);
    Ipv4Reassembler* owner;
    Key key;
    base::Timer timer;               // armed at first fragment + timeout
    std::vector<Fragment> fragments; // sorted by offset, disjoint
    std::optional<wire::Ipv4Repr> first_header;  // once the offset-0 fragment is held
    uint32_t total_len = 0;          // payload length, once the final fragment arrived
    bool have_last = false;
    uint32_t received = 0;           // payload bytes held
    size_t truesize = 0;             // storage held (counted against max_bytes)
    std::list<Datagram*>::iterator age_pos;     // in age_, oldest first
    std::list<Datagram*>::iterator source_pos;  // in its source's list, oldest first
  };
  // What one source address holds, its datagrams oldest first.
  struct SourceUse {
    size_t bytes = 0;
    std::list<Datagram*> datagrams;
  };
  using Table = std::unordered_map<Key, Datagram, KeyHash>;

  enum class Verdict : uint8_t { kInsert, kDuplicate, kOverlap, kInconsistentEnd };

  static void on_timer(void* context, base::Instant now);
  static size_t truesize_of(const buf::Packet& p);
  static Verdict classify(const Datagram& d, uint32_t offset, uint32_t end, bool last);
  void insert(Datagram& d, const wire::Ipv4Repr& header, uint32_t end, buf::Packet packet,
              size_t truesize);
  std::optional<ReassembledDatagram> complete(Table::iterator it);
  void discard(Table::iterator it, ReassemblyCounter reason);
  void expire(Datagram& d, base::Instant now);
  // Evicts old datagrams (never `keep`) until `bytes` more storage, and one more
  // datagram when `new_datagram`, fit both the caps and `src`'s share. False when they
  // cannot (what is held besides `keep` is not enough).
  bool make_room(uint32_t src, size_t bytes, bool new_datagram, const Datagram* keep);
  // Takes a datagram out of the age and source lists and the byte counts (before it
  // is erased from the table).
  void unlink(Datagram& d);
  void evict(Datagram* d, ReassemblyCounter reason);

  const ReassemblyConfig config_;
  base::TimerWheel& timers_;
  ReassemblyTimeoutListener* listener_;
  base::CounterSet<ReassemblyCounter> counters_;
  Table datagrams_;
  size_t bytes_held_ = 0;
  std::list<Datagram*> age_;                       // every datagram, oldest first
  std::unordered_map<uint32_t, SourceUse> sources_;  // by source address, while it holds any
};

}  // namespace joyride::core
