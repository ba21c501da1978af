#include "joyride/core/arp_resolver.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "joyride/base/random.h"
#include "joyride/buf/heap_pool.h"
#include "joyride/core/frame.h"
#include "joyride/wire/arp.h"
#include "joyride/wire/ethernet.h"

namespace joyride::core {
namespace {

using base::Duration;
using base::Instant;
using wire::ArpOp;
using wire::ArpRepr;
using wire::EtherType;
using wire::EthernetRepr;
using wire::Ipv4Address;
using wire::MacAddress;

constexpr MacAddress kOurMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
constexpr MacAddress kPeerMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}};
constexpr MacAddress kPeerMac2{{0x02, 0x00, 0x00, 0x00, 0x00, 0x03}};
constexpr Ipv4Address kOurIp = Ipv4Address::from_octets(198, 18, 0, 1);
constexpr Ipv4Address kPeerIp = Ipv4Address::from_octets(198, 18, 0, 2);
constexpr Ipv4Address kOtherIp = Ipv4Address::from_octets(198, 18, 0, 3);
constexpr size_t kIpHeaderLen = 20;

class ArpResolverTest : public ::testing::Test {
 protected:
  ArpResolverTest() {
    interfaces.add(InterfaceConfig{"eth0", kOurMac, {wire::Ipv4Cidr(kOurIp, 24)}, 1500});
    make(ArpConfig{});
  }

  void make(const ArpConfig& c) {
    config = c;
    arp.reset();
    arp = std::make_unique<ArpResolver>(config, interfaces, wheel, pool, link);
  }

  void advance(Duration d) {
    now += d;
    wheel.advance(now);
  }
  // As a host loop would: a timer armed by a callback fires in a later advance().
  void run_for(Duration d, Duration step = Duration::millis(10)) {
    for (Duration t = Duration::zero(); t < d; t += step) advance(step);
  }

  std::vector<Frame> take_tx() {
    std::vector<Frame> out(tx.size());
    out.resize(tx.pop_burst(out));
    return out;
  }

  void inject(const ArpRepr& r) {
    uint8_t bytes[ArpRepr::kLen];
    r.emit(bytes);
    arp->input(0, bytes, now);
  }
  ArpRepr request(MacAddress smac, Ipv4Address sip, Ipv4Address tip) {
    return ArpRepr{ArpOp::kRequest, smac, sip, MacAddress{}, tip};
  }
  ArpRepr reply(MacAddress smac, Ipv4Address sip, MacAddress tmac, Ipv4Address tip) {
    return ArpRepr{ArpOp::kReply, smac, sip, tmac, tip};
  }
  void inject_reply_from_peer(MacAddress mac = kPeerMac) { inject(reply(mac, kPeerIp, kOurMac, kOurIp)); }

  // An IPv4 datagram whose last header byte is `tag`, to follow it through the resolver.
  buf::Packet ip_packet(uint8_t tag) {
    buf::Packet p = pool.alloc(kPacketHeadroom);
    uint8_t* d = p.append(kIpHeaderLen);
    std::memset(d, 0, kIpHeaderLen);
    d[0] = 0x45;
    d[kIpHeaderLen - 1] = tag;
    return p;
  }
  void send(Ipv4Address next_hop, uint8_t tag = 0) { arp->send_ipv4(0, next_hop, ip_packet(tag), now); }

  void resolve_peer() {
    send(kPeerIp, 0);
    inject_reply_from_peer();
    take_tx();
    ASSERT_EQ(arp->find(kPeerIp)->state, ArpState::kReachable);
  }

