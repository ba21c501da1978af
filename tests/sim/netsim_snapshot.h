// The netsim tables' stored snapshots: rows "<loss>% <delay>ms <value> <retransmits>
// <seconds>" keyed by (loss %, delay ms). Each table test formats its own rows and
// compares what it cares about; this file reads and (re)writes the snapshot.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <istream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

namespace joyride::sim::testing {

struct NetsimCell {
  uint64_t value = 0;  // the table's measure: exchanges, goodput, ...
  uint64_t retransmits = 0;
  double seconds = 0;
};
using NetsimKey = std::pair<int, int>;  // (loss %, delay ms)
using NetsimTable = std::map<NetsimKey, NetsimCell>;

inline NetsimTable parse_netsim_table(std::istream& in) {
  NetsimTable table;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream row(line);
    int loss = 0, delay = 0;
    char pct = 0;
    std::string ms;
    NetsimCell c;
    if (row >> loss >> pct >> delay >> ms >> c.value >> c.retransmits >> c.seconds) table[{loss, delay}] = c;
  }
  return table;
}

// With JOYRIDE_UPDATE_SNAPSHOT=1 writes `text` to `path` and returns nullopt; otherwise
// returns the stored table. A missing snapshot is a failure, not a silent first write: a
// deleted or misnamed file would otherwise make the comparison pass without comparing
// anything (in CI, every run would be the "first").
inline std::optional<NetsimTable> stored_netsim_table(const std::filesystem::path& path, const std::string& text) {
  const char* update = std::getenv("JOYRIDE_UPDATE_SNAPSHOT");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream out(path);
    EXPECT_TRUE(out) << "cannot write " << path;
    out << text;
    std::printf("wrote %s\n", path.c_str());
    return std::nullopt;
  }
  if (!std::filesystem::exists(path)) {
    ADD_FAILURE() << "snapshot " << path << " is missing; to create it from this run, set "
                  << "JOYRIDE_UPDATE_SNAPSHOT=1 and run the test again, then review and commit the file";
    return std::nullopt;
  }
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot read " << path;
  return parse_netsim_table(in);
}

}  // namespace joyride::sim::testing
