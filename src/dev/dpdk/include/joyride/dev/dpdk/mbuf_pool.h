// buf::PacketPool over an rte_mempool of mbufs: what core/ allocates from when it runs
// on a DPDK port, and the bridge between buf::Packet and rte_mbuf.
//
// Layout. Each mbuf's private area (between struct rte_mbuf and the data room) holds
// the buf::Segment that describes it while Joyride owns the mbuf:
//
//   rte_mbuf (128 B) | priv: buf::Segment | data room: headroom | data | tailroom
//                      base ------------->^ (= mbuf->buf_addr, capacity = buf_len)
//
// so an mbuf chain and a Segment chain describe the same bytes, and converting between
// them rewrites a few header fields, never the payload:
//   from_mbuf (rx): fills each mbuf's Segment from data_off/data_len/pkt_len/next;
//   to_mbuf   (tx): writes data_off/data_len/pkt_len/nb_segs/next back into the mbufs.
// While Joyride holds an mbuf its own header is stale (the Segment is authoritative),
// its next is NULL and its DPDK refcnt is 1.
//
// Sharing: copy-on-tx. Clones (buf::Packet::clone) take indirect descriptors from a
// fixed side pool and share the storage through Segment::refcnt, exactly as in
// HeapPacketPool. to_mbuf hands a storage mbuf to the PMD only when the packet is its
// sole user; a segment whose storage is shared (or comes from another pool) is copied
// into a fresh mbuf, counted in tx_copied_segments. Why not DPDK's refcnt and indirect
// mbufs: buf's contract lets the last Joyride user write into storage (writable() is
// Segment::refcnt == 1), and an indirect mbuf still in a PMD's tx ring is invisible to
// Segment::refcnt, so Joyride could rewrite bytes the NIC is still reading. Clones are
// rare on the tx path (ICMP errors quoting a received datagram), so a copy there is
// cheap, and every mbuf then has exactly one owner: Joyride or the PMD, never both.
// It returns to the mempool exactly once, whichever side frees first.
//
// The pool must outlive every packet taken from it, and every port whose rx queues it
// feeds (close ports first: their rings hold its mbufs).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "joyride/base/counters.h"
#include "joyride/base/result.h"
#include "joyride/buf/packet.h"
#include "joyride/dev/dpdk/error.h"

struct rte_mbuf;
struct rte_mempool;

namespace joyride::dev::dpdk {

struct MbufPoolConfig {
  std::string name;                   // unique among the process's mempools, at most 25 characters
  uint32_t mbufs = 8191;              // 2^n - 1 is the mempool's most compact size
  uint32_t cache = 256;               // per-lcore cache (0: none)
  // Bytes of packet room per mbuf, headroom included. 0 (the default) sizes it so each
  // mempool object is exactly kObjectSize bytes; see MbufPool::evenly_spaced().
  uint16_t data_room = 0;
  uint32_t clone_descriptors = 1024;  // side pool of indirect descriptors for clones
  int socket = -1;                    // NUMA socket; -1 = SOCKET_ID_ANY
};

enum class MbufPoolCounter : uint8_t {
  kRxCopiedPackets,     // received chains that could not carry Segments (copied)
  kRxDroppedNoMbuf,     // ... and could not be copied: the pool was empty
  kTxCopiedSegments,    // shared or foreign segments copied on transmit
  kTxNoMbufForCopy,     // to_mbuf refused: the copy needed mbufs the pool did not have
  kCount
};
constexpr std::array<std::string_view, 4> counter_names(MbufPoolCounter) {
  return {"rx_copied_packets", "rx_dropped_no_mbuf", "tx_copied_segments", "tx_no_mbuf_for_copy"};
}

class MbufPool final : public buf::PacketPool {
 public:
  // The private area each mbuf needs: a Segment, rounded up to RTE_MBUF_PRIV_ALIGN (8,
  // checked in mbuf_pool.cc).
  static constexpr uint16_t kPrivSize = (sizeof(buf::Segment) + 7) & ~size_t{7};

