// The largest UDP datagrams (65507 bytes: 45 fragments at MTU 1500) sent one way from
// host A to host B through loss and reordering: B delivers each datagram whole and
// byte-identical or not at all, about as many arrive as the binomial law says, and
// once the reassembly timeout has passed B holds nothing (every incomplete datagram
// counted as timed out, its packet pool full again). Also MTUs 9000 and 576 without
// loss. Fake clock only; every run ends at a fixed simulated instant.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "sim/sim_harness.h"

namespace joyride::sim {
namespace {

using base::Duration;
using dev::sim::LinkCounter;
using dev::sim::LinkDir;
using testing::counter;
using testing::describe;
using testing::link_counter;

constexpr size_t kMaxUdpPayload = core::UdpLayer::kMaxPayload;  // 65507
constexpr uint16_t kPort = 9000;

uint64_t fragments_per_datagram(size_t udp_payload, uint16_t mtu) {
  const size_t per_fragment = (mtu - 20u) / 8 * 8;
  return (udp_payload + 8 + per_fragment - 1) / per_fragment;
}

TwoHostsOptions link_options(double loss, double reorder, uint16_t mtu, uint64_t seed) {
  TwoHostsOptions o;
  o.mtu = mtu;
  o.link.seed = seed;
  o.link.loss = loss;
  o.link.reorder = reorder;
  o.link.reorder_extra = Duration::millis(5);  // > the gap between datagrams: they interleave
  o.link.latency = Duration::millis(1);
  o.link.rate_bps = 1'000'000'000;
  o.link.queue_limit_bytes = 16 * 1024 * 1024;
  // Incomplete datagrams are held for the whole timeout; let them all be held, so
  // that what arrives depends on loss alone.
  o.base.reassembly.max_bytes = 64 * 1024 * 1024;
  return o;
}

struct OneWayResult {
  std::string failure;                // set on the first wrong datagram
  std::vector<uint32_t> received;     // how often each datagram index arrived
  uint64_t delivered = 0;
};

// Sends `count` datagrams of `size` bytes (payload i made by fill_payload(i)) from A
// to B, one every `gap`, reading B's socket after every step; then waits `tail`.
OneWayResult send_one_way(TwoHosts& hosts, uint64_t count, size_t size, Duration gap, Duration tail) {
  OneWayResult out;
  out.received.assign(count, 0);
  auto& a = hosts.a().udp();
  auto& b = hosts.b().udp();
  auto tx = a.open();
  auto rx = b.open();
  if (!tx || !rx || !b.bind(*rx, {wire::Ipv4Address(), kPort})) {
    out.failure = "cannot open or bind sockets";
    return out;
  }
  std::vector<uint8_t> sent(size), expected(size), got(kMaxUdpPayload + 1);
  auto drain = [&] {
    while (out.failure.empty()) {
      auto r = b.recv_from(*rx, got);
      if (!r) break;
      ++out.delivered;
      uint64_t index = 0;
      std::memcpy(&index, got.data(), std::min<size_t>(8, r->bytes));
      if (r->datagram != size || index >= count) {
        out.failure = "datagram of " + std::to_string(r->datagram) + " bytes with index " + std::to_string(index);
        break;
      }
      fill_payload(index, expected);
      if (std::memcmp(got.data(), expected.data(), size) != 0) {
        out.failure = "datagram " + std::to_string(index) + " differs from what was sent";
        break;
      }
      ++out.received[index];
    }
    return false;  // run_until goes on to its limit
  };
  for (uint64_t i = 0; i < count && out.failure.empty(); ++i) {
    fill_payload(i, sent);
    auto s = a.send_to(*tx, sent, core::Endpoint{TwoHosts::kAddressB, kPort}, hosts.net().now());
    if (!s) {
      out.failure = "send " + std::to_string(i) + " failed: " + std::string(core::to_string(s.error()));
      break;
    }
    hosts.net().run_until(drain, hosts.net().now() + gap);
  }
  hosts.net().run_until(drain, hosts.net().now() + tail);
  a.close(*tx);
  b.close(*rx);
  return out;
}

// Resolves B's address first (ping retries through loss), so that no datagram
// waits in ARP's bounded queue.
void resolve_neighbour(TwoHosts& hosts) {
  ExchangeOptions o;
  o.count = 1;
  const WorkloadResult r = run_ping(hosts, o);
  ASSERT_TRUE(r.ok) << describe(r);
}

void expect_each_at_most_once(const OneWayResult& r) {
  for (size_t i = 0; i < r.received.size(); ++i) ASSERT_LE(r.received[i], 1u) << "datagram " << i;
}

void expect_reassembler_empty_and_pool_full(TwoHosts& hosts) {
  auto& re = hosts.b().reassembler();
  EXPECT_EQ(re.datagrams_in_progress(), 0u);
  EXPECT_EQ(re.bytes_held(), 0u);
  for (auto* node : {&hosts.node_a(), &hosts.node_b()}) {
    EXPECT_EQ(node->pool().available_segments(), node->pool().total_segments()) << describe(hosts);
    EXPECT_EQ(node->pool().available_descriptors(), node->pool().total_descriptors());
  }
}

TEST(FragmentSimTest, LargestDatagramsThroughLossArriveWholeOrNotAtAll) {
  constexpr uint64_t kCount = 300;
  constexpr double kLoss = 0.05;
  TwoHosts hosts(link_options(kLoss, 0.05, 1500, 7));
  resolve_neighbour(hosts);
  const auto re_before = hosts.b().reassembler().counters();
  const uint64_t frames = fragments_per_datagram(kMaxUdpPayload, 1500);
  ASSERT_EQ(frames, 45u);

  // 45 frames of ~1.5 KB take 0.55 ms at 1 Gb/s; one datagram every 5 ms.
  const OneWayResult r = send_one_way(hosts, kCount, kMaxUdpPayload, Duration::millis(5), Duration::millis(100));
  ASSERT_TRUE(r.failure.empty()) << r.failure << "\n" << describe(hosts);
  expect_each_at_most_once(r);
  RecordProperty("delivered", std::to_string(r.delivered) + " of " + std::to_string(kCount));

  // P(all 45 fragments arrive) = 0.95^45 ≈ 0.099: about 30 of 300, σ ≈ 5.2.
  const double p = std::pow(1 - kLoss, static_cast<double>(frames));
  const double mean = kCount * p, sigma = std::sqrt(kCount * p * (1 - p));
  EXPECT_GE(static_cast<double>(r.delivered), mean - 4 * sigma) << describe(hosts);
  EXPECT_LE(static_cast<double>(r.delivered), mean + 4 * sigma) << describe(hosts);
  EXPECT_EQ(link_counter(hosts, LinkDir::kAtoB, LinkCounter::kDroppedQueueFull), 0u);
  EXPECT_GT(link_counter(hosts, LinkDir::kAtoB, LinkCounter::kReordered), 0u);
  EXPECT_EQ(counter(hosts.a(), "ipv4", "tx_fragments"), kCount * frames);
  EXPECT_EQ(counter(hosts.a(), "arp", "drop_pending_overflow"), 0u);

  // Every incomplete datagram is still held (none timed out yet: all were sent
  // within 2 s); 30 s after its first fragment each one is discarded.
  auto& re = hosts.b().reassembler();
  EXPECT_EQ(re.datagrams_in_progress(), kCount - r.delivered);
  hosts.net().run_until([] { return false; }, hosts.net().now() + core::ReassemblyConfig{}.timeout);
  const auto& c = re.counters();
  using core::ReassemblyCounter;
  EXPECT_EQ(c[ReassemblyCounter::kDatagramsReassembled] - re_before[ReassemblyCounter::kDatagramsReassembled],
            r.delivered);
  EXPECT_EQ(c[ReassemblyCounter::kDropTimeout] - re_before[ReassemblyCounter::kDropTimeout], kCount - r.delivered);
  EXPECT_EQ(c[ReassemblyCounter::kDropMemoryLimit], 0u);
  EXPECT_EQ(c[ReassemblyCounter::kDropTooManyDatagrams], 0u);
  EXPECT_EQ(c[ReassemblyCounter::kDropOverlap], 0u);
  EXPECT_EQ(c[ReassemblyCounter::kDropInconsistentEnd], 0u);
  EXPECT_EQ(counter(hosts.b(), "udp", "drop_bad_checksum"), 0u);
  // Let the time-exceeded errors B sent reach A before checking the pools.
  ASSERT_TRUE(hosts.net().run_until_idle(hosts.net().now() + Duration::seconds(120)));
  expect_reassembler_empty_and_pool_full(hosts);
}

struct MtuCase {
  uint16_t mtu;
  uint64_t count;
};

class FragmentSimMtu : public ::testing::TestWithParam<MtuCase> {};

TEST_P(FragmentSimMtu, WithoutLossEveryDatagramArrives) {
  const MtuCase mc = GetParam();
  TwoHosts hosts(link_options(0.0, 0.05, mc.mtu, 3));
  resolve_neighbour(hosts);
  const uint64_t frames = fragments_per_datagram(kMaxUdpPayload, mc.mtu);
  const OneWayResult r = send_one_way(hosts, mc.count, kMaxUdpPayload, Duration::millis(5), Duration::millis(100));
  ASSERT_TRUE(r.failure.empty()) << r.failure << "\n" << describe(hosts);
  expect_each_at_most_once(r);
  EXPECT_EQ(r.delivered, mc.count) << describe(hosts);
  EXPECT_EQ(counter(hosts.a(), "ipv4", "tx_fragments"), mc.count * frames);
  EXPECT_EQ(counter(hosts.b(), "reassembly", "datagrams_reassembled"), mc.count);
  EXPECT_EQ(link_counter(hosts, LinkDir::kAtoB, LinkCounter::kDroppedTooBig), 0u);
  EXPECT_EQ(link_counter(hosts, LinkDir::kAtoB, LinkCounter::kDroppedQueueFull), 0u);
  EXPECT_GT(link_counter(hosts, LinkDir::kAtoB, LinkCounter::kReordered), 0u);
  ASSERT_TRUE(hosts.net().run_until_idle(hosts.net().now() + Duration::seconds(120)));
  EXPECT_EQ(counter(hosts.b(), "reassembly", "drop_timeout"), 0u);
  expect_reassembler_empty_and_pool_full(hosts);
}

// 9000 makes every jumbo frame (9018 bytes) span several pool segments (2176 bytes
// each): IPv4 input must check lengths against the whole chain, not the head.
INSTANTIATE_TEST_SUITE_P(Mtus, FragmentSimMtu,
                         ::testing::Values(MtuCase{1500, 100}, MtuCase{576, 50}, MtuCase{9000, 50}),
                         [](const auto& p) { return "mtu" + std::to_string(p.param.mtu); });

}  // namespace
}  // namespace joyride::sim
