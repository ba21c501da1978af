// The packet buffer: the one type every layer above buf/ uses for frames.
//
// A Packet is a move-only handle to a chain of Segments. Each Segment describes a
// window onto a storage block:
//
//   storage   base                                                      base+capacity
//             |<- headroom ->|<-------- data -------->|<--- tailroom --->|
//                            base+data_off            base+data_off+data_len
//
//   Packet --> Segment(head) --next--> Segment --next--> Segment --> nullptr
//              pkt_len = sum of data_len over the chain (kept in the head)
//
// Headers are pushed into the headroom of the head segment (prepend) and pulled off
// it (trim_front); payload larger than one block is a chain. This is the shape of a
// DPDK rte_mbuf on purpose: the mbuf implementation of PacketPool keeps a Segment in
// each mbuf's private area and points `base` at the mbuf's data room, so core/ works
// on either without change and without copying payload.
//
// Sharing. clone() makes a second chain of *indirect* segments that point at the
// same storage (each with its own data_off/data_len, so either handle can trim
// headers independently). The storage's direct segment counts its users in
// `refcnt`; it returns to its pool when the last user goes. Shared bytes are
// read-only by convention: writable() tells whether a segment's bytes may change.
//
//   original: Segment(direct, refcnt 2) ----+--> storage block
//   clone:    Segment(indirect, storage=*) -+
//
// Freeing the original first leaves its direct descriptor parked (out of any chain)
// as the block's owner until the clone goes; freeing the clone first just drops the
// count. Either order returns block and descriptors to their pools exactly once.
// A segment whose storage has one user is writable again, even an indirect one.
//
// Failure contract: every mutating call either succeeds or leaves the packet exactly
// as it was (prepend, append, trim_*, append_bytes); pool exhaustion is counted by
// the pool and never leaks a segment.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <utility>

namespace joyride::buf {

class Packet;
class PacketPool;

// Checksum work a device has done on a received frame, or is asked to do on a sent
// one (head segment only; DPDK's RTE_MBUF_F_RX_*_CKSUM_GOOD and RTE_MBUF_F_TX_*_CKSUM).
// Pools clear it on alloc.
//
// kTxL4ChecksumPartial on a frame the stack hands to a device (take_tx) promises:
//   - the frame is Ethernet II without a VLAN tag (l2_len = 14), then an IPv4 header
//     without options (l3_len = 20; IHL is 5, as byte 14 of the frame says), then a
//     TCP or UDP header in the same (head) segment; byte 23 of the frame, the IPv4
//     protocol field, says which (6 TCP, 17 UDP);
//   - the IPv4 header checksum is complete (no IP checksum offload is asked for);
//   - the L4 checksum field (TCP: frame offset 34 + 16 = 50; UDP: 34 + 6 = 40) holds
//     the one's complement sum of the IPv4 pseudo header (source, destination, zero,
//     protocol, L4 length = IPv4 total length - 20), folded to 16 bits and NOT
//     complemented, in network byte order: what rte_ipv4_phdr_cksum() returns and
//     what NICs expect with RTE_MBUF_F_TX_TCP_CKSUM / RTE_MBUF_F_TX_UDP_CKSUM;
//   - the device must compute the checksum over the L4 header and payload (all
//     segments of the chain, to the end of the frame) starting from that value and
//     write its complement there (for UDP, a result of 0 is sent as 0xffff).
// A DPDK device maps it to ol_flags RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_{TCP,UDP}_CKSUM
// with l2_len 14 and l3_len 20. The stack sets it only towards an interface whose
// InterfaceConfig::tx_l4_checksum_offload is true; everything else (loopback,
// fragments, other interfaces) gets the checksum completed in software first.
enum Offload : uint8_t {
  kRxIpv4ChecksumGood = 1u << 0,   // the IPv4 header checksum was verified
  kRxL4ChecksumGood = 1u << 1,     // the TCP/UDP checksum was verified
  kTxL4ChecksumPartial = 1u << 2,  // the TCP/UDP checksum is left to the device (above)
  kTxTcpSegmentation = 1u << 3,    // TSO: the device cuts the TCP payload (below)
};
// kTxTcpSegmentation (TSO) on a frame the stack hands to a device promises what
// kTxL4ChecksumPartial promises (it is always set with it), except that:
//   - the frame is one TCP segment whose payload is larger than one wire segment: the
//     device sends it as segments of Segment::tso_segsz payload bytes (the last may
//     be shorter), each with the headers copied, sequence number, IPv4 total length,
//     identification and both checksums redone, and FIN/PSH only on the last;
//   - the TCP checksum field holds the pseudo-header sum with an L4 length of 0 (the
//     device adds each segment's length): what rte_ipv4_phdr_cksum() returns for
//     RTE_MBUF_F_TX_TCP_SEG;
//   - the IPv4 header checksum is to be computed by the device (per segment); the
//     IPv4 total length covers the whole frame (at most 65,535);
//   - the TCP header (its length from the data offset) is in the head segment.
// A DPDK device maps it to RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IPV4 |
// RTE_MBUF_F_TX_IP_CKSUM with l2_len 14, l3_len 20, l4_len and tso_segsz. The stack
// sets it only towards an interface with InterfaceConfig::tx_tso_max != 0.

struct Segment {
  uint8_t* base = nullptr;     // start of the storage block
  uint32_t capacity = 0;       // bytes of storage
  uint32_t data_off = 0;       // first data byte, from base
  uint32_t data_len = 0;       // data bytes in this segment
  uint32_t pkt_len = 0;        // head only: data bytes in the whole chain
  Segment* next = nullptr;     // next segment of the same packet
  Segment* storage = this;     // the direct segment owning the bytes (this, unless indirect)
  uint32_t refcnt = 1;         // direct segments: users of the storage, this one included
  PacketPool* pool = nullptr;  // where this descriptor (and direct storage) returns
  uint8_t offload = 0;         // head only: Offload bits
  uint16_t tso_segsz = 0;      // head only, with kTxTcpSegmentation: payload bytes per wire segment

