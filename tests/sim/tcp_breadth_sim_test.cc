// TCP between two simulated hosts, beyond the defaults tcp_sim_test.cc covers: a
// peer without SACK, timestamps or window scaling (so NewReno's RFC 6582 recovery,
// RTT sampling without timestamps and unscaled windows meet random loss), loss
// behind a rate limit, megabyte transfers through loss, and reordering, duplication
// and corruption together at several delays. Every run goes through run_checked:
// every byte verified, every connection closed, the run inside its simulated-time
// bound (a hang fails on the bound), nothing left after TIME-WAIT.
#include <gtest/gtest.h>

#include <string>
#include <tuple>

#include "sim/sim_harness.h"
#include "sim/tcp_sim_checked.h"
#include "tcp_workload.h"

namespace joyride::sim {
namespace {

using base::Duration;
using dev::sim::LinkCounter;
using testing::bulk;
using testing::counter_both;
using testing::describe;
using testing::hosts_options;
using testing::link_counter_both;
using testing::run_checked;

std::string seed_text(uint64_t seed, TcpDirection d) {
  return "seed " + std::to_string(seed) + " " + std::string(to_string(d));
}

// ---- SACK, timestamps, window scaling off ---------------------------------------------

enum class Feature { kSack, kTimestamps, kWindowScaling };
// Which host has the feature turned off: the other still offers it, so negotiation
// (RFC 2018 §2, RFC 7323 §2.2/§3.2) must leave it off on both ends.
enum class OffOn { kBoth, kA, kB };

void turn_off(core::TcpConfig& c, Feature f) {
  switch (f) {
    case Feature::kSack: c.sack = false; break;
    case Feature::kTimestamps: c.timestamps = false; break;
    case Feature::kWindowScaling: c.window_scaling = false; break;
  }
}

class TcpSimNegotiation : public ::testing::TestWithParam<std::tuple<Feature, OffOn>> {};

TEST_P(TcpSimNegotiation, EveryByteArrivesThroughLossWithTheFeatureOff) {
  const auto [feature, off_on] = GetParam();
  uint64_t retransmits = 0, inspected = 0, timeouts = 0, fast = 0;
  for (int loss_percent : {1, 5, 10}) {
    for (uint64_t seed = 1; seed <= 3; ++seed) {
      for (TcpDirection dir : {TcpDirection::kAtoB, TcpDirection::kBtoA}) {
        // Seeds differ by placement: the negotiated result is the same, the losses not.
        const uint64_t link_seed = 1000 * static_cast<uint64_t>(off_on) + 100 * seed + loss_percent;
        TwoHostsOptions ho = hosts_options(loss_percent / 100.0, Duration::millis(10), link_seed);
        core::TcpConfig b = ho.base.tcp;
        if (off_on != OffOn::kB) turn_off(ho.base.tcp, feature);
        if (off_on != OffOn::kA) turn_off(b, feature);
        ho.tcp_b = b;
        TwoHosts h(ho);
        const std::string what = "loss " + std::to_string(loss_percent) + "% " + seed_text(seed, dir);
        // The side that closed first is in TIME-WAIT after the run: what it negotiated
        // is still readable. Neither end may use the feature.
        auto inspect = [&] {
          for (core::Stack* s : {&h.a(), &h.b()}) {
            s->tcp().for_each_connection([&](core::SocketId, const core::TcpInfo& i, const auto&) {
              ++inspected;
              // The closer is the sender: its smoothed RTT stays near the link's 20 ms
              // (plus a delayed ACK), however long the recoveries took.
              EXPECT_LT(i.rtt, Duration::millis(150)) << what;
              switch (feature) {
                case Feature::kSack: EXPECT_FALSE(i.sack) << what; break;
                case Feature::kTimestamps: EXPECT_FALSE(i.timestamps) << what; break;
                case Feature::kWindowScaling:
                  EXPECT_EQ(i.snd_wscale, 0) << what;
                  EXPECT_EQ(i.rcv_wscale, 0) << what;
                  EXPECT_LE(i.snd_wnd, 65535u) << what;
                  break;
              }
            });
          }
          // Without SACK there are no D-SACK blocks; without timestamps no Eifel undo.
          if (feature == Feature::kSack) {
            EXPECT_EQ(counter_both(h, "tcp", "dsack_sent"), 0u) << what;
          }
          if (feature == Feature::kTimestamps) {
            EXPECT_EQ(counter_both(h, "tcp", "undo_timestamp"), 0u) << what;
          }
        };
        const WorkloadResult r = run_checked(h, ho, bulk(200'000, dir), what, inspect);
        if (!r.ok) return;
        retransmits += r.retransmits;
        if (loss_percent <= 5) {
          timeouts += counter_both(h, "tcp", "timeouts");
          fast += counter_both(h, "tcp", "fast_retrans");
        }
      }
    }
  }
  EXPECT_GT(inspected, 0u);
  // 18 runs of ~140 data segments at 1-10% loss: recovery ran without the feature.
  EXPECT_GT(retransmits, 0u);
  // And at 1% and 5% mostly as fast recovery, not on the retransmission timer:
  // without SACK each partial ACK must retransmit the next hole (RFC 6582 §3.2 step
  // 3), or every window with two losses waits for an RTO. Seen: at most 6 RTOs to
  // 28 fast retransmits; with the partial-ACK step removed, 14 to 21 RTOs to 27.
  // (At 10% loss RTOs are common either way: lost retransmissions, tiny windows.)
  EXPECT_LE(3 * timeouts, fast) << timeouts << " RTOs, " << fast << " fast retransmits";
}

std::string negotiation_name(const ::testing::TestParamInfo<std::tuple<Feature, OffOn>>& p) {
  const char* features[] = {"no_sack", "no_timestamps", "no_wscale"};
  const char* hosts[] = {"both", "on_a", "on_b"};
  return std::string(features[static_cast<int>(std::get<0>(p.param))]) + "_" +
         hosts[static_cast<int>(std::get<1>(p.param))];
}

INSTANTIATE_TEST_SUITE_P(Off, TcpSimNegotiation,
                         ::testing::Combine(::testing::Values(Feature::kSack, Feature::kTimestamps,
                                                              Feature::kWindowScaling),
                                            ::testing::Values(OffOn::kBoth, OffOn::kA, OffOn::kB)),
                         negotiation_name);

// ---- loss behind a rate limit -----------------------------------------------------------

struct RateLossCase {
  const char* name;
  uint64_t rate_bps;
  int64_t delay_ms;
  int loss_percent;
  uint64_t bytes;
};

class TcpSimRateLoss : public ::testing::TestWithParam<RateLossCase> {};

// Loss and queue overflow together: losses found by SACK/RACK and by the queue's
// tail drops share one recovery, and pacing to the link must survive both.
TEST_P(TcpSimRateLoss, EveryByteArrivesUnderTheLinkRate) {
  const RateLossCase& c = GetParam();
  uint64_t lost = 0, retransmits = 0;
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    for (TcpDirection dir : {TcpDirection::kAtoB, TcpDirection::kBtoA}) {
      TwoHostsOptions ho = hosts_options(c.loss_percent / 100.0, Duration::millis(c.delay_ms), seed);
      ho.link.rate_bps = c.rate_bps;
      ho.link.queue_limit_bytes = 64 * 1024;
      TwoHosts h(ho);
      const WorkloadResult r = run_checked(h, ho, bulk(c.bytes, dir), seed_text(seed, dir));
      if (!r.ok) return;
      const double goodput_bps = 8.0 * static_cast<double>(r.bytes_verified) / r.elapsed.as_seconds();
      EXPECT_LT(goodput_bps, static_cast<double>(c.rate_bps)) << describe(h);
      lost += link_counter_both(h, LinkCounter::kDroppedLoss);
      retransmits += r.retransmits;
    }
  }
  EXPECT_GT(lost, 0u);
  EXPECT_GT(retransmits, 0u);
}

INSTANTIATE_TEST_SUITE_P(Rates, TcpSimRateLoss,
                         ::testing::Values(RateLossCase{"r10M_20ms_loss2", 10'000'000, 20, 2, 400'000},
                                           RateLossCase{"r100M_5ms_loss1", 100'000'000, 5, 1, 1'000'000}),
                         [](const auto& p) { return std::string(p.param.name); });

// ---- a megabyte through loss ------------------------------------------------------------

class TcpSimLargeLoss : public ::testing::TestWithParam<std::tuple<TcpDirection, int>> {};

// Long enough for many recovery episodes in one connection, congestion avoidance
// after each, and (both/echo) SACK blocks on data segments in both directions.
TEST_P(TcpSimLargeLoss, MegabyteVerified) {
  const auto [dir, loss_percent] = GetParam();
  const TwoHostsOptions ho = hosts_options(loss_percent / 100.0, Duration::millis(5), 7);
  TwoHosts h(ho);
  const WorkloadResult r = run_checked(h, ho, bulk(1'000'000, dir), std::string(to_string(dir)));
  if (!r.ok) return;
  EXPECT_GT(r.retransmits, 0u) << describe(h);
}

INSTANTIATE_TEST_SUITE_P(Directions, TcpSimLargeLoss,
                         ::testing::Combine(::testing::Values(TcpDirection::kAtoB, TcpDirection::kBtoA,
                                                              TcpDirection::kBoth, TcpDirection::kEcho),
                                            ::testing::Values(2, 5)),
                         [](const auto& p) {
                           return std::string(to_string(std::get<0>(p.param))) + "_loss" +
                                  std::to_string(std::get<1>(p.param));
                         });

// ---- reordering, duplication and corruption together -----------------------------------

class TcpSimCombined : public ::testing::TestWithParam<int64_t> {};

TEST_P(TcpSimCombined, EveryByteVerifiedAtThisDelay) {
  const int64_t delay_ms = GetParam();
  uint64_t reordered = 0, duplicated = 0, corrupted = 0, tcp_bad = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    TwoHostsOptions ho = hosts_options(0.0, Duration::millis(delay_ms), seed);
    ho.link.reorder = 0.05;
    // Reordered by up to a quarter of the RTT (and 1 ms on a zero-delay link).
    ho.link.reorder_extra = Duration::millis(std::max<int64_t>(1, delay_ms / 2));
    ho.link.duplicate = 0.03;
    ho.link.corrupt = 0.02;
    TwoHosts h(ho);
    const TcpDirection dir = seed % 2 ? TcpDirection::kBoth : TcpDirection::kEcho;
    // A corrupted byte that got through would fail the run at its offset.
    const WorkloadResult r = run_checked(h, ho, bulk(150'000, dir), seed_text(seed, dir));
    if (!r.ok) return;
    reordered += link_counter_both(h, LinkCounter::kReordered);
    duplicated += link_counter_both(h, LinkCounter::kDuplicated);
    corrupted += link_counter_both(h, LinkCounter::kCorrupted);
    tcp_bad += counter_both(h, "tcp", "drop_bad_checksum");
  }
  // All three impairments happened, and TCP's checksum caught corrupted segments.
  EXPECT_GT(reordered, 0u);
  EXPECT_GT(duplicated, 0u);
  EXPECT_GT(corrupted, 0u);
  EXPECT_GT(tcp_bad, 0u);
}

INSTANTIATE_TEST_SUITE_P(Delays, TcpSimCombined, ::testing::Values(int64_t{0}, int64_t{10}, int64_t{50}),
                         [](const auto& p) { return "delay" + std::to_string(p.param) + "ms"; });

}  // namespace
}  // namespace joyride::sim
