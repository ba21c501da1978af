// A netsim-style table (after smoltcp's netsim): UDP echo, 50 requests of 1000 bytes,
// over loss ∈ {0, 1, 5, 10, 20}% × one-way delay ∈ {0, 10, 100} ms, one seed. Each
// cell's exchanges, retransmits and simulated seconds are printed and compared with
// the snapshot in tests/sim/netsim_udp_snapshot.txt: the runs are deterministic, so
// any change in retransmits (or exchanges) means the stack's behaviour changed.
//
// Regenerating the snapshot after an intended change (then review the diff):
//   JOYRIDE_UPDATE_SNAPSHOT=1 ./build/debug/tests/joyride_sim_tests --gtest_filter='SimNetsim*'
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
#include <vector>

#include "sim/netsim_snapshot.h"
#include "sim/sim_harness.h"

namespace joyride::sim {
namespace {

using testing::describe;
using testing::hosts_options;

constexpr int kLossPercent[] = {0, 1, 5, 10, 20};
constexpr int kDelayMs[] = {0, 10, 100};
constexpr uint64_t kSeed = 1;

using Cell = testing::NetsimCell;
using Key = testing::NetsimKey;

// Beside this source file (__FILE__ is absolute in the CMake build).
std::filesystem::path snapshot_path() {
  return std::filesystem::path(__FILE__).parent_path() / "netsim_udp_snapshot.txt";
}

std::string format_row(Key k, const Cell& c) {
  char line[128];
  std::snprintf(line, sizeof line, "%4d%% %5dms %9llu %11llu %10.3f", k.first, k.second,
                static_cast<unsigned long long>(c.value), static_cast<unsigned long long>(c.retransmits),
                c.seconds);
  return line;
}

std::string format_table(const std::map<Key, Cell>& table) {
  std::string out =
      "# UDP echo, 50 x 1000 bytes, seed 1: see tests/sim/netsim_test.cc to regenerate.\n"
      "# loss  delay exchanges retransmits  seconds\n";
  for (const auto& [k, c] : table) out += format_row(k, c) + "\n";
  return out;
}

TEST(SimNetsimTest, UdpEchoTableMatchesSnapshot) {
  std::map<Key, Cell> table;
  for (int loss : kLossPercent) {
    for (int delay : kDelayMs) {
      TwoHosts hosts(hosts_options(loss / 100.0, base::Duration::millis(delay), kSeed));
      ExchangeOptions o;
      o.count = 50;
      o.size = 1000;
      const WorkloadResult r = run_udp_echo(hosts, o);
      EXPECT_TRUE(r.ok) << loss << "% " << delay << "ms: " << describe(r) << "\n" << describe(hosts);
      if (loss == 0) {
        EXPECT_EQ(r.retransmits, 0u) << delay << "ms";
      }
      table[{loss, delay}] = Cell{r.exchanges, r.retransmits, r.elapsed.as_seconds()};
    }
  }
  const std::string text = format_table(table);
  std::printf("%s", text.c_str());
  for (const auto& [k, c] : table) {
    RecordProperty("loss" + std::to_string(k.first) + "pct_delay" + std::to_string(k.second) + "ms",
                   std::to_string(c.value) + " exchanges, " + std::to_string(c.retransmits) + " retransmits, " +
                       std::to_string(c.seconds) + " s");
  }

  const auto path = snapshot_path();
  const auto stored = testing::stored_netsim_table(path, text);
  if (!stored) return;
  const std::map<Key, Cell>& expected = *stored;
  ASSERT_EQ(expected.size(), table.size()) << path << " has " << expected.size() << " rows; regenerate it";
  for (const auto& [k, c] : table) {
    auto it = expected.find(k);
    ASSERT_NE(it, expected.end()) << "no row for " << k.first << "% " << k.second << "ms in " << path;
    EXPECT_EQ(c.value, it->second.value) << k.first << "% " << k.second << "ms";
    EXPECT_EQ(c.retransmits, it->second.retransmits)
        << k.first << "% " << k.second << "ms: retransmits changed (snapshot " << path << ")";
  }
}

}  // namespace
}  // namespace joyride::sim
