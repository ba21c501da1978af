// IPv4 identification per flow (RFC 6864 §4.1, RFC 7739 §5.3; the side channels of
// CVE-2019-10638/10639): an observer who receives our datagrams must not learn from
// their IDs how many we sent to anyone else. Each test mounts the observation: it
// watches one destination's IDs while traffic goes elsewhere.
#include <gtest/gtest.h>

#include <set>

#include "joyride/core/ip_ident.h"
#include "stack_harness.h"

namespace joyride::core::testing {
namespace {

constexpr uint8_t kProtocol = 253;  // RFC 3692 experimental: the harness leaves it unparsed
constexpr wire::Ipv4Address kSecondIp = wire::Ipv4Address::from_octets(198, 18, 0, 3);

Ipv4SendParams params_to(wire::Ipv4Address dst, bool dont_fragment = true) {
  Ipv4SendParams p;
  p.src = kOurIp;
  p.dst = dst;
  p.protocol = kProtocol;
  p.dont_fragment = dont_fragment;
  return p;
}

buf::Packet payload(StackHarness& h, size_t n) {
  buf::Packet p = h.pool.alloc(kPacketHeadroom);
  EXPECT_TRUE(p.append_bytes(pattern(n), h.pool));
  return p;
}

// Two neighbours, both resolved: the peer (A) and a second host (B).
struct TwoDestinations {
  StackHarness h;
  explicit TwoDestinations(uint64_t seed = 1) : h(HarnessOptions{.seed = seed}) { h.resolve(kOtherMac, kSecondIp); }

  // The ID of one datagram sent to dst by the general path (output) or, with `cache`,
  // the cached one (output_cached, TCP's).
  uint16_t send(wire::Ipv4Address dst, Ipv4PathCache* cache = nullptr) {
    Ipv4Layer& ip = h.stack->ipv4();
    const auto sent = cache != nullptr ? ip.output_cached(*cache, params_to(dst), payload(h, 100), h.now)
                                       : ip.output(params_to(dst), payload(h, 100), h.now);
    EXPECT_TRUE(sent);
    const TxFrame f = h.expect_tx();
    EXPECT_TRUE(f.ip.has_value());
    EXPECT_EQ(f.ip->dst, dst);
    return f.ip ? f.ip->ident : 0;
  }
};

TEST(IpIdentTest, TrafficToOneDestinationDoesNotMoveAnothersIds) {
  for (const bool cached : {false, true}) {
    SCOPED_TRACE(cached ? "output_cached" : "output");
    TwoDestinations t;
    Ipv4PathCache cache_a, cache_b;
    Ipv4PathCache* a = cached ? &cache_a : nullptr;
    Ipv4PathCache* b = cached ? &cache_b : nullptr;
    const uint16_t b0 = t.send(kSecondIp, b);
    for (int i = 0; i < 50; ++i) t.send(kPeerIp, a);
    // With one counter for the host, B would see b0 + 51: how much we sent to A.
    EXPECT_EQ(t.send(kSecondIp, b), static_cast<uint16_t>(b0 + 1));
  }
}

TEST(IpIdentTest, IdsToOneDestinationStillIncreaseOnBothPaths) {
  TwoDestinations t;
  Ipv4PathCache cache;
  uint16_t prev = t.send(kPeerIp);
  for (int i = 0; i < 10; ++i) {
    // Alternating paths: one flow has one counter, whichever path sends.
    const uint16_t id = t.send(kPeerIp, i % 2 == 0 ? &cache : nullptr);
    EXPECT_EQ(id, static_cast<uint16_t>(prev + 1));
    prev = id;
  }
}

TEST(IpIdentTest, FragmentsOfOneDatagramShareItsId) {
  TwoDestinations t;
  Ipv4Layer& ip = t.h.stack->ipv4();
  ASSERT_TRUE(ip.output(params_to(kPeerIp, /*dont_fragment=*/false), payload(t.h, 4000), t.h.now));
  const std::vector<TxFrame> frags = t.h.drain_tx();
  ASSERT_EQ(frags.size(), 3u);
  for (const TxFrame& f : frags) {
    ASSERT_TRUE(f.ip.has_value());
    EXPECT_TRUE(f.is_fragment());
    EXPECT_EQ(f.ip->ident, frags[0].ip->ident);
  }
  EXPECT_EQ(t.send(kPeerIp), static_cast<uint16_t>(frags[0].ip->ident + 1)) << "one ID for the whole datagram";
}

TEST(IpIdentTest, StacksWithDifferentSeedsShowUnrelatedIds) {
  TwoDestinations one(1), two(2);
  const std::pair<uint16_t, uint16_t> ids_one{one.send(kPeerIp), one.send(kSecondIp)};
  const std::pair<uint16_t, uint16_t> ids_two{two.send(kPeerIp), two.send(kSecondIp)};
  EXPECT_NE(ids_one.first, ids_two.first);
  EXPECT_NE(ids_one.second, ids_two.second);
  // Nor is B's ID A's plus a constant: the counters start apart at random.
  EXPECT_NE(static_cast<uint16_t>(ids_one.second - ids_one.first),
            static_cast<uint16_t>(ids_two.second - ids_two.first));
}

TEST(IpIdentGeneratorTest, SlotsDependOnTheKeyAndTheWholeTriple) {
  base::SeededRandom r1(1), r2(2);
  const IpIdentGenerator g1(r1), g2(r2);
  // Over many destinations the slots spread out, and another key places them elsewhere.
  std::set<uint16_t> slots;
  int same_under_both_keys = 0;
  for (uint32_t i = 0; i < 256; ++i) {
    const auto dst = wire::Ipv4Address(0x0a000000u + i);
    slots.insert(g1.slot(dst, kOurIp, kProtocol));
    same_under_both_keys += g1.slot(dst, kOurIp, kProtocol) == g2.slot(dst, kOurIp, kProtocol);
    EXPECT_LT(g1.slot(dst, kOurIp, kProtocol), IpIdentGenerator::kSlots);
  }
  EXPECT_GT(slots.size(), 240u);
  EXPECT_LT(same_under_both_keys, 4);
  // Source and protocol are part of the flow too.
  EXPECT_NE(g1.slot(kPeerIp, kOurIp, 6), g1.slot(kPeerIp, kOurIp, 17));
  EXPECT_NE(g1.slot(kPeerIp, kOurIp, 6), g1.slot(kPeerIp, kSecondIp, 6));
}

TEST(IpIdentGeneratorTest, ATsoFrameUsesOneIdPerSegment) {
  base::SeededRandom r(1);
  IpIdentGenerator g(r);
  const uint16_t s = g.slot(kPeerIp, kOurIp, 6);
  const uint16_t first = g.take(s, 5);
  EXPECT_EQ(g.take(s), static_cast<uint16_t>(first + 5));
}

}  // namespace
}  // namespace joyride::core::testing
