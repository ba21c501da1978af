// Small pieces of core/: Interface/InterfaceTable, TxQueue, ReadinessQueue, SocketSlab.
#include <gtest/gtest.h>

#include <vector>

#include "joyride/buf/heap_pool.h"
#include "joyride/core/frame.h"
#include "joyride/core/interface.h"
#include "joyride/core/socket.h"
#include "joyride/core/socket_slab.h"

namespace joyride::core {
namespace {

using wire::Ipv4Address;
using wire::Ipv4Cidr;

Ipv4Address ip(const char* s) { return *Ipv4Address::parse(s); }

// ---- Interface -------------------------------------------------------------------

TEST(InterfaceTest, AddressesSourceSelectionAndBroadcast) {
  InterfaceTable t;
  const uint32_t a = t.add(InterfaceConfig{"a", {}, {Ipv4Cidr(ip("198.18.0.1"), 24), Ipv4Cidr(ip("10.0.0.1"), 8)}, 1500});
  const uint32_t b = t.add(InterfaceConfig{"b", {}, {Ipv4Cidr(ip("192.0.2.1"), 31)}, 9000});
  const uint32_t c = t.add(InterfaceConfig{"c", {}, {}, 1500});
  EXPECT_EQ(a, 0u);
  EXPECT_EQ(b, 1u);
  EXPECT_EQ(t.size(), 3u);

  EXPECT_TRUE(t.is_local(ip("198.18.0.1")));
  EXPECT_TRUE(t.is_local(ip("10.0.0.1")));
  EXPECT_TRUE(t.is_local(ip("192.0.2.1")));
  EXPECT_FALSE(t.is_local(ip("198.18.0.2")));
  EXPECT_EQ(t.find_by_address(ip("192.0.2.1"))->ifindex, b);
  EXPECT_EQ(t.get(b)->mtu(), 9000);
  EXPECT_EQ(t.get(99), nullptr);

  const Interface* ia = t.get(a);
  EXPECT_EQ(ia->source_for(ip("10.9.9.9")), ip("10.0.0.1"));      // prefix match
  EXPECT_EQ(ia->source_for(ip("198.18.0.77")), ip("198.18.0.1"));
  EXPECT_EQ(ia->source_for(ip("8.8.8.8")), ip("198.18.0.1"));     // else the primary
  EXPECT_FALSE(t.get(c)->source_for(ip("8.8.8.8")).has_value());

  EXPECT_TRUE(ia->is_directed_broadcast(ip("198.18.0.255")));
  EXPECT_TRUE(ia->is_directed_broadcast(ip("10.255.255.255")));
  EXPECT_FALSE(ia->is_directed_broadcast(ip("198.18.0.254")));
  // RFC 3021: a /31 has no broadcast address.
  EXPECT_FALSE(t.get(b)->is_directed_broadcast(ip("192.0.2.1")));
}

// ---- TxQueue ---------------------------------------------------------------------

class TxQueueTest : public ::testing::Test {
 protected:
  buf::Packet tagged(uint8_t tag) {
    buf::Packet p = pool.alloc(0);
    *p.append(1) = tag;
    return p;
  }
  buf::HeapPacketPool pool{64};
};

TEST_F(TxQueueTest, BoundedAndRefusesWhenFull) {
  TxQueue q(3);
  EXPECT_TRUE(q.push(0, tagged(1)));
  EXPECT_TRUE(q.push(0, tagged(2)));
  EXPECT_TRUE(q.push(0, tagged(3)));
  const uint32_t before = pool.available_segments();
  EXPECT_FALSE(q.push(0, tagged(4)));
  EXPECT_EQ(pool.available_segments(), before);  // the refused packet was freed
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.capacity(), 3u);
}

TEST_F(TxQueueTest, RingWrapsAndKeepsFifoOrder) {
  TxQueue q(4);
  uint8_t next_in = 0;
  uint8_t next_out = 0;
  // Push 3, pop 2, over and over: head and tail wrap many times.
  for (int round = 0; round < 20; ++round) {
    while (q.size() < 3) {
      ASSERT_TRUE(q.push(next_in % 5, tagged(next_in)));
      ++next_in;
    }
    Frame out[2];
    ASSERT_EQ(q.pop_burst(out), 2u);
    for (auto& f : out) {
      EXPECT_EQ(f.packet.data()[0], next_out);
      EXPECT_EQ(f.ifindex, next_out % 5u);
      ++next_out;
    }
  }
  std::vector<Frame> rest(10);
  EXPECT_EQ(q.pop_burst(rest), 1u);
  EXPECT_EQ(rest[0].packet.data()[0], next_out);
  EXPECT_TRUE(q.empty());
  Frame none[1];
  EXPECT_EQ(q.pop_burst(none), 0u);
}

TEST_F(TxQueueTest, PopBurstTakesAtMostTheSpan) {
  TxQueue q(8);
  for (uint8_t i = 0; i < 5; ++i) ASSERT_TRUE(q.push(0, tagged(i)));
  Frame out[3];
  EXPECT_EQ(q.pop_burst(out), 3u);
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.pop_burst(std::span<Frame>()), 0u);
  EXPECT_EQ(q.size(), 2u);
}

// ---- ReadinessQueue ----------------------------------------------------------------

SocketId sid(uint32_t i, uint32_t gen = 0) { return SocketId{i, gen, SocketKind::kUdp}; }