  static EthernetRepr eth_of(const Frame& f) {
    auto eth = EthernetRepr::parse(f.packet.head_bytes());
    EXPECT_TRUE(eth.ok());
    return eth.ok() ? *eth : EthernetRepr{};
  }
  static ArpRepr arp_of(const Frame& f) {
    EXPECT_EQ(eth_of(f).ethertype, EtherType::kArp);
    auto r = ArpRepr::parse(f.packet.head_bytes().subspan(wire::kEthernetHeaderLen));
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : ArpRepr{};
  }
  static uint8_t tag_of(const Frame& f) {
    EXPECT_EQ(eth_of(f).ethertype, EtherType::kIpv4);
    EXPECT_EQ(f.packet.len(), wire::kEthernetHeaderLen + kIpHeaderLen);
    return f.packet.head_bytes()[wire::kEthernetHeaderLen + kIpHeaderLen - 1];
  }
  static void expect_broadcast_request(const Frame& f, Ipv4Address target) {
    EXPECT_EQ(eth_of(f).dst, MacAddress::broadcast());
    EXPECT_EQ(eth_of(f).src, kOurMac);
    EXPECT_EQ(arp_of(f), (ArpRepr{ArpOp::kRequest, kOurMac, kOurIp, MacAddress{}, target}));
  }
  uint64_t counter(ArpCounter c) const { return arp->counters().get(c); }

  // Declaration order is destruction order in reverse: the resolver and the queued
  // frames give their packets back before the pool goes.
  buf::HeapPacketPool pool{8192};
  InterfaceTable interfaces;
  TxQueue tx{1024};
  EthernetLink link{interfaces, tx};
  Instant now = Instant::from_nanos(1'000'000'000);
  base::TimerWheel wheel{now};
  ArpConfig config;
  std::unique_ptr<ArpResolver> arp;
};

// ---------------------------------------------------------------------------------
// Answering

TEST_F(ArpResolverTest, RequestForOurAddressGetsReply) {
  inject(request(kPeerMac, kPeerIp, kOurIp));
  auto frames = take_tx();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].ifindex, 0u);
  EXPECT_EQ(eth_of(frames[0]).dst, kPeerMac);
  EXPECT_EQ(eth_of(frames[0]).src, kOurMac);
  EXPECT_EQ(arp_of(frames[0]), reply(kOurMac, kOurIp, kPeerMac, kPeerIp));
  EXPECT_EQ(counter(ArpCounter::kRxRequests), 1u);
  EXPECT_EQ(counter(ArpCounter::kTxReplies), 1u);
  // RFC 826 merge: the asker is learnt, kStale until used.
  auto e = arp->find(kPeerIp);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->mac, kPeerMac);
  EXPECT_EQ(e->state, ArpState::kStale);
}

TEST_F(ArpResolverTest, RequestForAnotherAddressIsIgnored) {
  inject(request(kPeerMac, kPeerIp, kOtherIp));
  EXPECT_TRUE(tx.empty());
  EXPECT_EQ(arp->size(), 0u);
  EXPECT_EQ(counter(ArpCounter::kRxRequests), 1u);
}

TEST_F(ArpResolverTest, ProbeForOurAddressIsAnsweredButNotLearnt) {
  inject(request(kPeerMac, Ipv4Address::any(), kOurIp));
  auto frames = take_tx();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(eth_of(frames[0]).dst, kPeerMac);
  EXPECT_EQ(arp_of(frames[0]), reply(kOurMac, kOurIp, kPeerMac, Ipv4Address::any()));
  EXPECT_EQ(arp->size(), 0u);
  // A probe for someone else: nothing to do, nothing learnt.
  inject(request(kPeerMac, Ipv4Address::any(), kOtherIp));
  EXPECT_TRUE(tx.empty());
  EXPECT_EQ(arp->size(), 0u);
}

