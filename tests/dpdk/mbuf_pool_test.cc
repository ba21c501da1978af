// MbufPool: buf::Packet over rte_mbuf without copying payload. Every test ends with
// every mbuf back in its mempool and every clone descriptor back in the side pool
// (checked by the fixture), so a leak or a double free in any order of frees fails.
#include <gtest/gtest.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "dpdk/dpdk_env.h"
#include "joyride/buf/heap_pool.h"
#include "joyride/dev/dpdk/mbuf_pool.h"

namespace joyride::dev::dpdk {
namespace {

using testing::Bytes;
using testing::bytes_of;
using testing::dpdk_env;
using testing::packet_of;
using testing::pool_full;

// rte_pktmbuf_pool_create's usual room, for pools that ask for it explicitly.
constexpr uint32_t kRoom = 2048 + 128;

Bytes pattern(size_t n, uint8_t seed = 0) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 13 + seed + (i >> 9));
  return b;
}

Bytes mbuf_bytes(const rte_mbuf* m) {
  Bytes b(rte_pktmbuf_pkt_len(m));
  for (const rte_mbuf* x = m; x != nullptr; x = x->next) {
    EXPECT_LE(x->data_len, x->buf_len);
  }
  const void* p = rte_pktmbuf_read(m, 0, static_cast<uint32_t>(b.size()), b.data());
  if (p != b.data()) std::memcpy(b.data(), p, b.size());
  return b;
}

std::string unique_name() {
  static int n = 0;
  return "jr_mbt" + std::to_string(n++);
}

class MbufPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dpdk_env().ok()) << dpdk_env().error();
    pool_ = make_pool(1023, 256, 64);
    ASSERT_NE(pool_, nullptr);
  }
  void TearDown() override {
    if (pool_ == nullptr) return;
    EXPECT_TRUE(pool_full(*pool_)) << rte_mempool_avail_count(pool_->mempool()) << " of " << pool_->mempool()->size;
    EXPECT_EQ(pool_->available_descriptors(), pool_->total_descriptors());
  }
  std::unique_ptr<MbufPool> make_pool(uint32_t mbufs, uint32_t cache, uint32_t descriptors) {
    MbufPoolConfig c;
    c.name = unique_name();
    c.mbufs = mbufs;
    c.cache = cache;
    c.clone_descriptors = descriptors;
    c.data_room = kRoom;  // the chain tests below count 2 KiB segments
    auto p = MbufPool::create(c);
    EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message());
    return p.ok() ? std::move(p).value() : nullptr;
  }
  uint64_t copied_tx() const { return pool_->counters()[MbufPoolCounter::kTxCopiedSegments]; }

  std::unique_ptr<MbufPool> pool_;
};

TEST_F(MbufPoolTest, SegmentDescribesTheMbufDataRoom) {
  EXPECT_GE(rte_pktmbuf_priv_size(pool_->mempool()), sizeof(buf::Segment));
  EXPECT_EQ(pool_->segment_capacity(), kRoom);
  buf::Packet p = pool_->alloc(100);
  ASSERT_FALSE(p.empty());
  buf::Segment* s = p.head();
  const auto* m = reinterpret_cast<const rte_mbuf*>(reinterpret_cast<const uint8_t*>(s) - sizeof(rte_mbuf));
  EXPECT_EQ(static_cast<void*>(s), rte_mbuf_to_priv(const_cast<rte_mbuf*>(m)));
  EXPECT_EQ(s->base, m->buf_addr);
  EXPECT_EQ(s->capacity, m->buf_len);
  EXPECT_EQ(s->headroom(), 100u);
  EXPECT_EQ(p.len(), 0u);
  EXPECT_EQ(m->pool, pool_->mempool());
  EXPECT_EQ(rte_mempool_avail_count(pool_->mempool()), pool_->mempool()->size - 1);
}