  uint8_t* data() { return base + data_off; }
  const uint8_t* data() const { return base + data_off; }
  uint32_t headroom() const { return data_off; }
  uint32_t tailroom() const { return capacity - data_off - data_len; }
  bool is_indirect() const { return storage != this; }
  bool writable() const { return storage->refcnt == 1; }
};

class Packet {
 public:
  Packet() = default;
  explicit Packet(Segment* head) : head_(head) {}
  Packet(Packet&& o) noexcept : head_(std::exchange(o.head_, nullptr)) {}
  Packet& operator=(Packet&& o) noexcept {
    if (this != &o) {
      reset();
      head_ = std::exchange(o.head_, nullptr);
    }
    return *this;
  }
  Packet(const Packet&) = delete;
  Packet& operator=(const Packet&) = delete;
  ~Packet() { reset(); }

  bool empty() const { return head_ == nullptr; }
  explicit operator bool() const { return head_ != nullptr; }
  // Frees the chain (what the destructor does). Inline: a packet handed down the
  // layers by value leaves an empty handle behind at each, and those are many.
  void reset() {
    if (head_ != nullptr) free_chain(std::exchange(head_, nullptr));
  }

  // Total data bytes in the chain.
  size_t len() const { return head_ ? head_->pkt_len : 0; }
  // The head segment's bytes: where headers are parsed and pushed. Not on an empty handle.
  uint8_t* data() { return head_->data(); }
  const uint8_t* data() const { return head_->data(); }
  size_t head_len() const { return head_->data_len; }
  std::span<uint8_t> head_bytes() { return {head_->data(), head_->data_len}; }
  std::span<const uint8_t> head_bytes() const { return {head_->data(), head_->data_len}; }
  // Offload bits (see Offload); not on an empty handle.
  uint8_t offload() const { return head_->offload; }
  void set_offload(uint8_t bits) { head_->offload = bits; }
  // TSO: the device cuts the payload into segments of `segsz` bytes (kTxTcpSegmentation).
  uint16_t tso_segsz() const { return head_->tso_segsz; }
  void set_tso(uint16_t segsz) {
    head_->offload = static_cast<uint8_t>(head_->offload | kTxTcpSegmentation);
    head_->tso_segsz = segsz;
  }
  bool is_contiguous() const { return head_ == nullptr || head_->next == nullptr; }
  size_t segment_count() const;
  Segment* head() { return head_; }
  const Segment* head() const { return head_; }

  // Grow the data at the front into the head's headroom; returns the new first byte
  // or nullptr (unchanged) when the headroom is too small, the head is shared, or the
  // handle is empty. Inline: every header pushed on every packet sent.
  uint8_t* prepend(size_t n) {
    if (head_ == nullptr || n > head_->data_off || !head_->writable() || n > kMaxLen - len()) return nullptr;
    head_->data_off -= static_cast<uint32_t>(n);
    head_->data_len += static_cast<uint32_t>(n);
    head_->pkt_len += static_cast<uint32_t>(n);
    return head_->data();
  }
  // Grow the data at the end into the last segment's tailroom; returns the first new
  // byte or nullptr (unchanged) when there is no room, the last segment is shared, or
  // the handle is empty.
  uint8_t* append(size_t n);
  // Drop n bytes from the front (frees emptied leading segments) or from the back
  // (frees emptied trailing segments). One segment always remains, so trimming to
  // zero leaves a one-segment empty packet. Return false (unchanged) when n > len().
  bool trim_front(size_t n) {
    // Headers pulled off the head segment: every received frame, three times.
    // A lone head segment may be emptied here too (a pure ACK's whole TCP header):
    // one segment always remains.
    if (head_ != nullptr && (n < head_->data_len || (n == head_->data_len && head_->next == nullptr))) {
      head_->data_off += static_cast<uint32_t>(n);
      head_->data_len -= static_cast<uint32_t>(n);
      head_->pkt_len -= static_cast<uint32_t>(n);
      return true;
    }
    return trim_front_chain(n);
  }
  bool trim_back(size_t n);