TEST_F(ArpResolverTest, BadSendersAreDroppedAndCounted) {
  const MacAddress multicast{{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}};
  inject(request(MacAddress::broadcast(), kPeerIp, kOurIp));
  inject(request(multicast, kPeerIp, kOurIp));
  inject(request(kOurMac, kPeerIp, kOurIp));                                     // our MAC
  inject(request(kPeerMac, kOurIp, kOurIp));                                     // conflict
  inject(reply(kPeerMac, kOurIp, MacAddress::broadcast(), kOurIp));              // conflict
  inject(request(kPeerMac, Ipv4Address::broadcast(), kOurIp));                   // broadcast
  inject(request(kPeerMac, Ipv4Address::from_octets(198, 18, 0, 255), kOurIp));  // directed
  inject(request(kPeerMac, Ipv4Address::from_octets(224, 0, 0, 1), kOurIp));     // multicast
  inject(reply(kPeerMac, Ipv4Address::any(), kOurMac, kOurIp));                  // reply from 0
  EXPECT_EQ(counter(ArpCounter::kDropBadSender), 9u);
  EXPECT_TRUE(tx.empty());
  EXPECT_EQ(arp->size(), 0u);
}

TEST_F(ArpResolverTest, ConflictDoesNotPoisonAnExistingEntry) {
  resolve_peer();
  inject(request(kPeerMac2, kOurIp, kPeerIp));
  EXPECT_EQ(arp->find(kPeerIp)->mac, kPeerMac);
  EXPECT_EQ(counter(ArpCounter::kDropBadSender), 1u);
}

// ---------------------------------------------------------------------------------
// Resolving

TEST_F(ArpResolverTest, UnknownNeighbourGetsOneBroadcastRequestAndPacketsWait) {
  send(kPeerIp, 1);
  auto frames = take_tx();
  ASSERT_EQ(frames.size(), 1u);
  expect_broadcast_request(frames[0], kPeerIp);
  send(kPeerIp, 2);
  EXPECT_TRUE(tx.empty()) << "one request per resolution, not per packet";
  auto e = arp->find(kPeerIp);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->state, ArpState::kIncomplete);
  EXPECT_EQ(e->pending, 2u);
  EXPECT_EQ(counter(ArpCounter::kTxRequests), 1u);
}

TEST_F(ArpResolverTest, SenderIsTheSourceAddressForTheNextHop) {
  interfaces.get(0)->config.ipv4.push_back(wire::Ipv4Cidr(Ipv4Address::from_octets(10, 1, 0, 1), 16));
  send(Ipv4Address::from_octets(10, 1, 2, 3));
  auto frames = take_tx();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(arp_of(frames[0]).sender_ip, Ipv4Address::from_octets(10, 1, 0, 1));
}

TEST_F(ArpResolverTest, ReplyReleasesQueuedPacketsInOrder) {
  for (uint8_t tag = 1; tag <= 3; ++tag) send(kPeerIp, tag);
  take_tx();
  inject_reply_from_peer();
  auto frames = take_tx();
  ASSERT_EQ(frames.size(), 3u);
  for (uint8_t i = 0; i < 3; ++i) {
    EXPECT_EQ(eth_of(frames[i]).dst, kPeerMac);
    EXPECT_EQ(eth_of(frames[i]).src, kOurMac);
    EXPECT_EQ(tag_of(frames[i]), i + 1);
  }
  auto e = arp->find(kPeerIp);
  EXPECT_EQ(e->state, ArpState::kReachable);
  EXPECT_EQ(e->pending, 0u);
  EXPECT_EQ(counter(ArpCounter::kRxReplies), 1u);

  // Known now: sent at once.
  send(kPeerIp, 4);
  frames = take_tx();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(eth_of(frames[0]).dst, kPeerMac);
  EXPECT_EQ(tag_of(frames[0]), 4);
}

TEST_F(ArpResolverTest, PendingOverflowDropsOldestAndCounts) {
  ArpConfig c;
  c.max_pending_per_entry = 3;
  make(c);
  const uint32_t free_before = pool.available_segments();
  for (uint8_t tag = 1; tag <= 5; ++tag) send(kPeerIp, tag);
  take_tx();
  EXPECT_EQ(counter(ArpCounter::kDropPendingOverflow), 2u);
  EXPECT_EQ(arp->find(kPeerIp)->pending, 3u);
  EXPECT_EQ(pool.available_segments(), free_before - 3) << "dropped packets go back to the pool";
  inject_reply_from_peer();
  auto frames = take_tx();
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(tag_of(frames[0]), 3);
  EXPECT_EQ(tag_of(frames[1]), 4);
  EXPECT_EQ(tag_of(frames[2]), 5);
}