// net_af_xdp registers the pool as a umem of equal frames (MbufPool::kObjectSize): a
// default pool's objects must be exactly one page and back to back, or the kernel
// rejects the descriptors of the objects past the umem's end and transmit stalls.
TEST_F(MbufPoolTest, DefaultPoolObjectsArePagesBackToBack) {
  MbufPoolConfig c;
  c.name = unique_name();
  c.mbufs = 1023;
  auto created = MbufPool::create(c);
  ASSERT_TRUE(created.ok()) << created.error().message();
  MbufPool& pool = **created;
  rte_mempool* mp = pool.mempool();
  EXPECT_EQ(mp->header_size + mp->elt_size + mp->trailer_size, MbufPool::kObjectSize);
  EXPECT_TRUE(pool.evenly_spaced());
  EXPECT_EQ(pool.segment_capacity(), rte_pktmbuf_data_room_size(mp));
  EXPECT_GE(pool.segment_capacity(), uint32_t{RTE_PKTMBUF_HEADROOM} + 1518);  // a 1500-MTU frame
  std::vector<uintptr_t> addresses;
  rte_mempool_obj_iter(
      mp, [](rte_mempool*, void* arg, void* obj, unsigned) {
        static_cast<std::vector<uintptr_t>*>(arg)->push_back(reinterpret_cast<uintptr_t>(obj));
      },
      &addresses);
  ASSERT_EQ(addresses.size(), mp->size);
  std::sort(addresses.begin(), addresses.end());
  for (size_t i = 1; i < addresses.size(); ++i) ASSERT_EQ(addresses[i] - addresses[i - 1], MbufPool::kObjectSize) << i;
  const auto first_chunk = reinterpret_cast<uintptr_t>(STAILQ_FIRST(&mp->mem_list)->addr);
  // ... starting at the first memory chunk's start, where af_xdp's umem starts.
  EXPECT_EQ(addresses.front() - mp->header_size, first_chunk);
}

TEST_F(MbufPoolTest, AllocAndFreeReturnEveryMbuf) {
  std::vector<buf::Packet> held;
  for (int i = 0; i < 300; ++i) {
    held.push_back(pool_->alloc(128));
    ASSERT_FALSE(held.back().empty());
    uint8_t* d = held.back().append(64);
    ASSERT_NE(d, nullptr);
    std::memset(d, i, 64);
  }
  EXPECT_EQ(rte_mempool_avail_count(pool_->mempool()), pool_->mempool()->size - 300);
  held.clear();
  EXPECT_TRUE(pool_full(*pool_));
  std::vector<buf::Packet> burst(100);
  EXPECT_EQ(pool_->alloc_burst(burst, 64), 100u);
  for (auto& p : burst) EXPECT_EQ(p.head()->headroom(), 64u);
  EXPECT_EQ(pool_->alloc_failures(), 0u);
}

TEST_F(MbufPoolTest, ExhaustionIsCountedAndBurstIsPartial) {
  auto small = make_pool(63, 0, 2);
  ASSERT_NE(small, nullptr);
  const unsigned size = small->mempool()->size;
  std::vector<buf::Packet> all(size + 10);
  EXPECT_EQ(small->alloc_burst(all, 0), size);
  EXPECT_TRUE(all[size].empty());
  EXPECT_EQ(small->segment_alloc_failures(), 1u);
  EXPECT_TRUE(small->alloc(0).empty());
  EXPECT_EQ(small->segment_alloc_failures(), 2u);
  // Clones need descriptors from the side pool: two, then none.
  buf::Packet c1 = all[0].clone(*small), c2 = all[1].clone(*small), c3 = all[2].clone(*small);
  EXPECT_FALSE(c1.empty());
  EXPECT_FALSE(c2.empty());
  EXPECT_TRUE(c3.empty());
  EXPECT_EQ(small->descriptor_alloc_failures(), 1u);
  c1.reset();
  c2.reset();
  all.clear();
  EXPECT_TRUE(pool_full(*small));
  EXPECT_TRUE(small->alloc(small->segment_capacity() + 1).empty());  // headroom beyond the data room
  EXPECT_EQ(small->segment_alloc_failures(), 3u);
  EXPECT_EQ(small->available_descriptors(), 2u);
}