  // Copy len bytes starting at offset into out; false (nothing copied) if out of range.
  bool copy_out(size_t offset, std::span<uint8_t> out) const;
  // A pointer to `n` contiguous bytes at `offset`: into the segment when they are
  // contiguous there, else copied into `scratch` (which must hold n bytes). nullptr
  // when out of range. (The idea of rte_pktmbuf_read.)
  const uint8_t* read(size_t offset, size_t n, uint8_t* scratch) const;
  // Append bytes, filling the last segment's tailroom (if writable) and then new
  // segments from `pool`; an empty handle first gets a segment with no headroom.
  // False when the pool ran out (the packet is then unchanged).
  // Inline for the common case, bytes that fit a lone writable segment's tailroom.
  bool append_bytes(std::span<const uint8_t> bytes, PacketPool& pool) {
    if (head_ != nullptr && head_->next == nullptr && head_->writable() && bytes.size() <= head_->tailroom()) {
      if (!bytes.empty()) std::memcpy(head_->data() + head_->data_len, bytes.data(), bytes.size());
      head_->data_len += static_cast<uint32_t>(bytes.size());
      head_->pkt_len += static_cast<uint32_t>(bytes.size());
      return true;
    }
    return append_bytes_slow(bytes, pool);
  }

  // Append another packet's segments to this one (tail becomes empty). `tail` must not
  // be this packet.
  void chain(Packet&& tail);
  // A second handle onto the same bytes, sharing storage (see header comment): one
  // descriptor from `pool` per segment. Empty when `pool` has too few descriptors
  // (nothing is then held) or when this handle is empty.
  Packet clone(PacketPool& pool) const;
  // A deep copy into fresh, writable storage from pool (one segment if it fits). Empty
  // on exhaustion (nothing is then held) or when this handle is empty.
  Packet copy(PacketPool& pool, uint32_t headroom) const;

  // Visit each segment's data: f(std::span<const uint8_t>).
  template <typename F>
  void for_each_segment(F&& f) const {
    for (const Segment* s = head_; s != nullptr; s = s->next) f(std::span<const uint8_t>(s->data(), s->data_len));
  }

  // Give up ownership (for device implementations handing segments to hardware).
  Segment* release() { return std::exchange(head_, nullptr); }

 private:
  static constexpr size_t kMaxLen = 0xffffffffu;  // pkt_len is 32-bit
  bool trim_front_chain(size_t n);  // trim_front when it empties the head segment
  bool append_bytes_slow(std::span<const uint8_t> bytes, PacketPool& pool);
  static void free_segment(Segment* s);
  static void free_chain(Segment* s);
  Segment* last() const;
  Segment* head_ = nullptr;
};

// Storage for segments. Implementations: HeapPacketPool (plain memory, tests and
// simulation) and, in dev/dpdk, a pool over an rte_mempool.
class PacketPool {
 public:
  virtual ~PacketPool() = default;
  // A one-segment empty packet with `headroom` bytes reserved in front, or an empty
  // handle (Packet::empty()) when the pool is exhausted.
  virtual Packet alloc(uint32_t headroom) = 0;
  // Capacity of one segment's storage.
  virtual uint32_t segment_capacity() const = 0;
  // Fill `out` from the front with alloc(headroom) until it is full or the pool runs
  // out; returns how many were allocated (out[n..] are left as they were).
  virtual size_t alloc_burst(std::span<Packet> out, uint32_t headroom);

  // Failed allocations (pool exhausted or headroom > capacity): storage segments, and
  // descriptors for clones.
  uint64_t segment_alloc_failures() const { return segment_alloc_failures_; }
  uint64_t descriptor_alloc_failures() const { return descriptor_alloc_failures_; }
  uint64_t alloc_failures() const { return segment_alloc_failures_ + descriptor_alloc_failures_; }

 protected:
  friend class Packet;
  // An empty descriptor for an indirect segment, or nullptr when exhausted.
  virtual Segment* alloc_descriptor() = 0;
  // Take back a descriptor whose storage, if direct, has no more users.
  virtual void release(Segment* s) = 0;

  // Implementations call these on every failed alloc / alloc_descriptor.
  void count_segment_alloc_failure() { ++segment_alloc_failures_; }
  void count_descriptor_alloc_failure() { ++descriptor_alloc_failures_; }

 private:
  uint64_t segment_alloc_failures_ = 0;
  uint64_t descriptor_alloc_failures_ = 0;
};

}  // namespace joyride::buf