TEST_F(ArpResolverTest, UnansweredRequestsAreRetriedThenPacketsDropped) {
  const uint32_t free_before = pool.available_segments();
  send(kPeerIp, 1);
  send(kPeerIp, 2);
  for (uint32_t i = 1; i < config.max_retries; ++i) {
    auto frames = take_tx();
    ASSERT_EQ(frames.size(), 1u);
    expect_broadcast_request(frames[0], kPeerIp);
    advance(config.retry_interval - Duration::millis(1));
    EXPECT_TRUE(tx.empty()) << "no retry before retry_interval";
    advance(Duration::millis(1));
  }
  auto frames = take_tx();
  ASSERT_EQ(frames.size(), 1u);
  expect_broadcast_request(frames[0], kPeerIp);
  EXPECT_EQ(counter(ArpCounter::kTxRequests), config.max_retries);
  EXPECT_TRUE(arp->find(kPeerIp).has_value());
  frames.clear();

  advance(config.retry_interval);
  EXPECT_TRUE(tx.empty());
  EXPECT_FALSE(arp->find(kPeerIp).has_value());
  EXPECT_EQ(counter(ArpCounter::kDropResolutionFailed), 2u);
  EXPECT_EQ(pool.available_segments(), free_before);
  EXPECT_EQ(wheel.armed_count(), 0u);

  // A later packet starts a fresh resolution.
  send(kPeerIp, 3);
  EXPECT_EQ(take_tx().size(), 1u);
  EXPECT_EQ(arp->find(kPeerIp)->state, ArpState::kIncomplete);
}

TEST_F(ArpResolverTest, LateReplyAfterGivingUpCreatesNothing) {
  send(kPeerIp);
  run_for(config.retry_interval * config.max_retries);
  ASSERT_EQ(arp->size(), 0u);
  inject_reply_from_peer();
  EXPECT_EQ(arp->size(), 0u);
}

// ---------------------------------------------------------------------------------
// Ageing

TEST_F(ArpResolverTest, ReachableTurnsStaleIsStillUsedAndRefreshedByUnicast) {
  resolve_peer();
  advance(config.reachable_time - Duration::millis(1));
  EXPECT_EQ(arp->find(kPeerIp)->state, ArpState::kReachable);
  advance(Duration::millis(1));
  EXPECT_EQ(arp->find(kPeerIp)->state, ArpState::kStale);
  EXPECT_TRUE(tx.empty()) << "an unused stale entry costs nothing";

  send(kPeerIp, 7);
  auto frames = take_tx();
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(eth_of(frames[0]).dst, kPeerMac);
  EXPECT_EQ(tag_of(frames[0]), 7) << "no added latency";
  EXPECT_EQ(eth_of(frames[1]).dst, kPeerMac) << "refresh is unicast";
  EXPECT_EQ(arp_of(frames[1]), (ArpRepr{ArpOp::kRequest, kOurMac, kOurIp, MacAddress{}, kPeerIp}));

  send(kPeerIp, 8);
  frames = take_tx();
  ASSERT_EQ(frames.size(), 1u) << "one refresh outstanding at a time";
  EXPECT_EQ(tag_of(frames[0]), 8);

  inject_reply_from_peer();
  EXPECT_EQ(arp->find(kPeerIp)->state, ArpState::kReachable);
  advance(config.retry_interval * 5);
  EXPECT_TRUE(tx.empty());
  EXPECT_EQ(arp->find(kPeerIp)->state, ArpState::kReachable);
}