  // The object size a default pool is cut to: one 4 KiB page. net_af_xdp (DPDK 22.11)
  // registers the mempool's memory with the kernel as one umem of equal frames of the
  // object size, starting at the first object; objects the mempool placed with gaps
  // between them (it never lets an object cross a page, so 2.4 KiB objects on 4 KiB
  // pages leave 1.6 KiB holes) then lie past the umem's end, the kernel rejects their
  // tx descriptors as invalid, and the ring clogs. Page-sized objects leave no holes on
  // 4 KiB or 2 MiB pages.
  static constexpr uint32_t kObjectSize = 4096;

  static base::Result<std::unique_ptr<MbufPool>, Error> create(const MbufPoolConfig& config);
  // Frees the mempool. Reports (stderr) and asserts in debug builds when packets or
  // clone descriptors are still out, as HeapPacketPool does.
  ~MbufPool() override;
  MbufPool(const MbufPool&) = delete;
  MbufPool& operator=(const MbufPool&) = delete;

  buf::Packet alloc(uint32_t headroom) override;
  size_t alloc_burst(std::span<buf::Packet> out, uint32_t headroom) override;
  uint32_t segment_capacity() const override { return data_room_; }

  // Receive side: takes ownership of the chain `m` and returns it as a Packet without
  // copying. A chain whose mbufs cannot carry a Segment (indirect or external buffers,
  // a DPDK refcnt above 1, a mempool with a smaller private area) is copied into this
  // pool's mbufs and freed; if that copy finds the pool empty the frame is dropped
  // (counted) and the result is empty. Mbufs of another MbufPool's mempool are adopted
  // as they are: freeing them returns them to their own mempool.
  buf::Packet from_mbuf(rte_mbuf* m);
  // Transmit side: the packet as an mbuf chain for rte_eth_tx_burst (zero-length
  // segments are left out). Storage the packet alone holds goes as it is; shared or
  // foreign storage is copied (see the header comment). A packet marked
  // buf::kTxL4ChecksumPartial asks the device for its TCP/UDP checksum (ol_flags
  // RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_{TCP,UDP}_CKSUM, l2_len 14, l3_len 20): send it
  // only on a port whose Capabilities say tx_tcp_checksum / tx_udp_checksum. nullptr, with `p` untouched,
  // when the copy needs more mbufs than the pool has, or when `p` is empty.
  rte_mbuf* to_mbuf(buf::Packet&& p);

  rte_mempool* mempool() { return mempool_; }
  // Whether the objects sit back to back at one stride from the start of the pool's
  // first memory chunk, as net_af_xdp's umem needs (see kObjectSize). Port::open refuses af_xdp otherwise.
  bool evenly_spaced() const { return evenly_spaced_; }
  uint32_t total_descriptors() const { return static_cast<uint32_t>(descriptors_.size()); }
  uint32_t available_descriptors() const { return static_cast<uint32_t>(free_descriptors_.size()); }
  const base::CounterSet<MbufPoolCounter>& counters() const { return counters_; }

 protected:
  buf::Segment* alloc_descriptor() override;
  void release(buf::Segment* s) override;

 private:
  MbufPool(rte_mempool* mp, uint32_t data_room, uint32_t descriptors);
  static int populate_page_aligned(rte_mempool* mp);
  static void request_l4_checksum(rte_mbuf* head);
  static void request_tcp_segmentation(rte_mbuf* head, uint16_t segsz);
  static bool objects_evenly_spaced(rte_mempool* mp);
  bool is_descriptor(const buf::Segment* s) const;
  buf::Segment* adopt(rte_mbuf* m, uint32_t data_off, uint32_t data_len);
  buf::Packet copy_chain(rte_mbuf* m);
  bool zero_copy(const buf::Segment* s) const;

  rte_mempool* mempool_;
  uint32_t data_room_;
  bool evenly_spaced_;
  std::unique_ptr<buf::Segment[]> descriptor_storage_;
  std::span<buf::Segment> descriptors_;
  std::vector<buf::Segment*> free_descriptors_;
  base::CounterSet<MbufPoolCounter> counters_;
};

}  // namespace joyride::dev::dpdk