TEST(ReadinessQueueTest, OneEventPerSocketWithTheLatestReadiness) {
  ReadinessQueue q;
  q.mark(sid(1), kWritable);
  q.mark(sid(2), kReadable);
  q.mark(sid(1), kReadable | kWritable);
  EXPECT_EQ(q.size(), 2u);
  SocketEvent ev[4];
  ASSERT_EQ(q.take(ev), 2u);
  EXPECT_EQ(ev[0].socket, sid(1));
  EXPECT_EQ(ev[0].readiness, kReadable | kWritable);
  EXPECT_EQ(ev[1].socket, sid(2));
  EXPECT_EQ(q.size(), 0u);
  EXPECT_EQ(q.take(ev), 0u);
}

TEST(ReadinessQueueTest, PartialTakeThenMarkAgain) {
  ReadinessQueue q;
  for (uint32_t i = 0; i < 5; ++i) q.mark(sid(i), kWritable);
  SocketEvent ev[2];
  ASSERT_EQ(q.take(ev), 2u);
  // A socket already taken changes again: it is queued anew (after the rest).
  q.mark(sid(0), kReadable);
  q.mark(sid(3), kError);  // still pending: updated in place
  EXPECT_EQ(q.size(), 4u);
  SocketEvent rest[8];
  ASSERT_EQ(q.take(rest), 4u);
  EXPECT_EQ(rest[0].socket, sid(2));
  EXPECT_EQ(rest[1].socket, sid(3));
  EXPECT_EQ(rest[1].readiness, kError);
  EXPECT_EQ(rest[3].socket, sid(0));
  EXPECT_EQ(rest[3].readiness, kReadable);
}

TEST(ReadinessQueueTest, ForgetDropsOnlyThatSocket) {
  ReadinessQueue q;
  q.mark(sid(1), kReadable);
  q.mark(sid(2), kReadable);
  q.mark(sid(1, 1), kReadable);  // same slot, another generation: another socket
  q.forget(sid(1));
  EXPECT_EQ(q.size(), 2u);
  SocketEvent ev[4];
  ASSERT_EQ(q.take(ev), 2u);
  EXPECT_EQ(ev[0].socket, sid(2));
  EXPECT_EQ(ev[1].socket, sid(1, 1));
}

TEST(ReadinessQueueTest, ManySocketsKeepFirstMarkOrderAndLatestReadiness) {
  ReadinessQueue q;
  constexpr uint32_t kSockets = 10000;
  for (uint32_t i = 0; i < kSockets; ++i) q.mark(sid(i), kWritable);
  for (uint32_t i = 0; i < kSockets; i += 2) q.mark(sid(i), kReadable | kWritable);
  for (uint32_t i = 0; i < kSockets; i += 3) q.forget(sid(i));
  std::vector<SocketEvent> ev(kSockets);
  const size_t n = q.take(ev);
  ASSERT_EQ(n, kSockets - (kSockets + 2) / 3);
  uint32_t expected = 0;
  for (size_t k = 0; k < n; ++k, ++expected) {
    if (expected % 3 == 0) ++expected;
    ASSERT_EQ(ev[k].socket, sid(expected));
    EXPECT_EQ(ev[k].readiness, expected % 2 == 0 ? (kReadable | kWritable) : uint32_t{kWritable});
  }
  EXPECT_EQ(q.size(), 0u);
}

// ---- SocketSlab ------------------------------------------------------------------

TEST(SocketSlabTest, StaleIdAfterCloseIsRejected) {
  SocketSlab<int> slab(SocketKind::kUdp, 4);
  auto a = slab.insert(10);
  ASSERT_TRUE(a);
  SocketId old = *a;
  ASSERT_NE(slab.get(old), nullptr);
  EXPECT_TRUE(slab.erase(old));
  EXPECT_EQ(slab.get(old), nullptr);
  EXPECT_FALSE(slab.erase(old));
  auto b = slab.insert(20);  // reuses the slot with a new generation
  ASSERT_TRUE(b);
  EXPECT_EQ(b->index, old.index);
  EXPECT_NE(b->generation, old.generation);
  EXPECT_EQ(slab.get(old), nullptr);
  EXPECT_FALSE(slab.erase(old));
  ASSERT_NE(slab.get(*b), nullptr);
  EXPECT_EQ(*slab.get(*b), 20);
}

TEST(SocketSlabTest, WrongKindOrIndexIsRejected) {
  SocketSlab<int> slab(SocketKind::kUdp, 4);
  SocketId id = *slab.insert(1);
  SocketId other_kind = id;
  other_kind.kind = SocketKind::kPing;
  EXPECT_EQ(slab.get(other_kind), nullptr);
  EXPECT_EQ(slab.get(SocketId{}), nullptr);  // invalid id
  EXPECT_EQ(slab.get(SocketId{77, 0, SocketKind::kUdp}), nullptr);
  EXPECT_FALSE(SocketId{}.valid());
}

TEST(SocketSlabTest, LimitAndCount) {
  SocketSlab<int> slab(SocketKind::kPing, 2);
  auto a = slab.insert(1);
  auto b = slab.insert(2);
  ASSERT_TRUE(a && b);
  auto c = slab.insert(3);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error(), OpenError::kTooManySockets);
  EXPECT_EQ(slab.size(), 2u);
  EXPECT_TRUE(slab.erase(*a));
  EXPECT_EQ(slab.size(), 1u);
  EXPECT_TRUE(slab.insert(4));
  int seen = 0;
  slab.for_each([&](SocketId id, int& v) {
    EXPECT_EQ(id.kind, SocketKind::kPing);
    seen += v;
  });
  EXPECT_EQ(seen, 6);
}

}  // namespace
}  // namespace joyride::core
