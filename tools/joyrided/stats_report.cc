#include "stats_report.h"

#include <fmt/format.h>

#include <map>

namespace joyride::joyrided {
namespace {

std::string endpoint(wire::Ipv4Address a, uint16_t port) { return fmt::format("{}:{}", a.to_string(), port); }

std::string millis(base::Duration d) { return fmt::format("{:.3f}", static_cast<double>(d.as_nanos()) / 1e6); }

}  // namespace

std::string stats_report(core::Stack& stack, const std::vector<PortReport>& ports, uint64_t uptime_seconds,
                         const std::vector<InstanceReport>& instances) {
  std::string out = fmt::format("joyrided up {} s\n\n", uptime_seconds);

  out += "Interfaces\n";
  for (const core::Interface& itf : stack.interfaces().all()) {
    std::string addrs;
    for (const auto& a : itf.config.ipv4) addrs += (addrs.empty() ? "" : " ") + a.to_string();
    out += fmt::format("  {:<8} mtu {:<5} mac {}  inet {}\n", itf.config.name, itf.mtu(), itf.mac().to_string(), addrs);
  }
  for (const PortReport& p : ports) {
    out += fmt::format("  {:<8} device {}  link {}{}  offloads: {}\n", p.interface, p.device,
                       p.link_up ? "up" : "down", p.speed_mbps ? fmt::format(" {} Mb/s", p.speed_mbps) : "",
                       p.offloads.empty() ? "none" : p.offloads);
    for (const auto& [name, value] : p.counters) out += fmt::format("    {:<36} {}\n", name, value);
  }

  out += "\nProtocols\n";
  std::string module;
  stack.for_each_counter([&](std::string_view m, std::string_view name, uint64_t v) {
    if (m != module) {
      module = std::string(m);
      out += fmt::format("  {}\n", module);
    }
    out += fmt::format("    {:<36} {}\n", name, v);
  });

  out += "\nTCP sockets\n";
  // As `ss -tni`: the queues first (Recv-Q: received, not read; Send-Q: not yet
  // acknowledged or not yet sent), then both windows and TCP_INFO's main fields.
  constexpr std::string_view kRow =
      "  {:<12} {:<22} {:<22} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8} {:>10} {:>12} {:>12} {:>7}  {:<8} {}\n";
  out += fmt::format(kRow, "State", "Local", "Peer", "recv-q", "send-q", "rcv_wnd", "snd_wnd", "rtt ms", "rto ms",
                     "cwnd", "unacked", "retrans", "bytes_sent", "bytes_recv", "mss", "cc", "owner");
  for (const InstanceReport& r : instances) {
    r.instance->tcp().for_each_connection([&](core::SocketId, const core::TcpInfo& i, const core::tcp::FourTuple& t) {
      out += fmt::format(kRow, core::to_string(i.state), endpoint(t.local, t.local_port),
                         endpoint(t.remote, t.remote_port), i.recv_queued, i.send_queued, i.rcv_wnd, i.snd_wnd,
                         millis(i.rtt), millis(i.rto), i.cwnd, i.unacked, i.total_retrans, i.bytes_sent,
                         i.bytes_received, i.snd_mss, i.congestion_control, r.owner);
    });
  }

  out += "\nUDP sockets\n";
  out += fmt::format("  {:<22} {:<22} {:>10} {:>10}  {}\n", "Local", "Peer", "queued", "bytes", "owner");
  for (const InstanceReport& r : instances) {
    r.instance->udp().for_each_socket([&](const core::UdpSocketView& s) {
      out += fmt::format("  {:<22} {:<22} {:>10} {:>10}  {}\n",
                         fmt::format("{}:{}", s.local.address.to_string(), s.local.port),
                         s.remote ? fmt::format("{}:{}", s.remote->address.to_string(), s.remote->port) : "*:*",
                         s.queued_datagrams, s.queued_bytes, r.owner);
    });
  }
  return out;
}

std::string apps_report(const service::AppRegistry& apps) {
  std::string out = "\nApplications\n";
  constexpr std::string_view kRow = "  {:<6} {:<8} {:<6} {:<16} {:>8} {:>14} {:>14} {:>14} {:<9} {}\n";
  out += fmt::format(kRow, "app", "pid", "uid", "command", "sockets", "fifo_bytes", "buffer_bytes", "region_bytes",
                     "state", "fallbacks(family,route,option,other)");
  apps.for_each_app([&](const service::AppSession& a, bool alive) {
    out += fmt::format(kRow, a.id(), a.pid(), a.uid(), a.command(), a.sockets(), a.fifo_bytes_in_use(),
                       a.buffer_bytes_in_use(), a.region_bytes(), alive ? "attached" : "draining",
                       fmt::format("{},{},{},{}", a.fallbacks(0), a.fallbacks(1), a.fallbacks(2), a.fallbacks(3)));
    a.counters().for_each([&](std::string_view n, uint64_t v) {
      out += fmt::format("    app{}.{:<30} {}\n", a.id(), n, v);
    });
  });
  apps.counters().for_each([&](std::string_view n, uint64_t v) { out += fmt::format("    apps.{:<31} {}\n", n, v); });
  return out;
}

std::string services_report(const service::BuiltinServiceRunner& services) {
  std::string out = "\nBuilt-in services\n";
  services.counters().for_each([&](std::string_view n, uint64_t v) { out += fmt::format("    {:<36} {}\n", n, v); });
  out += service::discard_last_line(services.last_discard()) + "\n";
  return out;
}

}  // namespace joyride::joyrided