TEST_F(MbufPoolTest, CreateReportsBadNamesAndDuplicates) {
  MbufPoolConfig c;
  c.mbufs = 63;
  c.cache = 0;  // a cache above mbufs / 1.5 is EINVAL
  auto empty = MbufPool::create(c);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, EINVAL);
  c.name = std::string(40, 'x');
  auto long_name = MbufPool::create(c);
  ASSERT_FALSE(long_name.ok());
  EXPECT_EQ(long_name.error().code, ENAMETOOLONG);
  c.name = pool_->mempool()->name;  // taken
  auto taken = MbufPool::create(c);
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().code, EEXIST) << taken.error().message();
  EXPECT_NE(taken.error().message().find("rte_mempool_create_empty"), std::string::npos);
}

TEST_F(MbufPoolTest, ChainToMbufWritesTheMbufHeaders) {
  const Bytes data = pattern(5000);
  buf::Packet p = packet_of(*pool_, data, 128);
  ASSERT_EQ(p.segment_count(), 3u);
  const uint8_t* first = p.data();
  rte_mbuf* m = pool_->to_mbuf(std::move(p));
  ASSERT_NE(m, nullptr);
  EXPECT_TRUE(p.empty());
  EXPECT_EQ(m->nb_segs, 3);
  EXPECT_EQ(m->pkt_len, 5000u);
  EXPECT_EQ(m->data_off, 128);
  EXPECT_EQ(rte_pktmbuf_mtod(m, const uint8_t*), first);  // the same bytes, not a copy
  uint32_t sum = 0;
  for (const rte_mbuf* x = m; x != nullptr; x = x->next) sum += x->data_len;
  EXPECT_EQ(sum, 5000u);
  EXPECT_EQ(mbuf_bytes(m), data);
  EXPECT_EQ(copied_tx(), 0u);
  rte_pktmbuf_free(m);
}

TEST_F(MbufPoolTest, FromMbufAdoptsADpdkChainWithoutCopying) {
  // A chain as a PMD would hand it over: three mbufs, each with its own data.
  const Bytes data = pattern(3000, 5);
  rte_mbuf* head = nullptr;
  rte_mbuf* tail = nullptr;
  size_t off = 0;
  for (size_t len : {1000, 1500, 500}) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_->mempool());
    ASSERT_NE(m, nullptr);
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(len)), data.data() + off, len);
    off += len;
    if (head == nullptr) {
      head = m;
    } else {
      ASSERT_EQ(rte_pktmbuf_chain(head, m), 0);
    }
    tail = m;
  }
  const uint8_t* tail_data = rte_pktmbuf_mtod(tail, const uint8_t*);
  buf::Packet p = pool_->from_mbuf(head);
  ASSERT_FALSE(p.empty());
  EXPECT_EQ(p.len(), 3000u);
  EXPECT_EQ(p.segment_count(), 3u);
  EXPECT_EQ(p.head()->headroom(), RTE_PKTMBUF_HEADROOM);
  EXPECT_EQ(p.head()->next->next->data(), tail_data);
  EXPECT_EQ(bytes_of(p), data);
  EXPECT_EQ(pool_->counters()[MbufPoolCounter::kRxCopiedPackets], 0u);
  // Headers can be pushed into the rx headroom, as core/ does on an echo reply.
  EXPECT_NE(p.prepend(14), nullptr);
}

