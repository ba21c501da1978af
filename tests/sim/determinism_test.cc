// Same seed, same run: two simulations of an impaired link (loss, reordering,
// duplication, corruption, a rate limit) with the same seed agree on everything —
// the workloads' results, the simulated time, every link and stack counter, and the
// bytes and send times of every frame that entered the link. Different seeds differ.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "sim/sim_harness.h"

namespace joyride::sim {
namespace {

using base::Duration;
using dev::sim::LinkDir;
using testing::all_counters;
using testing::describe;

struct Fingerprint {
  std::vector<WorkloadResult> results;
  std::map<std::string, uint64_t> counters;
  int64_t end_nanos = 0;
  uint64_t frames_hash[2] = {0, 0};  // FNV-1a over (time, length, bytes) of each frame, per direction
  uint64_t frames_seen[2] = {0, 0};
};

void mix(uint64_t& h, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
}

Fingerprint run_scenario(uint64_t seed) {
  TwoHostsOptions opts;
  opts.link.seed = seed;
  opts.link.latency = Duration::millis(3);
  opts.link.rate_bps = 10'000'000;
  opts.link.loss = 0.05;
  opts.link.reorder = 0.05;
  opts.link.duplicate = 0.05;
  opts.link.corrupt = 0.02;
  TwoHosts hosts(opts);

  Fingerprint fp;
  fp.frames_hash[0] = fp.frames_hash[1] = 0xcbf29ce484222325ULL;
  std::vector<uint8_t> bytes;
  for (LinkDir dir : {LinkDir::kAtoB, LinkDir::kBtoA}) {
    const auto d = static_cast<size_t>(dir);
    hosts.net().set_hook(hosts.link(), dir, [&, d](buf::Packet& frame) {
      bytes.resize(frame.len());
      frame.copy_out(0, bytes);
      const int64_t t = hosts.net().now().as_nanos();
      const uint64_t len = frame.len();
      mix(fp.frames_hash[d], reinterpret_cast<const uint8_t*>(&t), sizeof t);
      mix(fp.frames_hash[d], reinterpret_cast<const uint8_t*>(&len), sizeof len);
      mix(fp.frames_hash[d], bytes.data(), bytes.size());
      ++fp.frames_seen[d];
      return true;
    });
  }

  ExchangeOptions udp;
  udp.count = 40;
  udp.size = 1200;
  fp.results.push_back(run_udp_echo(hosts, udp));
  ExchangeOptions ping;
  ping.count = 10;
  ping.size = 4000;  // three fragments each way
  fp.results.push_back(run_ping(hosts, ping));
  // Let stragglers finish, within a bound: late duplicates, ARP refreshes, and
  // incomplete datagrams, which must leave the reassemblers before the hosts go.
  EXPECT_TRUE(testing::settle(hosts));
  for (const auto& r : fp.results) EXPECT_TRUE(r.ok) << "seed " << seed << ": " << describe(r) << "\n" << describe(hosts);
  fp.counters = all_counters(hosts);
  fp.end_nanos = hosts.net().now().as_nanos();
  hosts.net().set_hook(hosts.link(), LinkDir::kAtoB, nullptr);
  hosts.net().set_hook(hosts.link(), LinkDir::kBtoA, nullptr);
  return fp;
}

void expect_same_results(const WorkloadResult& x, const WorkloadResult& y) {
  EXPECT_EQ(x.ok, y.ok);
  EXPECT_EQ(x.failure, y.failure);
  EXPECT_EQ(x.exchanges, y.exchanges);
  EXPECT_EQ(x.bytes_verified, y.bytes_verified);
  EXPECT_EQ(x.retransmits, y.retransmits);
  EXPECT_EQ(x.elapsed, y.elapsed);
}

TEST(SimDeterminismTest, SameSeedGivesIdenticalRuns) {
  for (uint64_t seed : {1u, 42u, 1234567u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const Fingerprint x = run_scenario(seed);
    const Fingerprint y = run_scenario(seed);
    ASSERT_EQ(x.results.size(), y.results.size());
    for (size_t i = 0; i < x.results.size(); ++i) expect_same_results(x.results[i], y.results[i]);
    EXPECT_EQ(x.end_nanos, y.end_nanos);
    EXPECT_EQ(x.counters, y.counters);
    for (int d = 0; d < 2; ++d) {
      EXPECT_EQ(x.frames_seen[d], y.frames_seen[d]);
      EXPECT_EQ(x.frames_hash[d], y.frames_hash[d]);
    }
    // The scenario is impaired enough for the seed to matter.
    EXPECT_GT(x.counters.at("link.a->b.dropped_loss") + x.counters.at("link.b->a.dropped_loss"), 0u);
    EXPECT_GT(x.results[0].retransmits + x.results[1].retransmits, 0u);
  }
}

TEST(SimDeterminismTest, DifferentSeedsDiffer) {
  const Fingerprint base = run_scenario(1);
  for (uint64_t seed = 2; seed <= 6; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const Fingerprint other = run_scenario(seed);
    // Loss, reordering and the stacks' random choices (ports, idents) all move.
    EXPECT_NE(base.frames_hash[0], other.frames_hash[0]);
    EXPECT_NE(base.frames_hash[1], other.frames_hash[1]);
    EXPECT_NE(base.counters, other.counters);
  }
}

}  // namespace
}  // namespace joyride::sim