TEST_F(ArpResolverTest, UnansweredRefreshFallsBackToBroadcastProbing) {
  resolve_peer();
  advance(config.reachable_time);
  send(kPeerIp, 1);
  ASSERT_EQ(take_tx().size(), 2u);
  advance(config.retry_interval);
  auto frames = take_tx();
  ASSERT_EQ(frames.size(), 1u);
  expect_broadcast_request(frames[0], kPeerIp);
  EXPECT_EQ(arp->find(kPeerIp)->state, ArpState::kIncomplete);
  send(kPeerIp, 2);
  EXPECT_TRUE(tx.empty()) << "no longer trusted: packets wait";
  EXPECT_EQ(arp->find(kPeerIp)->pending, 1u);
  inject_reply_from_peer(kPeerMac2);
  frames = take_tx();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(eth_of(frames[0]).dst, kPeerMac2);
}

TEST_F(ArpResolverTest, UnusedStaleEntryIsCollectedAfterGcTime) {
  resolve_peer();
  advance(config.reachable_time);
  ASSERT_EQ(arp->find(kPeerIp)->state, ArpState::kStale);
  advance(config.gc_time - Duration::millis(1));
  EXPECT_TRUE(arp->find(kPeerIp).has_value());
  advance(Duration::millis(1));
  EXPECT_FALSE(arp->find(kPeerIp).has_value());
  EXPECT_EQ(arp->size(), 0u);
  EXPECT_EQ(wheel.armed_count(), 0u);
  EXPECT_TRUE(tx.empty());
}

TEST_F(ArpResolverTest, EntryLearntFromRequestIsConfirmedOnFirstUse) {
  inject(request(kPeerMac, kPeerIp, kOurIp));
  take_tx();
  send(kPeerIp, 1);
  auto frames = take_tx();
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(tag_of(frames[0]), 1);
  EXPECT_EQ(eth_of(frames[1]).dst, kPeerMac);
  EXPECT_EQ(arp_of(frames[1]).op, ArpOp::kRequest);
  inject_reply_from_peer();
  EXPECT_EQ(arp->find(kPeerIp)->state, ArpState::kReachable);
}

TEST_F(ArpResolverTest, RequestFromNeighbourBeingResolvedReleasesItsQueue) {
  send(kPeerIp, 1);
  take_tx();
  inject(request(kPeerMac, kPeerIp, kOurIp));
  auto frames = take_tx();
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(arp_of(frames[0]).op, ArpOp::kReply);
  EXPECT_EQ(tag_of(frames[1]), 1);
  EXPECT_EQ(eth_of(frames[1]).dst, kPeerMac);
  EXPECT_EQ(eth_of(frames[2]).dst, kPeerMac);  // the unicast refresh
  EXPECT_EQ(arp_of(frames[2]).op, ArpOp::kRequest);
  EXPECT_EQ(arp->find(kPeerIp)->state, ArpState::kStale);
}

// ---------------------------------------------------------------------------------
// Unsolicited information

TEST_F(ArpResolverTest, GratuitousArpUpdatesOnlyExistingEntries) {
  inject(request(kPeerMac, kPeerIp, kPeerIp));
  inject(reply(kPeerMac, kPeerIp, MacAddress::broadcast(), kPeerIp));
  EXPECT_EQ(arp->size(), 0u) << "gratuitous ARP creates nothing";
  EXPECT_TRUE(tx.empty());

  resolve_peer();
  inject(request(kPeerMac2, kPeerIp, kPeerIp));
  auto e = arp->find(kPeerIp);
  EXPECT_EQ(e->mac, kPeerMac2);
  EXPECT_EQ(e->state, ArpState::kStale);
  send(kPeerIp, 9);
  auto frames = take_tx();
  ASSERT_GE(frames.size(), 1u);
  EXPECT_EQ(eth_of(frames[0]).dst, kPeerMac2);
  EXPECT_EQ(tag_of(frames[0]), 9);

  // The same MAC again changes nothing.
  inject_reply_from_peer(kPeerMac2);
  inject(reply(kPeerMac2, kPeerIp, MacAddress::broadcast(), kPeerIp));
  EXPECT_EQ(arp->find(kPeerIp)->state, ArpState::kReachable);
}

