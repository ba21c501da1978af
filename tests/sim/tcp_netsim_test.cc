// A netsim-style table for TCP (after smoltcp's netsim): one connection moves 1 MB
// from A to B over a 100 Mbit/s link, for loss ∈ {0, 1, 5, 10, 20}% × one-way delay
// ∈ {1, 10, 100} ms, seed 1, once per congestion control (CUBIC, the default, and
// NewReno). Each cell's goodput (verified bytes per simulated second), retransmitted
// segments and simulated seconds are printed and compared with the algorithm's snapshot,
// tests/sim/netsim_tcp_snapshot.txt (cubic) and netsim_tcp_newreno_snapshot.txt: the
// runs are deterministic, so a changed retransmit count or duration means TCP's
// behaviour changed (loss recovery, congestion control, timers) and the diff shows where.
//
// Regenerating the snapshots after an intended change (then review the diff):
//   JOYRIDE_UPDATE_SNAPSHOT=1 ./build/debug/tests/joyride_sim_tests --gtest_filter='*TcpNetsim*'
// A missing snapshot fails the test (run with the variable above to create it).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>

#include "sim/netsim_snapshot.h"
#include "sim/sim_harness.h"
#include "tcp_workload.h"

namespace joyride::sim {
namespace {

using testing::describe;
using testing::hosts_options;

constexpr int kLossPercent[] = {0, 1, 5, 10, 20};
constexpr int kDelayMs[] = {1, 10, 100};
constexpr uint64_t kSeed = 1;
constexpr uint64_t kBytes = 1'000'000;
constexpr uint64_t kRateBps = 100'000'000;

using Cell = testing::NetsimCell;
using Key = testing::NetsimKey;

// CUBIC keeps the original file name (it was the only table before NewReno was added).
std::filesystem::path snapshot_path(const std::string& cc) {
  const std::string name = cc == "cubic" ? "netsim_tcp_snapshot.txt" : "netsim_tcp_" + cc + "_snapshot.txt";
  return std::filesystem::path(__FILE__).parent_path() / name;
}

std::string format_row(Key k, const Cell& c) {
  char line[128];
  std::snprintf(line, sizeof line, "%4d%% %5dms %12llu %11llu %12.6f", k.first, k.second,
                static_cast<unsigned long long>(c.value), static_cast<unsigned long long>(c.retransmits), c.seconds);
  return line;
}

std::string format_table(const std::string& cc, const std::map<Key, Cell>& table) {
  std::string out = "# TCP " + cc +
                    " a2b, 1 MB, 100M link, seed 1: see tests/sim/tcp_netsim_test.cc to regenerate.\n"
                    "# loss  delay  goodput_B/s retransmits      seconds\n";
  for (const auto& [k, c] : table) out += format_row(k, c) + "\n";
  return out;
}

class TcpNetsimTest : public ::testing::TestWithParam<const char*> {};

TEST_P(TcpNetsimTest, GoodputTableMatchesSnapshot) {
  const std::string cc = GetParam();
  std::map<Key, Cell> table;
  for (int loss : kLossPercent) {
    for (int delay : kDelayMs) {
      TwoHostsOptions ho = hosts_options(loss / 100.0, base::Duration::millis(delay), kSeed);
      ho.link.rate_bps = kRateBps;
      TwoHosts hosts(ho);
      TcpWorkloadOptions o;
      o.bytes = kBytes;
      o.congestion_control = cc;
      o.timeout = default_tcp_timeout(ho, o);
      const WorkloadResult r = run_tcp(hosts, o);
      EXPECT_TRUE(r.ok) << loss << "% " << delay << "ms: " << describe(r) << "\n" << describe(hosts);
      if (r.ok) {
        EXPECT_EQ(r.bytes_verified, kBytes);
        EXPECT_LT(8.0 * static_cast<double>(kBytes) / r.elapsed.as_seconds(), static_cast<double>(kRateBps));
      }
      if (loss == 0) {
        EXPECT_EQ(r.retransmits, 0u) << delay << "ms";
      }
      const double seconds = r.elapsed.as_seconds();
      table[{loss, delay}] = Cell{seconds > 0 ? static_cast<uint64_t>(static_cast<double>(r.bytes_verified) / seconds) : 0,
                                  r.retransmits, seconds};
    }
  }
  const std::string text = format_table(cc, table);
  std::printf("%s", text.c_str());
  for (const auto& [k, c] : table) {
    RecordProperty("loss" + std::to_string(k.first) + "pct_delay" + std::to_string(k.second) + "ms",
                   std::to_string(c.value) + " B/s, " + std::to_string(c.retransmits) + " retransmits, " +
                       std::to_string(c.seconds) + " s");
  }

  const auto path = snapshot_path(cc);
  const auto stored = testing::stored_netsim_table(path, text);
  if (!stored) return;
  const std::map<Key, Cell>& expected = *stored;
  ASSERT_EQ(expected.size(), table.size()) << path << " has " << expected.size() << " rows; regenerate it";
  for (const auto& [k, c] : table) {
    auto it = expected.find(k);
    ASSERT_NE(it, expected.end()) << "no row for " << k.first << "% " << k.second << "ms in " << path;
    EXPECT_EQ(c.retransmits, it->second.retransmits)
        << k.first << "% " << k.second << "ms: retransmits changed (snapshot " << path << ")";
    // Printed with microsecond precision: the same run gives the same text.
    EXPECT_EQ(format_row(k, c), format_row(k, it->second))
        << k.first << "% " << k.second << "ms: duration or goodput changed (snapshot " << path << ")";
  }
}

INSTANTIATE_TEST_SUITE_P(Cc, TcpNetsimTest, ::testing::Values("cubic", "newreno"),
                         [](const ::testing::TestParamInfo<const char*>& param_info) { return std::string(param_info.param); });

}  // namespace
}  // namespace joyride::sim
