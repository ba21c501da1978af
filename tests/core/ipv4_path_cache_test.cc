// Ipv4Layer::output_cached: a flow's cached path must put on the wire exactly what
// output() would, and must stop being used the moment anything it copied changes
// (ARP entry, route, path MTU), handing back to the full path and its ARP rules.
#include <gtest/gtest.h>

#include "stack_harness.h"

namespace joyride::core::testing {
namespace {

constexpr uint8_t kProtocol = 253;  // RFC 3692 experimental: the harness leaves it unparsed

Ipv4SendParams params_to(wire::Ipv4Address dst, uint8_t tos = 0) {
  Ipv4SendParams p;
  p.src = kOurIp;
  p.dst = dst;
  p.protocol = kProtocol;
  p.dont_fragment = true;
  p.tos = tos;
  return p;
}

buf::Packet payload(StackHarness& h, size_t n, uint8_t seed = 0) {
  buf::Packet p = h.pool.alloc(kPacketHeadroom);
  EXPECT_TRUE(p.append_bytes(pattern(n, seed), h.pool));
  return p;
}

// The frame with the IPv4 ident and checksum zeroed: what two sends must share.
Bytes without_ident(Bytes frame) {
  frame[14 + 4] = frame[14 + 5] = 0;
  frame[14 + 10] = frame[14 + 11] = 0;
  return frame;
}

TEST(Ipv4PathCacheTest, CachedFramesEqualTheFullPathByteForByte) {
  StackHarness h;
  Ipv4Layer& ip = h.stack->ipv4();
  Ipv4PathCache cache;
  for (uint8_t tos : {0, 2, 0xb8}) {
    ASSERT_TRUE(ip.output(params_to(kPeerIp, tos), payload(h, 1000, tos), h.now));
    const TxFrame full = h.expect_tx();
    ASSERT_TRUE(ip.output_cached(cache, params_to(kPeerIp, tos), payload(h, 1000, tos), h.now));
    const TxFrame cached = h.expect_tx();
    ASSERT_TRUE(cached.ip.has_value()) << "the cached frame parses, checksum included";
    EXPECT_NE(cache.version, 0u) << "a reachable neighbour is cached";
    EXPECT_EQ(cached.ip->dscp_ecn, tos);
    EXPECT_EQ(cached.ip->ident, static_cast<uint16_t>(full.ip->ident + 1)) << "one ident sequence";
    EXPECT_EQ(without_ident(cached.bytes), without_ident(full.bytes));
  }
  EXPECT_EQ(h.counter("ipv4.tx_packets"), 6u);
  EXPECT_EQ(h.counter("link.tx_frames"), 6u + 1u) << "and the ARP reply sent while resolving the peer";
}

TEST(Ipv4PathCacheTest, ANewMacForTheNeighbourIsUsedAtOnce) {
  StackHarness h;
  Ipv4PathCache cache;
  ASSERT_TRUE(h.stack->ipv4().output_cached(cache, params_to(kPeerIp), payload(h, 100), h.now));
  EXPECT_EQ(h.expect_tx().eth.dst, kPeerMac);
  // The peer moves to another MAC and says so with a reply to us.
  h.inject_arp(wire::ArpRepr{wire::ArpOp::kReply, kOtherMac, kPeerIp, kOurMac, kOurIp}, kOurMac);
  h.drain_tx();
  ASSERT_TRUE(h.stack->ipv4().output_cached(cache, params_to(kPeerIp), payload(h, 100), h.now));
  EXPECT_EQ(h.expect_tx().eth.dst, kOtherMac);
}

TEST(Ipv4PathCacheTest, ARouteChangeMovesTheFlowToTheNewGateway) {
  StackHarness h(HarnessOptions{.default_route = true});
  const auto other_gw = wire::Ipv4Address::from_octets(198, 18, 0, 253);
  h.resolve(kOtherMac, other_gw);
  Ipv4PathCache cache;
  ASSERT_TRUE(h.stack->ipv4().output_cached(cache, params_to(kRemoteIp), payload(h, 100), h.now));
  EXPECT_EQ(h.expect_tx().eth.dst, kGatewayMac);
  h.stack->routes().add(Route{wire::Ipv4Cidr(wire::Ipv4Address::from_octets(203, 0, 113, 0), 24), other_gw, 0, 0});
  ASSERT_TRUE(h.stack->ipv4().output_cached(cache, params_to(kRemoteIp), payload(h, 100), h.now));
  EXPECT_EQ(h.expect_tx().eth.dst, kOtherMac);
}

TEST(Ipv4PathCacheTest, ASmallerPathMtuRefusesWhatNoLongerFitsUntilItExpires) {
  StackHarness h;
  Ipv4Layer& ip = h.stack->ipv4();
  Ipv4PathCache cache;
  ASSERT_TRUE(ip.output_cached(cache, params_to(kPeerIp), payload(h, 1200), h.now));
  h.expect_tx();
  ip.update_path_mtu(kPeerIp, 1000, h.now);
  auto refused = ip.output_cached(cache, params_to(kPeerIp), payload(h, 1200), h.now);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), SendError::kMessageTooLong);
  EXPECT_EQ(h.counter("ipv4.drop_fragment_needed"), 1u);
  h.expect_no_tx();
  ASSERT_TRUE(ip.output_cached(cache, params_to(kPeerIp), payload(h, 900), h.now));
  h.expect_tx();
  h.advance(base::Duration::seconds(601));  // Ipv4Config::pmtu_expiry is 600 s
  h.drain_tx();
  ASSERT_TRUE(ip.output_cached(cache, params_to(kPeerIp), payload(h, 1200), h.now));
  EXPECT_EQ(h.expect_tx().ip->payload_len, 1200u);
}

