#include "workloads.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace joyride::sim {

namespace {

constexpr uint16_t kEchoPort = 7;  // RFC 862

uint64_t read_index(std::span<const uint8_t> p) {
  uint64_t v = 0;
  std::memcpy(&v, p.data(), std::min<size_t>(8, p.size()));
  return v;
}

// Runs one request to completion: send, wait up to the timeout, resend. `send`
// transmits attempt; `pump` runs the server side and returns 1 when the reply for
// this request arrived intact, -1 on a fatal mismatch, 0 otherwise.
template <typename Send, typename Pump>
bool exchange(TwoHosts& hosts, const ExchangeOptions& o, WorkloadResult& r, Send&& send, Pump&& pump) {
  for (uint32_t attempt = 0; attempt < o.max_attempts; ++attempt) {
    if (attempt > 0) ++r.retransmits;
    if (!send()) return false;
    int status = 0;
    hosts.net().run_until(
        [&] {
          status = pump();
          return status != 0;
        },
        hosts.net().now() + o.timeout);
    if (status == 1) return true;
    if (status < 0) return false;
  }
  r.failure = "no reply after " + std::to_string(o.max_attempts) + " attempts";
  return false;
}

WorkloadResult failed(std::string why) {
  WorkloadResult r;
  r.failure = std::move(why);
  return r;
}

}  // namespace

void fill_payload(uint64_t index, std::span<uint8_t> out) {
  uint64_t x = index * 0x9e3779b97f4a7c15ULL + 1;
  for (size_t i = 0; i < out.size(); ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<uint8_t>(x);
  }
  if (!out.empty()) std::memcpy(out.data(), &index, std::min<size_t>(8, out.size()));
}

WorkloadResult run_udp_echo(TwoHosts& hosts, const ExchangeOptions& o) {
  WorkloadResult r;
  const base::Instant start = hosts.net().now();
  auto& a = hosts.a().udp();
  auto& b = hosts.b().udp();
  auto server = b.open();
  auto client = a.open();
  if (!server || !client) return failed("cannot open sockets");
  if (!b.bind(*server, {wire::Ipv4Address(), kEchoPort})) return failed("server bind failed");
  if (!a.connect(*client, {TwoHosts::kAddressB, kEchoPort}, hosts.net().now())) return failed("connect failed");

  const size_t size = std::max<size_t>(o.size, 8);
  std::vector<uint8_t> request(size), reply(size + 1), echo(65536);
  for (uint64_t i = 0; i < o.count; ++i) {
    fill_payload(i, request);
    auto send = [&] {
      auto sent = a.send_to(*client, request, std::nullopt, hosts.net().now());
      if (!sent) r.failure = std::string("send failed: ") + std::string(core::to_string(sent.error()));
      return sent.ok();
    };
    auto pump = [&]() -> int {
      // Server: echo everything received back to its sender.
      for (;;) {
        auto got = b.recv_from(*server, echo);
        if (!got) break;
        (void)b.send_to(*server, std::span<const uint8_t>(echo.data(), got->bytes), got->from, hosts.net().now());
      }
      // Client: a reply to an earlier request (a late duplicate) is skipped.
      for (;;) {
        auto got = a.recv_from(*client, reply);
        if (!got) return 0;
        if (got->datagram >= 8 && read_index(std::span(reply.data(), got->bytes)) != i) continue;
        if (got->datagram != size || std::memcmp(reply.data(), request.data(), size) != 0) {
          r.failure = "reply " + std::to_string(i) + " differs from the request (" + std::to_string(got->datagram) +
                      " bytes)";
          return -1;
        }
        return 1;
      }
    };
    if (!exchange(hosts, o, r, send, pump)) {
      r.elapsed = hosts.net().now() - start;
      return r;
    }
    ++r.exchanges;
    r.bytes_verified += size;
  }
  a.close(*client);
  b.close(*server);
  r.ok = true;
  r.elapsed = hosts.net().now() - start;
  return r;
}

WorkloadResult run_ping(TwoHosts& hosts, const ExchangeOptions& o) {
  WorkloadResult r;
  const base::Instant start = hosts.net().now();
  auto& ping = hosts.a().ping();
  auto sock = ping.open();
  if (!sock) return failed("cannot open ping socket");
  std::vector<uint8_t> data(o.size), got(o.size + 1);
  for (uint64_t i = 0; i < o.count; ++i) {
    fill_payload(i, data);
    const auto seq = static_cast<uint16_t>(i);
    auto send = [&] {
      auto sent = ping.send_echo(*sock, TwoHosts::kAddressB, seq, data, hosts.net().now());
      if (!sent) r.failure = std::string("send failed: ") + std::string(core::to_string(sent.error()));
      return sent.ok();
    };
    auto pump = [&]() -> int {
      for (;;) {
        auto reply = ping.recv(*sock, got);
        if (!reply) return 0;
        if (reply->seq_no != seq) continue;
        if (reply->from != TwoHosts::kAddressB || reply->data_len != data.size() ||
            !std::equal(data.begin(), data.end(), got.begin())) {
          r.failure = "echo reply " + std::to_string(i) + " differs from the request";
          return -1;
        }
        return 1;
      }
    };
    if (!exchange(hosts, o, r, send, pump)) {
      r.elapsed = hosts.net().now() - start;
      return r;
    }
    ++r.exchanges;
    r.bytes_verified += o.size;
  }
  ping.close(*sock);
  r.ok = true;
  r.elapsed = hosts.net().now() - start;
  return r;
}

}  // namespace joyride::sim