TEST_F(MbufPoolTest, ReceiveChecksumVerdictsBecomeOffloadBits) {
  struct Case {
    uint64_t ol_flags;
    uint8_t offload;
  };
  const Case cases[] = {
      {0, 0},
      {RTE_MBUF_F_RX_IP_CKSUM_GOOD, buf::kRxIpv4ChecksumGood},
      {RTE_MBUF_F_RX_L4_CKSUM_GOOD, buf::kRxL4ChecksumGood},
      {RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD, buf::kRxIpv4ChecksumGood | buf::kRxL4ChecksumGood},
      {RTE_MBUF_F_RX_IP_CKSUM_BAD | RTE_MBUF_F_RX_L4_CKSUM_BAD, 0},
      {RTE_MBUF_F_RX_IP_CKSUM_NONE | RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN, 0},
  };
  for (const Case& c : cases) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_->mempool());
    ASSERT_NE(m, nullptr);
    ASSERT_NE(rte_pktmbuf_append(m, 60), nullptr);
    m->ol_flags = c.ol_flags;
    buf::Packet p = pool_->from_mbuf(m);
    ASSERT_FALSE(p.empty());
    EXPECT_EQ(p.offload(), c.offload) << std::hex << c.ol_flags;
  }
  buf::Packet fresh = pool_->alloc(0);
  ASSERT_FALSE(fresh.empty());
  EXPECT_EQ(fresh.offload(), 0) << "a reused mbuf's verdict does not leak into a new packet";
}

TEST_F(MbufPoolTest, RoundTripKeepsEveryByteAndOffset) {
  for (size_t len : {0, 1, 60, 1514, 2048, 4000, 9000}) {
    const Bytes data = pattern(len, static_cast<uint8_t>(len));
    buf::Packet p = packet_of(*pool_, data, 64);
    ASSERT_FALSE(p.empty()) << len;
    const size_t segs = p.segment_count();
    rte_mbuf* m = pool_->to_mbuf(std::move(p));
    ASSERT_NE(m, nullptr) << len;
    EXPECT_EQ(m->pkt_len, len);
    EXPECT_EQ(m->nb_segs, segs) << len;
    buf::Packet back = pool_->from_mbuf(m);
    EXPECT_EQ(bytes_of(back), data) << len;
    EXPECT_EQ(back.head()->headroom(), 64u) << len;
  }
  EXPECT_EQ(copied_tx(), 0u);
}

TEST_F(MbufPoolTest, EmptySegmentsAreLeftOut) {
  buf::Packet p = packet_of(*pool_, pattern(100), 32);
  buf::Packet empty = pool_->alloc(0);
  p.chain(std::move(empty));
  p.chain(packet_of(*pool_, pattern(50, 9), 0));
  ASSERT_EQ(p.segment_count(), 3u);
  Bytes want = bytes_of(p);
  rte_mbuf* m = pool_->to_mbuf(std::move(p));
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->nb_segs, 2);
  EXPECT_EQ(mbuf_bytes(m), want);
  rte_pktmbuf_free(m);
  // A packet with no bytes at all is one empty mbuf.
  m = pool_->to_mbuf(pool_->alloc(16));
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->nb_segs, 1);
  EXPECT_EQ(m->pkt_len, 0u);
  rte_pktmbuf_free(m);
  EXPECT_EQ(pool_->to_mbuf(buf::Packet()), nullptr);
}

// Clone + to_mbuf + free, in every order. The fixture checks that each mbuf and
// descriptor came back exactly once.
enum class Sent { kOriginal, kClone };
enum class FreedFirst { kMbuf, kKept };

class MbufPoolClones : public MbufPoolTest,
                       public ::testing::WithParamInterface<std::tuple<Sent, FreedFirst, size_t>> {};