TEST(Ipv4PathCacheTest, AnUnresolvedNeighbourGoesThroughArpAndIsCachedOnceReachable) {
  StackHarness h(HarnessOptions{.resolve_peer = false});
  Ipv4PathCache cache;
  ASSERT_TRUE(h.stack->ipv4().output_cached(cache, params_to(kPeerIp), payload(h, 100), h.now));
  EXPECT_EQ(cache.version, 0u) << "nothing to cache before ARP answers";
  const TxFrame request = h.expect_tx();
  ASSERT_TRUE(request.arp.has_value());
  EXPECT_EQ(request.arp->target_ip, kPeerIp);
  h.expect_no_tx();
  h.inject_arp(wire::ArpRepr{wire::ArpOp::kReply, kPeerMac, kPeerIp, kOurMac, kOurIp}, kOurMac);
  EXPECT_EQ(h.expect_tx().eth.dst, kPeerMac) << "the queued datagram leaves on resolution";
  ASSERT_TRUE(h.stack->ipv4().output_cached(cache, params_to(kPeerIp), payload(h, 100), h.now));
  EXPECT_NE(cache.version, 0u);
  EXPECT_EQ(h.expect_tx().eth.dst, kPeerMac);
}

TEST(Ipv4PathCacheTest, AStaleNeighbourIsRefreshedAsOnTheFullPath) {
  StackHarness h(HarnessOptions{.configure = [](StackConfig& c) {
    c.arp.reachable_time = base::Duration::seconds(30);
  }});
  Ipv4PathCache cache;
  ASSERT_TRUE(h.stack->ipv4().output_cached(cache, params_to(kPeerIp), payload(h, 100), h.now));
  h.expect_tx();
  h.advance(base::Duration::seconds(31));  // kReachable -> kStale
  h.expect_no_tx();
  ASSERT_TRUE(h.stack->ipv4().output_cached(cache, params_to(kPeerIp), payload(h, 100), h.now));
  EXPECT_EQ(cache.version, 0u) << "a stale neighbour is not cached";
  const auto frames = h.drain_tx();
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_TRUE(frames[0].ip.has_value()) << "sent through the stale entry without waiting";
  ASSERT_TRUE(frames[1].arp.has_value());
  EXPECT_EQ(frames[1].eth.dst, kPeerMac) << "a unicast refresh";
}

}  // namespace
}  // namespace joyride::core::testing