TEST_F(ArpResolverTest, UnsolicitedReplyCreatesNothing) {
  inject_reply_from_peer();
  inject(reply(kPeerMac, kPeerIp, kPeerMac2, kOtherIp));
  EXPECT_EQ(arp->size(), 0u);
  EXPECT_EQ(counter(ArpCounter::kRxReplies), 2u);
}

TEST_F(ArpResolverTest, GratuitousArpResolvesAWaitingEntry) {
  send(kPeerIp, 1);
  take_tx();
  inject(request(kPeerMac, kPeerIp, kPeerIp));
  auto frames = take_tx();
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(tag_of(frames[0]), 1);
  EXPECT_EQ(eth_of(frames[0]).dst, kPeerMac);
  EXPECT_EQ(arp_of(frames[1]).op, ArpOp::kRequest);  // confirming it
}

// ---------------------------------------------------------------------------------
// Next hops that need no resolution

TEST_F(ArpResolverTest, BroadcastNextHopNeedsNoResolution) {
  send(Ipv4Address::broadcast(), 1);
  send(Ipv4Address::from_octets(198, 18, 0, 255), 2);
  auto frames = take_tx();
  ASSERT_EQ(frames.size(), 2u);
  for (const Frame& f : frames) EXPECT_EQ(eth_of(f).dst, MacAddress::broadcast());
  EXPECT_EQ(tag_of(frames[0]), 1);
  EXPECT_EQ(tag_of(frames[1]), 2);
  EXPECT_EQ(arp->size(), 0u);
  EXPECT_EQ(counter(ArpCounter::kTxRequests), 0u);
}

TEST_F(ArpResolverTest, MulticastNextHopMapsToItsMac) {
  send(Ipv4Address::from_octets(224, 128, 0, 251), 1);  // bit 23 is not carried over
  auto frames = take_tx();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(eth_of(frames[0]).dst, (MacAddress{{0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb}}));
  EXPECT_EQ(arp->size(), 0u);
}

TEST_F(ArpResolverTest, ImpossibleNextHopsAreDroppedAndCounted) {
  const uint32_t free_before = pool.available_segments();
  send(Ipv4Address::any());
  send(kOurIp);
  send(Ipv4Address::from_octets(127, 0, 0, 1));
  arp->send_ipv4(7, kPeerIp, ip_packet(0), now);
  EXPECT_EQ(counter(ArpCounter::kDropBadNextHop), 4u);
  EXPECT_TRUE(tx.empty());
  EXPECT_EQ(arp->size(), 0u);
  EXPECT_EQ(pool.available_segments(), free_before);
}

// ---------------------------------------------------------------------------------
// Bounds and hostile input

TEST_F(ArpResolverTest, MalformedAndTruncatedAtEveryLengthAreCounted) {
  uint8_t good[64] = {};
  request(kPeerMac, kPeerIp, kOtherIp).emit(good);
  for (size_t len = 0; len < ArpRepr::kLen; ++len) {
    arp->input(0, std::span<const uint8_t>(good, len), now);
  }
  EXPECT_EQ(counter(ArpCounter::kDropMalformed), ArpRepr::kLen);
  // Ethernet padding after the 28 bytes is fine.
  for (size_t len = ArpRepr::kLen; len <= sizeof(good); ++len) {
    arp->input(0, std::span<const uint8_t>(good, len), now);
  }
  EXPECT_EQ(counter(ArpCounter::kRxRequests), sizeof(good) - ArpRepr::kLen + 1);

  // Each field that makes it something other than Ethernet/IPv4 ARP.
  const std::pair<size_t, uint8_t> corruptions[] = {
      {1, 6}, {2, 0x86}, {4, 8}, {5, 16}, {7, 3}, {7, 0}, {6, 1}};
  for (auto [offset, value] : corruptions) {
    uint8_t bad[ArpRepr::kLen];
    std::memcpy(bad, good, sizeof(bad));
    bad[offset] = value;
    arp->input(0, bad, now);
  }
  EXPECT_EQ(counter(ArpCounter::kDropUnsupported), std::size(corruptions));
  EXPECT_EQ(arp->size(), 0u);
  EXPECT_TRUE(tx.empty());
}