TEST_P(MbufPoolClones, SharedStorageIsCopiedAndFreedOnce) {
  const auto [sent, freed_first, len] = GetParam();
  const Bytes data = pattern(len, 3);
  buf::Packet original = packet_of(*pool_, data, 128);
  buf::Packet clone = original.clone(*pool_);
  ASSERT_FALSE(clone.empty());
  ASSERT_FALSE(original.head()->writable());
  buf::Packet& tx = sent == Sent::kOriginal ? original : clone;
  buf::Packet& kept = sent == Sent::kOriginal ? clone : original;
  const size_t segs = tx.segment_count();

  rte_mbuf* m = pool_->to_mbuf(std::move(tx));
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(copied_tx(), segs);  // shared storage never goes to the PMD
  EXPECT_EQ(mbuf_bytes(m), data);
  // The copy does not share bytes with what we kept, and what we kept is whole and
  // writable again (its storage has one user).
  EXPECT_NE(rte_pktmbuf_mtod(m, const uint8_t*), kept.data());
  EXPECT_TRUE(kept.head()->writable());
  if (freed_first == FreedFirst::kMbuf) {
    rte_pktmbuf_free(m);
    EXPECT_EQ(bytes_of(kept), data);
    kept.reset();
  } else {
    EXPECT_EQ(bytes_of(kept), data);
    kept.reset();
    EXPECT_EQ(mbuf_bytes(m), data);
    rte_pktmbuf_free(m);
  }
}

INSTANTIATE_TEST_SUITE_P(Orders, MbufPoolClones,
                         ::testing::Combine(::testing::Values(Sent::kOriginal, Sent::kClone),
                                            ::testing::Values(FreedFirst::kMbuf, FreedFirst::kKept),
                                            ::testing::Values(size_t{60}, size_t{5000})),
                         [](const auto& p) {
                           return std::string(std::get<0>(p.param) == Sent::kOriginal ? "SendOriginal" : "SendClone") +
                                  (std::get<1>(p.param) == FreedFirst::kMbuf ? "_FreeMbufFirst" : "_FreeKeptFirst") +
                                  "_" + std::to_string(std::get<2>(p.param));
                         });

TEST_F(MbufPoolTest, CloneOutlivingItsOriginalGoesWithoutCopy) {
  const Bytes data = pattern(3000, 8);
  buf::Packet original = packet_of(*pool_, data, 128);
  buf::Packet clone = original.clone(*pool_);
  ASSERT_TRUE(clone.trim_front(14));  // the clone has its own view of the bytes
  const uint8_t* view = clone.data();
  original.reset();  // the direct descriptors stay parked as the storage's owners
  EXPECT_EQ(pool_->available_descriptors(), pool_->total_descriptors() - 2);
  rte_mbuf* m = pool_->to_mbuf(std::move(clone));
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(copied_tx(), 0u);
  EXPECT_EQ(rte_pktmbuf_mtod(m, const uint8_t*), view);
  EXPECT_EQ(mbuf_bytes(m), Bytes(data.begin() + 14, data.end()));
  EXPECT_EQ(pool_->available_descriptors(), pool_->total_descriptors());
  rte_pktmbuf_free(m);
}

TEST_F(MbufPoolTest, PacketChainedWithItsOwnCloneIsSentWhole) {
  const Bytes data = pattern(700, 4);
  buf::Packet p = packet_of(*pool_, data, 128);
  p.chain(p.clone(*pool_));  // the same storage twice in one chain
  rte_mbuf* m = pool_->to_mbuf(std::move(p));
  ASSERT_NE(m, nullptr);
  Bytes twice = data;
  twice.insert(twice.end(), data.begin(), data.end());
  EXPECT_EQ(mbuf_bytes(m), twice);
  EXPECT_GE(copied_tx(), 1u);
  rte_pktmbuf_free(m);
}

TEST_F(MbufPoolTest, ForeignPoolPacketsAreCopied) {
  buf::HeapPacketPool heap(8, 1000);
  const Bytes data = pattern(2500, 6);
  buf::Packet p = packet_of(heap, data, 0);
  ASSERT_EQ(p.segment_count(), 3u);
  rte_mbuf* m = pool_->to_mbuf(std::move(p));
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(heap.available_segments(), 8u);
  EXPECT_EQ(copied_tx(), 3u);
  EXPECT_EQ(mbuf_bytes(m), data);
  rte_pktmbuf_free(m);
}

