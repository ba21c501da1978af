#include "control_dispatch.h"

#include <vector>

#include <fmt/format.h>

#include "joyride/service/control_requests.h"
#include "stats_report.h"

namespace joyride::joyrided {

namespace {

std::string stat_answer(const ControlTargets& t, base::Instant now) {
  std::vector<PortReport> reports;
  for (size_t i = 0; i < t.ports.size(); ++i) {
    const auto& p = *t.ports[i];
    PortReport r;
    r.interface = t.config.interfaces[i].name;
    r.device = t.config.interfaces[i].device;
    r.mac = p.mac().to_string();
    const auto link = p.link();
    r.link_up = link.up;
    r.speed_mbps = link.speed_mbps;
    r.offloads = offload_list(p.capabilities());
    const auto st = p.stats();
    r.counters = {{"port.rx_packets", st.ipackets}, {"port.tx_packets", st.opackets},
                  {"port.rx_bytes", st.ibytes},     {"port.tx_bytes", st.obytes},
                  {"port.rx_missed", st.imissed},   {"port.rx_errors", st.ierrors},
                  {"port.tx_errors", st.oerrors},   {"port.rx_nombuf", st.rx_nombuf}};
    p.counters().for_each([&](std::string_view n, uint64_t v) { r.counters.emplace_back("port." + std::string(n), v); });
    t.drivers[i]->counters().for_each(
        [&](std::string_view n, uint64_t v) { r.counters.emplace_back("driver." + std::string(n), v); });
    // The PMD's extended stats (per queue, per drop reason on NICs), those that moved:
    // a NIC has hundreds, most of them zero.
    for (const auto& x : p.xstats()) {
      if (x.value != 0) r.counters.emplace_back("xstat." + x.name, x.value);
    }
    reports.push_back(std::move(r));
  }
  const auto uptime = static_cast<uint64_t>((now - t.started_at).as_nanos() / 1'000'000'000);
  std::vector<InstanceReport> instances{{&t.stack.host_instance(), "joyrided"}};
  t.apps.for_each_app([&](const service::AppSession& a, bool) {
    instances.push_back({&a.instance(), fmt::format("app{}({},{})", a.id(), a.pid(), a.command())});
  });
  return stats_report(t.stack, reports, uptime, instances) + apps_report(t.apps) + services_report(t.services);
}

}  // namespace

std::string offload_list(const dev::dpdk::Capabilities& c) {
  std::string s;
  auto add = [&](bool on, const char* name) {
    if (on) s += (s.empty() ? "" : " ") + std::string(name);
  };
  add(c.rx_ipv4_checksum, "rx-ipv4-csum");
  add(c.rx_tcp_checksum, "rx-tcp-csum");
  add(c.rx_udp_checksum, "rx-udp-csum");
  add(c.tx_ipv4_checksum, "tx-ipv4-csum");
  add(c.tx_tcp_checksum, "tx-tcp-csum");
  add(c.tx_udp_checksum, "tx-udp-csum");
  add(c.tso, "tso");
  add(c.multi_seg_tx, "multi-seg");
  add(c.rss, "rss");
  return s;
}

std::string answer_control_request(std::string_view request, const ControlTargets& t, base::Instant now) {
  if (auto answer = service::answer_service_request(request, t.services, t.traffic, now)) return *answer;
  if (request == "stat" || request.empty()) return stat_answer(t, now);
  return "error: unknown request; expected stat, close, send or job\n";
}

}  // namespace joyride::joyrided
