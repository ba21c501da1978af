// UDP request/response between two simulated hosts through an impaired link: loss
// (recovered by the client's retransmits), corruption (caught by the IPv4 and UDP
// checksums: run_udp_echo fails on any reply that differs from its request), and
// duplication and reordering (harmless). Many seeds per setting; fake clock only,
// each run bounded by run_udp_echo's attempts × timeout in simulated time.
#include <gtest/gtest.h>

#include <tuple>

#include "sim/sim_harness.h"

namespace joyride::sim {
namespace {

using dev::sim::LinkCounter;
using testing::counter_both;
using testing::describe;
using testing::hosts_options;
using testing::link_counter_both;

constexpr uint64_t kSeeds = 10;

class UdpSimLoss : public ::testing::TestWithParam<std::tuple<int, int64_t>> {};

TEST_P(UdpSimLoss, EveryExchangeCompletesAndVerifies) {
  const auto [loss_percent, delay_us] = GetParam();
  uint64_t retransmits = 0, lost = 0;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    TwoHosts hosts(hosts_options(loss_percent / 100.0, base::Duration::micros(delay_us), seed));
    ExchangeOptions o;
    o.count = 30;
    o.size = 512;
    const WorkloadResult r = run_udp_echo(hosts, o);
    ASSERT_TRUE(r.ok) << "seed " << seed << ": " << describe(r) << "\n" << describe(hosts);
    EXPECT_EQ(r.exchanges, o.count);
    EXPECT_EQ(r.bytes_verified, o.count * o.size);
    // Each request was answered before its timeout or resent, so the run is bounded.
    EXPECT_LE(r.elapsed, o.timeout * static_cast<int64_t>(o.count + r.retransmits + 6));
    retransmits += r.retransmits;
    lost += link_counter_both(hosts, LinkCounter::kDroppedLoss);
    EXPECT_EQ(counter_both(hosts, "udp", "drop_bad_checksum"), 0u);
  }
  // 10 seeds × ≥ 60 frames: the loss happened, and cost retransmits.
  EXPECT_GE(lost, static_cast<uint64_t>(loss_percent) * 600 / 100 / 2);
  EXPECT_GT(retransmits, 0u);
  EXPECT_LE(retransmits, 3 * lost);
}

INSTANTIATE_TEST_SUITE_P(LossByDelay, UdpSimLoss,
                         ::testing::Combine(::testing::Values(5, 10, 20),
                                            ::testing::Values(int64_t{0}, int64_t{1000}, int64_t{10000},
                                                              int64_t{100000})),
                         [](const auto& p) {
                           return "loss" + std::to_string(std::get<0>(p.param)) + "pct_delay" +
                                  std::to_string(std::get<1>(p.param)) + "us";
                         });

TEST(UdpSimTest, CorruptionIsCaughtByChecksums) {
  uint64_t corrupted = 0, bad_checksum = 0, retransmits = 0;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    TwoHostsOptions opts = hosts_options(0.0, base::Duration::millis(1), seed);
    opts.link.corrupt = 0.05;
    TwoHosts hosts(opts);
    ExchangeOptions o;
    o.count = 50;
    o.size = 1000;
    // A corrupted byte that got through would fail the run: replies are compared
    // byte for byte with their requests.
    const WorkloadResult r = run_udp_echo(hosts, o);
    ASSERT_TRUE(r.ok) << "seed " << seed << ": " << describe(r) << "\n" << describe(hosts);
    EXPECT_EQ(r.exchanges, o.count);
    const uint64_t c = link_counter_both(hosts, LinkCounter::kCorrupted);
    const uint64_t bad = counter_both(hosts, "ipv4", "drop_bad_checksum") + counter_both(hosts, "udp", "drop_bad_checksum");
    // A flipped bit lands in a checksummed header or payload, or in the Ethernet
    // header (no FCS in the simulation): never more checksum drops than corruptions.
    EXPECT_LE(bad, c) << describe(hosts);
    corrupted += c;
    bad_checksum += bad;
    retransmits += r.retransmits;
  }
  // ~5% of ~1000 frames, nearly all of whose bits are covered by a checksum.
  EXPECT_GT(corrupted, 20u);
  EXPECT_GE(bad_checksum * 10, corrupted * 8);
  EXPECT_GT(retransmits, 0u);
}

TEST(UdpSimTest, DuplicationAndReorderingAreHarmless) {
  uint64_t duplicated = 0, reordered = 0, extra_rx = 0;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    TwoHostsOptions opts = hosts_options(0.0, base::Duration::millis(1), seed);
    opts.link.duplicate = 0.2;
    opts.link.reorder = 0.2;
    opts.link.reorder_extra = base::Duration::millis(5);
    TwoHosts hosts(opts);
    ExchangeOptions o;
    o.count = 50;
    o.size = 300;
    const WorkloadResult r = run_udp_echo(hosts, o);
    ASSERT_TRUE(r.ok) << "seed " << seed << ": " << describe(r) << "\n" << describe(hosts);
    EXPECT_EQ(r.exchanges, o.count);
    EXPECT_EQ(r.retransmits, 0u) << "seed " << seed << "\n" << describe(hosts);
    duplicated += link_counter_both(hosts, LinkCounter::kDuplicated);
    reordered += link_counter_both(hosts, LinkCounter::kReordered);
    // Duplicated requests reach the server twice and are echoed twice; the client
    // skips the late copies.
    extra_rx += counter_both(hosts, "udp", "rx_datagrams") - 2 * o.count;
    EXPECT_EQ(link_counter_both(hosts, LinkCounter::kDroppedLoss), 0u);
  }
  EXPECT_GT(duplicated, 20u);
  EXPECT_GT(reordered, 20u);
  EXPECT_GT(extra_rx, 10u);
}

TEST(UdpSimTest, AllImpairmentsTogether) {
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    TwoHostsOptions opts = hosts_options(0.05, base::Duration::millis(2), seed);
    opts.link.duplicate = 0.05;
    opts.link.reorder = 0.05;
    opts.link.corrupt = 0.05;
    opts.link.rate_bps = 10'000'000;
    TwoHosts hosts(opts);
    ExchangeOptions o;
    o.count = 40;
    o.size = 1400;
    const WorkloadResult r = run_udp_echo(hosts, o);
    ASSERT_TRUE(r.ok) << "seed " << seed << ": " << describe(r) << "\n" << describe(hosts);
    EXPECT_EQ(r.bytes_verified, o.count * o.size);
  }
}

}  // namespace
}  // namespace joyride::sim
