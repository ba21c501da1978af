#include "options.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace joyride::sim {

namespace {

std::optional<double> parse_number(std::string_view s, std::string_view* rest) {
  const std::string str(s);
  char* end = nullptr;
  const double v = std::strtod(str.c_str(), &end);
  if (end == str.c_str() || !std::isfinite(v) || v < 0) return std::nullopt;
  *rest = s.substr(static_cast<size_t>(end - str.c_str()));
  return v;
}

std::optional<uint64_t> parse_u64(std::string_view s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> parse_probability(std::string_view s) {
  std::string_view rest;
  auto v = parse_number(s, &rest);
  if (!v) return std::nullopt;
  const double p = rest == "%" ? *v / 100.0 : *v;
  if ((!rest.empty() && rest != "%") || p > 1.0) return std::nullopt;
  return p;
}

}  // namespace

std::optional<base::Duration> parse_duration(std::string_view s) {
  std::string_view unit;
  auto v = parse_number(s, &unit);
  if (!v) return std::nullopt;
  double ns;
  if (unit == "s") ns = *v * 1e9;
  else if (unit == "ms") ns = *v * 1e6;
  else if (unit == "us") ns = *v * 1e3;
  else if (unit == "ns" || (unit.empty() && *v == 0)) ns = *v;
  else return std::nullopt;
  return base::Duration::nanos(static_cast<int64_t>(std::llround(ns)));
}

std::optional<uint64_t> parse_rate(std::string_view s) {
  std::string_view unit;
  auto v = parse_number(s, &unit);
  if (!v) return std::nullopt;
  double scale = 1;
  if (unit == "k" || unit == "K") scale = 1e3;
  else if (unit == "M") scale = 1e6;
  else if (unit == "G") scale = 1e9;
  else if (!unit.empty()) return std::nullopt;
  return static_cast<uint64_t>(std::llround(*v * scale));
}

std::string usage() {
  return "usage: joyride-sim ping|udp [--count N] [--size BYTES] [--attempts N] [LINK]\n"
         "       joyride-sim tcp [--bytes N] [--connections K] [--direction a2b|b2a|both|echo]\n"
         "                       [--cc cubic|newreno] [LINK]\n"
         "  LINK: [--loss P] [--reorder P] [--dup P] [--corrupt P] [--delay D] [--rate R]\n"
         "        [--queue BYTES] [--mtu M] [--seed S] [--timeout D] [--pcap FILE] [--verbose]\n"
         "  P: a probability, 0.05 or 5%; D: a duration, 10ms, 1.5s, 250us; R: bits/s, 100M, 1G\n"
         "Two hosts (198.18.0.1, 198.18.0.2) on one simulated link. ping/udp: host A sends N\n"
         "requests of BYTES each to B (ICMP echo or UDP echo on port 7) and verifies every reply;\n"
         "--timeout is per attempt. tcp: B listens on port 5001, A opens K connections and each\n"
         "sends N bytes in the given direction (echo: B returns them), verified byte by byte, then\n"
         "both close; --timeout bounds the whole run (default: scaled to the bytes and the link).\n";
}

std::optional<SimOptions> parse_options(int argc, char** argv, std::string& error) {
  SimOptions o;
  if (argc < 2) {
    error = "missing workload (ping, udp or tcp)";
    return std::nullopt;
  }
  o.workload = argv[1];
  if (o.workload != "ping" && o.workload != "udp" && o.workload != "tcp") {
    error = "unknown workload '" + o.workload + "': expected ping, udp or tcp";
    return std::nullopt;
  }
  const bool tcp = o.workload == "tcp";
  auto& link = o.hosts.link;
  for (int i = 2; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--verbose") {
      o.verbose = true;
      continue;
    }
    if (i + 1 >= argc) {
      error = std::string(flag) + " needs a value";
      return std::nullopt;
    }
    const std::string_view value = argv[++i];
    auto bad = [&](std::string_view expected) {
      error = std::string(flag) + " " + std::string(value) + ": expected " + std::string(expected);
      return std::nullopt;
    };
    // Flags of one kind of workload only.
    const bool tcp_flag = flag == "--bytes" || flag == "--connections" || flag == "--direction" || flag == "--cc";
    const bool exchange_flag = flag == "--count" || flag == "--size" || flag == "--attempts";
    if (tcp_flag && !tcp) {
      error = std::string(flag) + " applies to the tcp workload only";
      return std::nullopt;
    }
    if (exchange_flag && tcp) {
      error = std::string(flag) + " applies to ping and udp only (tcp: --bytes, --connections)";
      return std::nullopt;
    }
    if (flag == "--bytes") {
      auto v = parse_u64(value);
      if (!v) return bad("a whole number of bytes per connection");
      o.tcp.bytes = *v;
    } else if (flag == "--connections") {
      auto v = parse_u64(value);
      if (!v || *v == 0 || *v > 100000) return bad("a number of connections from 1 to 100000");
      o.tcp.connections = static_cast<uint32_t>(*v);
    } else if (flag == "--direction") {
      auto v = parse_tcp_direction(value);
      if (!v) return bad("a2b, b2a, both or echo");
      o.tcp.direction = *v;
    } else if (flag == "--cc") {
      if (value != "cubic" && value != "newreno") return bad("cubic or newreno");
      o.tcp.congestion_control = std::string(value);
    } else if (flag == "--count") {
      auto v = parse_u64(value);
      if (!v) return bad("a whole number");
      o.exchange.count = *v;
    } else if (flag == "--size") {
      auto v = parse_u64(value);
      const uint64_t max = o.workload == "udp" ? 65507 : 65507;
      if (!v || *v > max) return bad("a payload size from 0 to 65507 bytes");
      o.exchange.size = *v;
    } else if (flag == "--loss" || flag == "--reorder" || flag == "--dup" || flag == "--corrupt") {
      auto v = parse_probability(value);
      if (!v) return bad("a probability such as 0.05 or 5%");
      (flag == "--loss" ? link.loss : flag == "--reorder" ? link.reorder : flag == "--dup" ? link.duplicate
                                                                                            : link.corrupt) = *v;
    } else if (flag == "--delay") {
      auto v = parse_duration(value);
      if (!v) return bad("a duration such as 10ms, 1.5s or 250us");
      link.latency = *v;
    } else if (flag == "--timeout") {
      auto v = parse_duration(value);
      if (!v || *v <= base::Duration::zero()) return bad("a positive duration such as 500ms");
      o.exchange.timeout = *v;
      o.tcp.timeout = *v;
    } else if (flag == "--rate") {
      auto v = parse_rate(value);
      if (!v) return bad("a rate in bits/s such as 100M or 1G (0: unlimited)");
      link.rate_bps = *v;
    } else if (flag == "--queue") {
      auto v = parse_u64(value);
      if (!v) return bad("a queue size in bytes");
      link.queue_limit_bytes = *v;
    } else if (flag == "--mtu") {
      auto v = parse_u64(value);
      if (!v || *v < 576 || *v > 65535) return bad("an MTU from 576 to 65535");
      o.hosts.mtu = static_cast<uint16_t>(*v);
    } else if (flag == "--seed") {
      auto v = parse_u64(value);
      if (!v) return bad("a whole number");
      link.seed = *v;
    } else if (flag == "--attempts") {
      auto v = parse_u64(value);
      if (!v || *v == 0 || *v > 1000000) return bad("a number of attempts from 1");
      o.exchange.max_attempts = static_cast<uint32_t>(*v);
    } else if (flag == "--pcap") {
      o.hosts.pcap_path = std::string(value);
    } else {
      error = "unknown option " + std::string(flag);
      return std::nullopt;
    }
  }
  return o;
}

}  // namespace joyride::sim
