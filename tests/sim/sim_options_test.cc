// joyride-sim's command line (tools/sim/options.cc): every flag parses into the field
// the run uses, and every bad value is refused with a message that names the flag and
// says what was expected. A flag parsed into the wrong field, or a value silently
// clamped, would make a scenario test something other than what its command says.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "options.h"

namespace joyride::sim {
namespace {

using base::Duration;

std::optional<SimOptions> parse(std::vector<const char*> args, std::string& error) {
  std::vector<char*> argv{const_cast<char*>("joyride-sim")};
  for (const char* a : args) argv.push_back(const_cast<char*>(a));
  return parse_options(static_cast<int>(argv.size()), argv.data(), error);
}

SimOptions parse_ok(std::vector<const char*> args) {
  std::string error;
  auto o = parse(args, error);
  EXPECT_TRUE(o.has_value()) << args.back() << ": " << error;
  return o.value_or(SimOptions{});
}

TEST(SimOptions, TcpFlags) {
  const SimOptions o =
      parse_ok({"tcp", "--bytes", "1000", "--connections", "3", "--direction", "both", "--cc", "newreno"});
  EXPECT_EQ(o.workload, "tcp");
  EXPECT_EQ(o.tcp.bytes, 1000u);
  EXPECT_EQ(o.tcp.connections, 3u);
  EXPECT_EQ(o.tcp.direction, TcpDirection::kBoth);
  EXPECT_EQ(o.tcp.congestion_control, "newreno");
}

// Each impairment lands in its own field: a swapped pair would still parse.
TEST(SimOptions, LinkFlagsReachTheirFields) {
  const SimOptions o = parse_ok({"tcp", "--loss", "0.01", "--reorder", "0.02", "--dup", "0.03", "--corrupt", "0.04",
                                 "--delay", "20ms", "--rate", "10M", "--seed", "77", "--queue", "32768", "--mtu",
                                 "9000", "--timeout", "90s"});
  const auto& l = o.hosts.link;
  EXPECT_DOUBLE_EQ(l.loss, 0.01);
  EXPECT_DOUBLE_EQ(l.reorder, 0.02);
  EXPECT_DOUBLE_EQ(l.duplicate, 0.03);
  EXPECT_DOUBLE_EQ(l.corrupt, 0.04);
  EXPECT_EQ(l.latency, Duration::millis(20));
  EXPECT_EQ(l.rate_bps, 10'000'000u);
  EXPECT_EQ(l.seed, 77u);
  EXPECT_EQ(l.queue_limit_bytes, 32768u);
  EXPECT_EQ(o.hosts.mtu, 9000);
  ASSERT_TRUE(o.tcp.timeout.has_value());
  EXPECT_EQ(*o.tcp.timeout, Duration::seconds(90));
}

TEST(SimOptions, ProbabilitiesAsFractionsOrPercent) {
  for (const char* flag : {"--loss", "--reorder", "--dup", "--corrupt"}) {
    for (auto [text, want] : {std::pair{"0.05", 0.05}, std::pair{"5%", 0.05}, std::pair{"0", 0.0},
                              std::pair{"1", 1.0}, std::pair{"100%", 1.0}, std::pair{"2.5%", 0.025}}) {
      const SimOptions o = parse_ok({"tcp", flag, text});
      const auto& l = o.hosts.link;
      const double got = std::string_view(flag) == "--loss"      ? l.loss
                         : std::string_view(flag) == "--reorder" ? l.reorder
                         : std::string_view(flag) == "--dup"     ? l.duplicate
                                                                 : l.corrupt;
      EXPECT_DOUBLE_EQ(got, want) << flag << " " << text;
    }
  }
}

TEST(SimOptions, DurationsRatesAndSeeds) {
  EXPECT_EQ(parse_ok({"tcp", "--delay", "1.5s"}).hosts.link.latency, Duration::millis(1500));
  EXPECT_EQ(parse_ok({"tcp", "--delay", "250us"}).hosts.link.latency, Duration::micros(250));
  EXPECT_EQ(parse_ok({"tcp", "--delay", "0"}).hosts.link.latency, Duration::zero());
  EXPECT_EQ(parse_ok({"tcp", "--rate", "1G"}).hosts.link.rate_bps, 1'000'000'000u);
  EXPECT_EQ(parse_ok({"tcp", "--rate", "56k"}).hosts.link.rate_bps, 56'000u);
  EXPECT_EQ(parse_ok({"tcp", "--rate", "2.5M"}).hosts.link.rate_bps, 2'500'000u);
  EXPECT_EQ(parse_ok({"tcp", "--rate", "0"}).hosts.link.rate_bps, 0u);
  EXPECT_EQ(parse_ok({"tcp", "--seed", "0"}).hosts.link.seed, 0u);
  EXPECT_EQ(parse_ok({"tcp", "--seed", "18446744073709551615"}).hosts.link.seed, UINT64_MAX);
}

// The whole message, so it keeps naming the flag, the value and what was wanted.
TEST(SimOptions, BadValuesNameTheFlag) {
  const std::string prob = ": expected a probability such as 0.05 or 5%";
  const std::string dur = ": expected a duration such as 10ms, 1.5s or 250us";
  const std::string rate = ": expected a rate in bits/s such as 100M or 1G (0: unlimited)";
  const std::vector<std::pair<std::vector<const char*>, std::string>> cases = {
      {{"tcp", "--bytes", "x"}, "--bytes x: expected a whole number of bytes per connection"},
      {{"tcp", "--bytes", "-1"}, "--bytes -1: expected a whole number of bytes per connection"},
      {{"tcp", "--connections", "0"}, "--connections 0: expected a number of connections from 1 to 100000"},
      {{"tcp", "--direction", "up"}, "--direction up: expected a2b, b2a, both or echo"},
      {{"tcp", "--cc", "bbr"}, "--cc bbr: expected cubic or newreno"},
      {{"tcp", "--loss", "1.5"}, "--loss 1.5" + prob},
      {{"tcp", "--loss", "150%"}, "--loss 150%" + prob},
      {{"tcp", "--loss", "-0.1"}, "--loss -0.1" + prob},
      {{"tcp", "--loss", "lots"}, "--loss lots" + prob},
      {{"tcp", "--reorder", "2"}, "--reorder 2" + prob},
      {{"tcp", "--reorder", "0.1x"}, "--reorder 0.1x" + prob},
      {{"tcp", "--dup", "101%"}, "--dup 101%" + prob},
      {{"tcp", "--dup", "nan"}, "--dup nan" + prob},
      {{"tcp", "--corrupt", "inf"}, "--corrupt inf" + prob},
      {{"tcp", "--corrupt", "5%%"}, "--corrupt 5%%" + prob},
      {{"tcp", "--delay", "10"}, "--delay 10" + dur},  // no unit: 10 what?
      {{"tcp", "--delay", "10min"}, "--delay 10min" + dur},
      {{"tcp", "--delay", "-5ms"}, "--delay -5ms" + dur},
      {{"tcp", "--rate", "10Mbit"}, "--rate 10Mbit" + rate},
      {{"tcp", "--rate", "-1M"}, "--rate -1M" + rate},
      {{"tcp", "--rate", "fast"}, "--rate fast" + rate},
      {{"tcp", "--seed", "-1"}, "--seed -1: expected a whole number"},
      {{"tcp", "--seed", "1.5"}, "--seed 1.5: expected a whole number"},
      {{"tcp", "--seed", "18446744073709551616"}, "--seed 18446744073709551616: expected a whole number"},
      {{"tcp", "--timeout", "0"}, "--timeout 0: expected a positive duration such as 500ms"},
      {{"tcp", "--mtu", "100"}, "--mtu 100: expected an MTU from 576 to 65535"},
      {{"tcp", "--count", "3"}, "--count applies to ping and udp only (tcp: --bytes, --connections)"},
      {{"udp", "--bytes", "3"}, "--bytes applies to the tcp workload only"},
      {{"tcp", "--bytes"}, "--bytes needs a value"},
      {{"tcp", "--seed"}, "--seed needs a value"},
      {{"tcp", "--jitter", "5ms"}, "unknown option --jitter"},
      {{"sctp"}, "unknown workload 'sctp': expected ping, udp or tcp"},
      {{}, "missing workload (ping, udp or tcp)"},
  };
  for (const auto& [args, want] : cases) {
    std::string error;
    const auto o = parse(args, error);
    const std::string what = args.empty() ? "(no arguments)" : args.back();
    EXPECT_FALSE(o.has_value()) << what << " was accepted";
    EXPECT_EQ(error, want) << what;
  }
}

}  // namespace
}  // namespace joyride::sim
