// Ping between two simulated hosts: echo data of every size the wire allows (empty,
// one frame, one byte too many for a frame, near 64 KB) over several link delays;
// through loss, where the client retransmits; and with the first ARP requests
// dropped, where ARP's own retries resolve the neighbour. Fake clock only: each run
// is bounded by run_ping's attempts × timeout in simulated time.
#include <gtest/gtest.h>

#include <tuple>

#include "sim/sim_harness.h"

namespace joyride::sim {
namespace {

using testing::counter;
using testing::describe;
using testing::hosts_options;
using testing::link_counter;
using testing::link_counter_both;
using dev::sim::LinkCounter;
using dev::sim::LinkDir;

constexpr size_t kIpHeader = 20;
constexpr size_t kIcmpHeader = 8;
constexpr size_t kMtu = 1500;

// Frames an echo of `size` data bytes takes at MTU 1500 (1 when not fragmented).
uint64_t frames_for(size_t size) {
  const size_t payload = size + kIcmpHeader;
  if (payload + kIpHeader <= kMtu) return 1;
  const size_t per_fragment = (kMtu - kIpHeader) / 8 * 8;
  return (payload + per_fragment - 1) / per_fragment;
}

class PingSimSizes : public ::testing::TestWithParam<std::tuple<size_t, int64_t>> {};

TEST_P(PingSimSizes, EchoesEveryByteWithoutRetransmitting) {
  const auto [size, delay_us] = GetParam();
  TwoHosts hosts(hosts_options(0.0, base::Duration::micros(delay_us), 1));
  ExchangeOptions o;
  o.count = 4;
  o.size = size;
  const WorkloadResult r = run_ping(hosts, o);
  ASSERT_TRUE(r.ok) << describe(r) << "\n" << describe(hosts);
  EXPECT_EQ(r.exchanges, o.count);
  EXPECT_EQ(r.bytes_verified, o.count * size);
  EXPECT_EQ(r.retransmits, 0u) << describe(hosts);
  // One round trip for ARP, one per echo: nothing waited for a timeout.
  EXPECT_EQ(r.elapsed, base::Duration::micros(delay_us) * static_cast<int64_t>(2 * (o.count + 1)));

  const uint64_t frames = frames_for(size);
  const bool fragmented = frames > 1;
  // Requests fragmented by A are reassembled by B, and the replies the other way.
  EXPECT_EQ(counter(hosts.a(), "ipv4", "tx_fragments"), fragmented ? o.count * frames : 0u);
  EXPECT_EQ(counter(hosts.b(), "ipv4", "tx_fragments"), fragmented ? o.count * frames : 0u);
  EXPECT_EQ(counter(hosts.b(), "reassembly", "datagrams_reassembled"), fragmented ? o.count : 0u);
  EXPECT_EQ(counter(hosts.a(), "reassembly", "datagrams_reassembled"), fragmented ? o.count : 0u);
  // Each direction: every echo frame plus at most two ARP frames (A's request and
  // B's reply, then B's refresh of the stale entry the request created, and A's
  // reply to it); nothing dropped.
  const uint64_t arp_a = counter(hosts.a(), "arp", "tx_requests") + counter(hosts.a(), "arp", "tx_replies");
  const uint64_t arp_b = counter(hosts.b(), "arp", "tx_requests") + counter(hosts.b(), "arp", "tx_replies");
  EXPECT_LE(arp_a, 2u);
  EXPECT_LE(arp_b, 2u);
  EXPECT_EQ(link_counter(hosts, LinkDir::kAtoB, LinkCounter::kFramesDelivered), arp_a + o.count * frames);
  EXPECT_EQ(link_counter(hosts, LinkDir::kBtoA, LinkCounter::kFramesDelivered), arp_b + o.count * frames);
  EXPECT_EQ(link_counter(hosts, LinkDir::kAtoB, LinkCounter::kFramesSent), arp_a + o.count * frames);
  EXPECT_EQ(link_counter_both(hosts, LinkCounter::kDroppedTooBig), 0u);
  EXPECT_EQ(hosts.b().reassembler().datagrams_in_progress(), 0u);
}

INSTANTIATE_TEST_SUITE_P(SizesByDelay, PingSimSizes,
                         ::testing::Combine(::testing::Values(size_t{0}, size_t{56}, size_t{1472}, size_t{1473},
                                                              size_t{60000}),
                                            ::testing::Values(int64_t{0}, int64_t{1000}, int64_t{50000})),
                         [](const auto& p) {
                           return "size" + std::to_string(std::get<0>(p.param)) + "_delay" +
                                  std::to_string(std::get<1>(p.param)) + "us";
                         });

TEST(PingSimTest, TenPercentLossIsRecoveredByRetransmits) {
  uint64_t retransmits = 0, lost = 0;
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    TwoHosts hosts(hosts_options(0.10, base::Duration::millis(1), seed));
    ExchangeOptions o;
    o.count = 40;
    o.size = 56;
    const WorkloadResult r = run_ping(hosts, o);
    ASSERT_TRUE(r.ok) << "seed " << seed << ": " << describe(r) << "\n" << describe(hosts);
    EXPECT_EQ(r.exchanges, o.count);
    EXPECT_EQ(r.bytes_verified, o.count * o.size);
    retransmits += r.retransmits;
    lost += link_counter_both(hosts, LinkCounter::kDroppedLoss);
  }
  // About 10% of ~700 frames were lost and every loss of an echo costs a retransmit.
  EXPECT_GT(lost, 30u);
  EXPECT_GT(retransmits, 20u);
}

// Drops the first `n` ARP requests entering the link (ethertype 0x0806, opcode 1).
dev::sim::FrameHook drop_arp_requests(int n, int& dropped) {
  return [n, &dropped](buf::Packet& frame) {
    uint8_t head[22];
    if (!frame.copy_out(0, head)) return true;
    const bool arp_request = head[12] == 0x08 && head[13] == 0x06 && head[20] == 0x00 && head[21] == 0x01;
    if (!arp_request || dropped >= n) return true;
    ++dropped;
    return false;
  };
}

TEST(PingSimTest, ArpRetriesWhenTheFirstTwoRequestsAreLost) {
  TwoHosts hosts(hosts_options(0.0, base::Duration::millis(1), 1));
  int dropped = 0;
  hosts.net().set_hook(hosts.link(), LinkDir::kAtoB, drop_arp_requests(2, dropped));
  ExchangeOptions o;
  o.count = 3;
  o.size = 56;
  const WorkloadResult r = run_ping(hosts, o);
  ASSERT_TRUE(r.ok) << describe(r) << "\n" << describe(hosts);
  EXPECT_EQ(r.exchanges, o.count);
  EXPECT_EQ(dropped, 2);
  EXPECT_EQ(link_counter(hosts, LinkDir::kAtoB, LinkCounter::kDroppedHook), 2u);
  const auto& arp = hosts.a().arp().counters();
  EXPECT_GE(arp[core::ArpCounter::kTxRequests], 3u) << describe(hosts);
  EXPECT_GE(arp[core::ArpCounter::kRxReplies], 1u);
  EXPECT_EQ(arp[core::ArpCounter::kDropResolutionFailed], 0u);
  // The third request goes out two retry intervals after the first; the client
  // resent its first echo meanwhile, and the queued copies all went out then.
  EXPECT_GE(r.elapsed, core::ArpConfig{}.retry_interval * 2);
  EXPECT_GT(r.retransmits, 0u);
  auto entry = hosts.a().arp().find(TwoHosts::kAddressB);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->state, core::ArpState::kReachable);
}

}  // namespace
}  // namespace joyride::sim