TEST_F(MbufPoolTest, ToMbufWithoutMbufsForTheCopyLeavesThePacket) {
  auto small = make_pool(31, 0, 4);
  ASSERT_NE(small, nullptr);
  std::vector<buf::Packet> hog(small->mempool()->size);
  ASSERT_EQ(small->alloc_burst(hog, 0), hog.size());
  buf::HeapPacketPool heap(4);
  const Bytes data = pattern(300, 1);
  buf::Packet p = packet_of(heap, data, 0);
  EXPECT_EQ(small->to_mbuf(std::move(p)), nullptr);
  ASSERT_FALSE(p.empty());
  EXPECT_EQ(bytes_of(p), data);
  EXPECT_EQ(small->counters()[MbufPoolCounter::kTxNoMbufForCopy], 1u);
  // One mbuf back: the copy now succeeds.
  hog.pop_back();
  rte_mbuf* m = small->to_mbuf(std::move(p));
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(mbuf_bytes(m), data);
  rte_pktmbuf_free(m);
  hog.clear();
  EXPECT_TRUE(pool_full(*small));
}

TEST_F(MbufPoolTest, IndirectMbufsAreCopiedOnReceive) {
  // An rx mbuf we cannot carry a Segment in: an indirect mbuf attached to another
  // (DPDK refcnt 2 on the direct one). Either reference may go first.
  const Bytes data = pattern(200, 2);
  for (bool direct_freed_first : {false, true}) {
    rte_mbuf* direct = rte_pktmbuf_alloc(pool_->mempool());
    ASSERT_NE(direct, nullptr);
    std::memcpy(rte_pktmbuf_append(direct, 200), data.data(), 200);
    rte_mbuf* indirect = rte_pktmbuf_alloc(pool_->mempool());
    ASSERT_NE(indirect, nullptr);
    rte_pktmbuf_attach(indirect, direct);
    EXPECT_EQ(rte_mbuf_refcnt_read(direct), 2);
    const uint8_t* shared = rte_pktmbuf_mtod(direct, const uint8_t*);
    if (direct_freed_first) rte_pktmbuf_free(direct);
    buf::Packet p = pool_->from_mbuf(indirect);
    ASSERT_FALSE(p.empty());
    EXPECT_EQ(bytes_of(p), data);
    EXPECT_NE(p.data(), shared);
    if (!direct_freed_first) {
      EXPECT_EQ(rte_mbuf_refcnt_read(direct), 1);  // the indirect one was freed and detached
      rte_pktmbuf_free(direct);
    }
  }
  EXPECT_EQ(pool_->counters()[MbufPoolCounter::kRxCopiedPackets], 2u);
}

TEST_F(MbufPoolTest, MbufsWithoutRoomForASegmentAreCopied) {
  rte_mempool* plain = rte_pktmbuf_pool_create(unique_name().c_str(), 63, 0, 0, kRoom, SOCKET_ID_ANY);
  ASSERT_NE(plain, nullptr);
  const Bytes data = pattern(1000, 7);
  rte_mbuf* m = rte_pktmbuf_alloc(plain);
  std::memcpy(rte_pktmbuf_append(m, 1000), data.data(), 1000);
  buf::Packet p = pool_->from_mbuf(m);
  EXPECT_EQ(bytes_of(p), data);
  EXPECT_EQ(pool_->counters()[MbufPoolCounter::kRxCopiedPackets], 1u);
  EXPECT_EQ(rte_mempool_avail_count(plain), plain->size);  // the original went back at once
  rte_mempool_free(plain);
}

