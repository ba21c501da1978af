#include "joyride/dev/dpdk/mbuf_pool.h"

#include <netinet/in.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_mempool.h>
#include <rte_memzone.h>

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <cstring>
#include <new>

namespace joyride::dev::dpdk {

static_assert(MbufPool::kPrivSize % RTE_MBUF_PRIV_ALIGN == 0);
static_assert(MbufPool::kPrivSize >= sizeof(buf::Segment));
static_assert(alignof(buf::Segment) <= RTE_MBUF_PRIV_ALIGN, "the private area starts 8-byte aligned");

namespace {

constexpr unsigned kBulk = 32;

// The Segment of an mbuf lives in its private area, right after struct rte_mbuf.
rte_mbuf* mbuf_of(buf::Segment* s) {
  return reinterpret_cast<rte_mbuf*>(reinterpret_cast<uint8_t*>(s) - sizeof(rte_mbuf));
}

// Whether an mbuf may carry a Segment: it owns its data room (not attached to another
// mbuf or to an external buffer), nobody else holds it, and its private area fits one.
bool can_adopt(const rte_mbuf* m) {
  return RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1 && rte_pktmbuf_priv_size(m->pool) >= MbufPool::kPrivSize;
}

// Drops one detached segment's hold on its storage, whichever pool it came from
// (buf::Packet knows how; PacketPool::release of another pool is not ours to call).
void drop(buf::Segment* s) {
  s->next = nullptr;
  buf::Packet(s).reset();
}

}  // namespace

base::Result<std::unique_ptr<MbufPool>, Error> MbufPool::create(const MbufPoolConfig& config) {
  if (config.name.empty()) return base::Err(Error{"MbufPool::create (empty name)", EINVAL});
  if (config.name.size() >= RTE_MEMPOOL_NAMESIZE) return base::Err(Error{"MbufPool::create (name)", ENAMETOOLONG});
  // What rte_pktmbuf_pool_create does, but with RTE_MEMPOOL_F_NO_SPREAD: the spreading
  // pads objects to an odd number of cache lines, which would undo kObjectSize.
  constexpr unsigned kFlags = RTE_MEMPOOL_F_NO_SPREAD;
  uint32_t data_room = config.data_room;
  if (data_room == 0) {
    rte_mempool_objsz sz{};
    rte_mempool_calc_obj_size(0, kFlags, &sz);
    data_room = kObjectSize - sz.header_size - sz.trailer_size - sizeof(rte_mbuf) - kPrivSize;
  }
  rte_pktmbuf_pool_private priv{};
  priv.mbuf_data_room_size = static_cast<uint16_t>(data_room);
  priv.mbuf_priv_size = kPrivSize;
  rte_mempool* mp = rte_mempool_create_empty(config.name.c_str(), config.mbufs,
                                             sizeof(rte_mbuf) + kPrivSize + data_room, config.cache,
                                             sizeof(rte_pktmbuf_pool_private), config.socket, kFlags);
  if (mp == nullptr) return base::Err(Error{"rte_mempool_create_empty", rte_errno});
  int rc = rte_mempool_set_ops_byname(mp, rte_mbuf_best_mempool_ops(), nullptr);
  if (rc == 0) {
    rte_pktmbuf_pool_init(mp, &priv);
    rc = config.data_room == 0 ? populate_page_aligned(mp) : rte_mempool_populate_default(mp);
    if (rc >= 0) rc = 0;
  }
  if (rc != 0) {
    rte_mempool_free(mp);
    return base::Err(Error{"populating the mempool", -rc});
  }
  rte_mempool_obj_iter(mp, rte_pktmbuf_init, nullptr);
  return std::unique_ptr<MbufPool>(new MbufPool(mp, data_room, config.clone_descriptors));
}

// Page-sized objects in one page-aligned memzone, so the first object starts where the
// pool's first memory chunk starts: net_af_xdp takes that chunk's page as the umem's
// base and sizes the umem as objects × object size, and rte_mempool_populate_default's
// memzone may start mid-page, which pushes the last object past the umem's end.
int MbufPool::populate_page_aligned(rte_mempool* mp) {
  size_t page = 0;
  if (int rc = rte_mempool_get_page_size(mp, &page); rc < 0) return rc;
  const size_t bytes = size_t{mp->size} * kObjectSize;
  const std::string zone = std::string("mz_") + mp->name;
  const rte_memzone* mz = rte_memzone_reserve_aligned(zone.c_str(), bytes, mp->socket_id, 0, kObjectSize);
  if (mz == nullptr) return -rte_errno;
  auto free_zone = [](rte_mempool_memhdr*, void* opaque) { rte_memzone_free(static_cast<const rte_memzone*>(opaque)); };
  const int rc = rte_mempool_populate_virt(mp, static_cast<char*>(mz->addr), bytes, page == 0 ? kObjectSize : page,
                                           free_zone, const_cast<rte_memzone*>(mz));
  if (rc < 0) rte_memzone_free(mz);
  return rc < 0 || mp->populated_size == mp->size ? rc : -ENOMEM;
}

bool MbufPool::objects_evenly_spaced(rte_mempool* mp) {
  struct Span {
    uintptr_t lowest = UINTPTR_MAX;
    uintptr_t highest = 0;
  } span;
  rte_mempool_obj_iter(
      mp,
      [](rte_mempool*, void* arg, void* obj, unsigned) {
        auto* s = static_cast<Span*>(arg);
        const auto a = reinterpret_cast<uintptr_t>(obj);
        s->lowest = std::min(s->lowest, a);
        s->highest = std::max(s->highest, a);
      },
      &span);
  const size_t stride = mp->header_size + mp->elt_size + mp->trailer_size;
  const auto first_chunk = reinterpret_cast<uintptr_t>(STAILQ_FIRST(&mp->mem_list)->addr);
  return mp->size > 0 && span.lowest - mp->header_size == first_chunk &&
         span.highest - span.lowest == (mp->size - 1) * stride;
}

MbufPool::MbufPool(rte_mempool* mp, uint32_t data_room, uint32_t descriptors)
    : mempool_(mp),
      data_room_(data_room),
      evenly_spaced_(objects_evenly_spaced(mp)),
      descriptor_storage_(new buf::Segment[descriptors]),
      descriptors_(descriptor_storage_.get(), descriptors) {
  free_descriptors_.reserve(descriptors);
  for (uint32_t i = descriptors; i-- > 0;) {
    descriptors_[i].pool = this;
    free_descriptors_.push_back(&descriptors_[i]);
  }
}

MbufPool::~MbufPool() {
  const unsigned out = mempool_->size - rte_mempool_avail_count(mempool_);
  const size_t descriptors_out = descriptors_.size() - free_descriptors_.size();
  if (out != 0 || descriptors_out != 0) {
    // Packets still out would be freed into a mempool that no longer exists; mbufs in
    // a port's rings mean the port was not closed first.
    std::fprintf(stderr,
                 "joyride::dev::dpdk::MbufPool %s destroyed with %u of %u mbufs and %zu of %zu clone "
                 "descriptors still in use: packets (or an open port) outlived their pool\n",
                 mempool_->name, out, mempool_->size, descriptors_out, descriptors_.size());
    assert(descriptors_out == 0 && out == 0 && "packets outlived their MbufPool");
  }
  rte_mempool_free(mempool_);
}

buf::Segment* MbufPool::adopt(rte_mbuf* m, uint32_t data_off, uint32_t data_len) {
  auto* s = new (rte_mbuf_to_priv(m)) buf::Segment;
  s->base = static_cast<uint8_t*>(m->buf_addr);
  s->capacity = m->buf_len;
  s->data_off = data_off;
  s->data_len = data_len;
  s->pool = this;
  // The Segment chain is authoritative while Joyride holds the mbuf.
  m->next = nullptr;
  m->nb_segs = 1;
  return s;
}

buf::Packet MbufPool::alloc(uint32_t headroom) {
  rte_mbuf* m = headroom <= data_room_ ? rte_pktmbuf_alloc(mempool_) : nullptr;
  if (m == nullptr) {
    count_segment_alloc_failure();
    return buf::Packet();
  }
  return buf::Packet(adopt(m, headroom, 0));
}

size_t MbufPool::alloc_burst(std::span<buf::Packet> out, uint32_t headroom) {
  size_t n = 0;
  rte_mbuf* mbufs[kBulk];
  while (headroom <= data_room_ && n < out.size()) {
    const auto want = static_cast<unsigned>(std::min<size_t>(kBulk, out.size() - n));
    if (rte_pktmbuf_alloc_bulk(mempool_, mbufs, want) != 0) break;  // all or nothing
    for (unsigned i = 0; i < want; ++i) out[n + i] = buf::Packet(adopt(mbufs[i], headroom, 0));
    n += want;
  }
  // Fewer left than a bulk asks for: take them one at a time (alloc counts the failure).
  for (; n < out.size(); ++n) {
    buf::Packet p = alloc(headroom);
    if (p.empty()) break;
    out[n] = std::move(p);
  }
  return n;
}

bool MbufPool::is_descriptor(const buf::Segment* s) const {
  return !descriptors_.empty() && s >= descriptors_.data() && s < descriptors_.data() + descriptors_.size();
}

buf::Segment* MbufPool::alloc_descriptor() {
  if (free_descriptors_.empty()) {
    count_descriptor_alloc_failure();
    return nullptr;
  }
  buf::Segment* s = free_descriptors_.back();
  free_descriptors_.pop_back();
  s->next = nullptr;
  s->pkt_len = 0;
  return s;
}

void MbufPool::release(buf::Segment* s) {
  if (is_descriptor(s)) {
    *s = buf::Segment{};
    s->pool = this;
    free_descriptors_.push_back(s);  // never reallocates: reserved for all of them
    return;
  }
  // A direct segment with no users left: its mbuf goes back to its own mempool.
  rte_mbuf* m = mbuf_of(s);
  assert(m->buf_addr == s->base);
  rte_pktmbuf_free_seg(m);
}

namespace {

// The device's checksum verdicts (rte_mbuf rx ol_flags) as buf::Offload bits: only a
// GOOD verdict counts; BAD, UNKNOWN and NONE leave the check to the stack.
uint8_t rx_offload_bits(uint64_t ol_flags) {
  uint8_t bits = 0;
  if ((ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD) bits |= buf::kRxIpv4ChecksumGood;
  if ((ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD) bits |= buf::kRxL4ChecksumGood;
  return bits;
}

}  // namespace

buf::Packet MbufPool::from_mbuf(rte_mbuf* m) {
  if (m == nullptr) return buf::Packet();
  const uint8_t offload = rx_offload_bits(m->ol_flags);
  for (const rte_mbuf* x = m; x != nullptr; x = x->next) {
    if (!can_adopt(x)) {
      buf::Packet copy = copy_chain(m);
      if (!copy.empty()) copy.set_offload(offload);
      return copy;
    }
  }
  buf::Segment* head = nullptr;
  buf::Segment* tail = nullptr;
  uint32_t total = 0;  // summed, not m->pkt_len: the Packet's invariant must hold whatever the PMD wrote
  for (rte_mbuf* x = m; x != nullptr;) {
    rte_mbuf* next = x->next;
    buf::Segment* s = adopt(x, x->data_off, x->data_len);
    total += s->data_len;
    (head == nullptr ? head : tail->next) = s;
    tail = s;
    x = next;
  }
  head->pkt_len = total;
  head->offload = offload;
  return buf::Packet(head);
}

buf::Packet MbufPool::copy_chain(rte_mbuf* m) {
  buf::Packet out = alloc(std::min<uint32_t>(RTE_PKTMBUF_HEADROOM, data_room_));
  bool ok = !out.empty();
  for (const rte_mbuf* x = m; ok && x != nullptr; x = x->next) {
    ok = out.append_bytes(std::span<const uint8_t>(rte_pktmbuf_mtod(x, const uint8_t*), x->data_len), *this);
  }
  rte_pktmbuf_free(m);
  if (!ok) {
    counters_.inc(MbufPoolCounter::kRxDroppedNoMbuf);
    return buf::Packet();
  }
  counters_.inc(MbufPoolCounter::kRxCopiedPackets);
  return out;
}

bool MbufPool::zero_copy(const buf::Segment* s) const {
  // Our direct segments all live in mbuf private areas; the storage may go to the PMD
  // only when this packet is its one user.
  return s->storage->pool == this && s->storage->refcnt == 1;
}

rte_mbuf* MbufPool::to_mbuf(buf::Packet&& p) {
  if (p.empty()) return nullptr;
  // A segment is sent if it has data, or if it is the last one and nothing was sent
  // before (an empty packet still becomes one empty mbuf).
  auto sent = [](const buf::Segment* s, bool any_before) { return s->data_len > 0 || (!any_before && s->next == nullptr); };

  const uint8_t offload = p.offload();
  const uint16_t tso_segsz = p.tso_segsz();
  // 1. Reserve every mbuf the copies need, so that failing leaves `p` untouched.
  size_t need = 0;
  bool any = false;
  for (const buf::Segment* s = p.head(); s != nullptr; s = s->next) {
    if (!sent(s, any)) continue;
    any = true;
    if (!zero_copy(s)) need += std::max<size_t>(1, (s->data_len + data_room_ - 1) / data_room_);
  }
  rte_mbuf* spare = nullptr;  // linked through next
  for (size_t i = 0; i < need; ++i) {
    rte_mbuf* m = rte_pktmbuf_alloc(mempool_);
    if (m == nullptr) {
      if (spare != nullptr) rte_pktmbuf_free(spare);
      count_segment_alloc_failure();
      counters_.inc(MbufPoolCounter::kTxNoMbufForCopy);
      return nullptr;
    }
    m->next = spare;
    spare = m;
  }

  // 2. Build the chain; nothing can fail from here on.
  rte_mbuf* head = nullptr;
  rte_mbuf* tail = nullptr;
  uint32_t total = 0;
  uint16_t segs = 0;
  auto append = [&](rte_mbuf* m) {
    m->next = nullptr;
    m->nb_segs = 1;
    m->pkt_len = m->data_len;
    m->ol_flags = 0;  // an rx mbuf sent back must not carry its rx flags as tx requests
    m->tx_offload = 0;
    (head == nullptr ? head : tail->next) = m;
    tail = m;
    total += m->data_len;
    ++segs;
  };
  any = false;
  for (buf::Segment* s = p.release(); s != nullptr;) {
    buf::Segment* next = s->next;
    const bool emit = sent(s, any);
    any = any || emit;
    s->next = nullptr;
    if (!emit) {
      drop(s);
    } else if (zero_copy(s)) {
      buf::Segment* owner = s->storage;
      rte_mbuf* m = mbuf_of(owner);
      assert(m->buf_addr == owner->base);
      m->data_off = static_cast<uint16_t>(s->data_off);
      m->data_len = static_cast<uint16_t>(s->data_len);
      if (s != owner) {
        // A clone whose original is gone: its descriptor goes back, the storage (held
        // for the moment by the extra count) goes to the PMD.
        ++owner->refcnt;
        drop(s);
      }
      append(m);
    } else {
      const uint8_t* src = s->data();
      uint32_t left = s->data_len;
      do {
        rte_mbuf* m = spare;
        spare = spare->next;
        const uint32_t n = std::min(left, data_room_);
        m->data_off = 0;
        m->data_len = static_cast<uint16_t>(n);
        std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), src, n);
        append(m);
        src += n;
        left -= n;
      } while (left > 0);
      counters_.inc(MbufPoolCounter::kTxCopiedSegments);
      drop(s);
    }
    s = next;
  }
  // Copying one segment can free the storage a later segment of the same packet
  // shared, which then goes without a copy: spares may be left.
  if (spare != nullptr) rte_pktmbuf_free(spare);
  head->pkt_len = total;
  head->nb_segs = segs;
  if ((offload & buf::kTxL4ChecksumPartial) != 0) request_l4_checksum(head);
  if ((offload & buf::kTxTcpSegmentation) != 0) request_tcp_segmentation(head, tso_segsz);
  return head;
}

// buf::kTxL4ChecksumPartial as DPDK's transmit request (buf/packet.h says what the
// stack promises): Ethernet without VLAN, IPv4 without options, the protocol at frame
// byte 23, the pseudo-header sum already in the L4 checksum field.
void MbufPool::request_l4_checksum(rte_mbuf* head) {
  constexpr uint32_t kL2 = 14, kL3 = 20, kProtocolAt = kL2 + 9;
  if (head->data_len <= kProtocolAt) return;  // not the promised layout: nothing asked
  const uint8_t protocol = rte_pktmbuf_mtod(head, const uint8_t*)[kProtocolAt];
  if (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP) return;
  head->ol_flags |= RTE_MBUF_F_TX_IPV4 | (protocol == IPPROTO_TCP ? RTE_MBUF_F_TX_TCP_CKSUM : RTE_MBUF_F_TX_UDP_CKSUM);
  head->l2_len = kL2;
  head->l3_len = kL3;
}

// buf::kTxTcpSegmentation as DPDK's TSO request (buf/packet.h): on top of the TCP
// checksum request, the device cuts the payload into tso_segsz-byte segments and
// redoes the IPv4 header checksum of each, which DPDK wants zero in the frame.
void MbufPool::request_tcp_segmentation(rte_mbuf* head, uint16_t segsz) {
  constexpr uint32_t kL2 = 14, kL3 = 20, kTcpOffsetAt = kL2 + kL3 + 12, kIpChecksumAt = kL2 + 10;
  if ((head->ol_flags & RTE_MBUF_F_TX_TCP_CKSUM) == 0 || head->data_len <= kTcpOffsetAt || segsz == 0) return;
  uint8_t* frame = rte_pktmbuf_mtod(head, uint8_t*);
  head->l4_len = (frame[kTcpOffsetAt] >> 4) * 4u;
  head->tso_segsz = segsz;
  head->ol_flags |= RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IP_CKSUM;
  frame[kIpChecksumAt] = 0;
  frame[kIpChecksumAt + 1] = 0;
}

}  // namespace joyride::dev::dpdk