TEST_F(ArpResolverTest, RandomBytesNeverCrashAndAreAllAccounted) {
  base::SeededRandom rng(1);
  constexpr int kRounds = 20'000;
  uint8_t bytes[64];
  for (int i = 0; i < kRounds; ++i) {
    rng.fill(bytes);
    // Mostly valid headers, so the deeper paths are reached too.
    if (rng.chance(0.8)) {
      const uint8_t hdr[] = {0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, static_cast<uint8_t>(1 + rng.uniform(2))};
      std::memcpy(bytes, hdr, sizeof(hdr));
      if (rng.chance(0.5)) kOurIp.write(bytes + 24);
      if (rng.chance(0.3)) bytes[8] &= 0xfe;  // unicast sender
      if (rng.chance(0.5)) std::memcpy(bytes + 14, bytes + 24, 2);  // same /16
    }
    arp->input(0, std::span<const uint8_t>(bytes, rng.uniform(sizeof(bytes) + 1)), now);
    if (i % 64 == 0) {
      take_tx();
      advance(Duration::millis(100));
    }
  }
  take_tx();
  const uint64_t accounted = counter(ArpCounter::kDropMalformed) + counter(ArpCounter::kDropUnsupported) +
                             counter(ArpCounter::kRxRequests) + counter(ArpCounter::kRxReplies);
  EXPECT_EQ(accounted, static_cast<uint64_t>(kRounds));
  EXPECT_LE(arp->size(), config.max_entries);
}