TEST_F(MbufPoolTest, AnotherPoolsMbufsAreAdoptedAndGoHome) {
  // Over a wire like net_ring, one pool's mbufs arrive at a port fed by another.
  auto other = make_pool(63, 0, 0);
  ASSERT_NE(other, nullptr);
  const Bytes data = pattern(400, 1);
  rte_mbuf* m = other->to_mbuf(packet_of(*other, data, 128));
  ASSERT_NE(m, nullptr);
  buf::Packet p = pool_->from_mbuf(m);
  EXPECT_EQ(bytes_of(p), data);
  EXPECT_EQ(pool_->counters()[MbufPoolCounter::kRxCopiedPackets], 0u);
  EXPECT_EQ(p.head()->pool, pool_.get());
  EXPECT_FALSE(pool_full(*other));
  // Sent on from here, it still needs no copy; freed, it returns to `other`.
  rte_mbuf* again = pool_->to_mbuf(std::move(p));
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again, m);
  EXPECT_EQ(copied_tx(), 0u);
  rte_pktmbuf_free(again);
  EXPECT_TRUE(pool_full(*other));
}

}  // namespace
}  // namespace joyride::dev::dpdk

namespace joyride::dev::dpdk {
namespace {

// buf::kTxL4ChecksumPartial becomes DPDK's transmit checksum request, by the protocol
// at frame byte 23; unmarked frames and other protocols ask for nothing.
TEST_F(MbufPoolTest, TxChecksumMarkBecomesTheDpdkRequest) {
  struct Case {
    uint8_t protocol;
    bool marked;
    uint64_t flags;
  };
  for (const Case& c : {Case{6, true, RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM},
                        Case{17, true, RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM},
                        Case{1, true, 0}, Case{6, false, 0}}) {
    Bytes frame = pattern(14 + 20 + 20 + 100);
    frame[23] = c.protocol;
    buf::Packet p = packet_of(*pool_, frame);
    ASSERT_FALSE(p.empty());
    if (c.marked) p.set_offload(buf::kTxL4ChecksumPartial);
    rte_mbuf* m = pool_->to_mbuf(std::move(p));
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->ol_flags, c.flags) << int{c.protocol} << " marked " << c.marked;
    if (c.flags != 0) {
      EXPECT_EQ(m->l2_len, 14u);
      EXPECT_EQ(m->l3_len, 20u);
    }
    EXPECT_EQ(mbuf_bytes(m), frame);  // the bytes themselves are the stack's
    rte_pktmbuf_free(m);
  }
}

TEST_F(MbufPoolTest, TsoMarkBecomesTheDpdkSegmentationRequest) {
  // A TCP frame of 3 segments' payload with 32 bytes of TCP header (timestamps).
  Bytes frame = pattern(14 + 20 + 32 + 3 * 1448);
  frame[23] = 6;
  frame[14 + 20 + 12] = 8 << 4;  // data offset: 32 bytes
  frame[14 + 10] = 0x12;         // an IPv4 header checksum the device is to redo
  frame[14 + 11] = 0x34;
  buf::Packet p = packet_of(*pool_, frame);
  ASSERT_FALSE(p.empty());
  p.set_offload(buf::kTxL4ChecksumPartial);
  p.set_tso(1448);
  rte_mbuf* m = pool_->to_mbuf(std::move(p));
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->ol_flags,
            RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IP_CKSUM);
  EXPECT_EQ(m->l2_len, 14u);
  EXPECT_EQ(m->l3_len, 20u);
  EXPECT_EQ(m->l4_len, 32u);
  EXPECT_EQ(m->tso_segsz, 1448u);
  EXPECT_GT(m->nb_segs, 1u);  // 4.4 KB: a chain
  frame[14 + 10] = frame[14 + 11] = 0;  // zeroed for the device, as DPDK asks
  EXPECT_EQ(mbuf_bytes(m), frame);
  rte_pktmbuf_free(m);
}

}  // namespace
}  // namespace joyride::dev::dpdk