TEST_F(ArpResolverTest, FloodOfRequestsForOtherAddressesCreatesNothing) {
  base::SeededRandom rng(42);
  const uint32_t free_before = pool.available_segments();
  constexpr int kRequests = 100'000;
  for (int i = 0; i < kRequests; ++i) {
    MacAddress mac;
    rng.fill(mac.bytes);
    mac.bytes[0] &= 0xfe;
    const Ipv4Address sender(0xc6120000u | rng.uniform(1u << 16));  // 198.18.0.0/16
    const Ipv4Address target(0xc6120000u | rng.uniform(1u << 16));
    if (sender == kOurIp || target == kOurIp) continue;
    inject(request(mac, sender, target));
  }
  EXPECT_EQ(arp->size(), 0u);
  EXPECT_TRUE(tx.empty());
  EXPECT_EQ(wheel.armed_count(), 0u);
  EXPECT_EQ(pool.available_segments(), free_before);
  EXPECT_GT(counter(ArpCounter::kRxRequests), 99'000u);
}

TEST_F(ArpResolverTest, FloodOfRequestsForUsIsBoundedByMaxEntries) {
  ArpConfig c;
  c.max_entries = 64;
  make(c);
  base::SeededRandom rng(7);
  constexpr int kRequests = 10'000;
  for (int i = 0; i < kRequests; ++i) {
    MacAddress mac;
    rng.fill(mac.bytes);
    mac.bytes[0] &= 0xfe;
    inject(request(mac, Ipv4Address(0x0a000000u | (static_cast<uint32_t>(i) + 1)), kOurIp));
    take_tx();
    ASSERT_LE(arp->size(), c.max_entries);
  }
  EXPECT_EQ(counter(ArpCounter::kTxReplies), static_cast<uint64_t>(kRequests));
  EXPECT_EQ(arp->size(), c.max_entries);  // the newest, each evicting the oldest
  EXPECT_TRUE(arp->find(Ipv4Address(0x0a000000u | kRequests)).has_value());
  EXPECT_FALSE(arp->find(Ipv4Address(0x0a000001u)).has_value());
  advance(c.gc_time);
  EXPECT_EQ(arp->size(), 0u);
}

TEST_F(ArpResolverTest, ResolutionsBeyondMaxEntriesAreBoundedAndCounted) {
  ArpConfig c;
  c.max_entries = 16;
  make(c);
  const uint32_t free_before = pool.available_segments();
  constexpr uint32_t kTargets = 1000;
  for (uint32_t i = 0; i < kTargets; ++i) send(Ipv4Address(0xc6120100u + i));  // 198.18.1.0 + i
  EXPECT_EQ(arp->size(), c.max_entries);
  EXPECT_EQ(counter(ArpCounter::kDropCacheFull), kTargets - c.max_entries);
  EXPECT_EQ(counter(ArpCounter::kTxRequests), c.max_entries);
  EXPECT_EQ(take_tx().size(), c.max_entries);
  EXPECT_EQ(pool.available_segments(), free_before - c.max_entries);

  run_for(c.retry_interval * c.max_retries);
  take_tx();
  EXPECT_EQ(arp->size(), 0u);
  EXPECT_EQ(counter(ArpCounter::kDropResolutionFailed), c.max_entries);
  EXPECT_EQ(pool.available_segments(), free_before);
  EXPECT_EQ(wheel.armed_count(), 0u);
}

TEST_F(ArpResolverTest, NewResolutionEvictsTheOldestStaleEntry) {
  ArpConfig c;
  c.max_entries = 2;
  make(c);
  const Ipv4Address a = Ipv4Address::from_octets(198, 18, 0, 10);
  const Ipv4Address b = Ipv4Address::from_octets(198, 18, 0, 11);
  send(a);
  inject(reply(kPeerMac, a, kOurMac, kOurIp));
  advance(Duration::seconds(1));
  send(b);
  inject(reply(kPeerMac2, b, kOurMac, kOurIp));
  take_tx();
  // Both reachable: nothing may be evicted.
  send(kOtherIp);
  EXPECT_EQ(counter(ArpCounter::kDropCacheFull), 1u);
  EXPECT_FALSE(arp->find(kOtherIp).has_value());

  advance(c.reachable_time);  // a and b are stale now, a first
  ASSERT_EQ(arp->find(a)->state, ArpState::kStale);
  ASSERT_EQ(arp->find(b)->state, ArpState::kStale);
  send(kOtherIp);
  EXPECT_FALSE(arp->find(a).has_value());
  EXPECT_TRUE(arp->find(b).has_value());
  EXPECT_EQ(arp->find(kOtherIp)->state, ArpState::kIncomplete);
  EXPECT_EQ(arp->size(), 2u);
}

TEST_F(ArpResolverTest, ForEachEntryVisitsEveryEntry) {
  resolve_peer();
  send(kOtherIp);
  size_t n = 0;
  arp->for_each_entry([&](const ArpEntryView& e) {
    ++n;
    EXPECT_EQ(e.ifindex, 0u);
    EXPECT_TRUE(e.ip == kPeerIp || e.ip == kOtherIp);
  });
  EXPECT_EQ(n, 2u);
}

TEST_F(ArpResolverTest, DestroyingTheResolverReleasesEverything) {
  const uint32_t free_before = pool.available_segments();
  resolve_peer();
  send(kOtherIp, 1);
  send(kOtherIp, 2);
  take_tx();
  arp.reset();
  EXPECT_EQ(wheel.armed_count(), 0u);
  EXPECT_EQ(pool.available_segments(), free_before);
}

}  // namespace
}  // namespace joyride::core
