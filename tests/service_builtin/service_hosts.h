// Two simulated hosts for the built-in services' tests: the server (198.18.0.2) runs
// a BuiltinServiceRunner on its stack, the client (198.18.0.1) uses the core socket
// API. Both act on readiness events after every SimNetwork step, as an event loop
// would: the server hands every event to the runner, the client to TcpClient. Time is
// the network's fake clock; nothing sleeps.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <gtest/gtest.h>

#include "joyride/base/random.h"
#include "joyride/core/stack.h"
#include "joyride/dev/sim_network.h"
#include "joyride/dev/stack_node.h"
#include "joyride/service/builtin_services.h"

namespace joyride::service::testing {

inline const wire::Ipv4Address kClientAddress = wire::Ipv4Address::from_octets(198, 18, 0, 1);
inline const wire::Ipv4Address kServerAddress = wire::Ipv4Address::from_octets(198, 18, 0, 2);

// ---- reference data ------------------------------------------------------------------------

// RFC 864's pattern written out line by line, independently of the service's table:
// line k is the 72 printable characters starting at the k-th (mod 95), then CR LF.
inline std::string chargen_reference(size_t bytes) {
  std::string printable;
  for (char ch = ' '; ch <= '~'; ++ch) printable.push_back(ch);
  std::string out;
  for (size_t line = 0; out.size() < bytes; ++line) {
    for (size_t i = 0; i < 72; ++i) out.push_back(printable[(line + i) % printable.size()]);
    out += "\r\n";
  }
  out.resize(bytes);
  return out;
}

// The client's bytes: a function of stream and position only, so a byte echoed twice,
// late or from another connection shows.
inline uint8_t stream_byte(uint64_t stream, uint64_t offset) {
  uint64_t x = (stream << 40) ^ (offset / 8) ^ 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  x ^= x >> 31;
  return static_cast<uint8_t>(x >> (8 * (offset % 8)));
}

// CRC-32 as zlib and Python's zlib.crc32 compute it (IEEE 802.3, reflected polynomial
// 0xEDB88320, initial and final XOR 0xFFFFFFFF), bit by bit: written independently of
// zlib so the services' use of zlib is checked, not repeated. `crc` continues a
// previous value (0 to start).
inline uint32_t reference_crc32(std::string_view bytes, uint32_t crc = 0) {
  crc = ~crc;
  for (unsigned char b : bytes) {
    crc ^= b;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

// The client's stream `stream` from offset 0 to `bytes`, as a string.
inline std::string stream_bytes(uint64_t stream, uint64_t bytes) {
  std::string s(bytes, '\0');
  for (uint64_t i = 0; i < bytes; ++i) s[i] = static_cast<char>(stream_byte(stream, i));
  return s;
}

// ---- the two hosts -------------------------------------------------------------------------

struct HostsOptions {
  dev::sim::LinkParams link{.latency = base::Duration::millis(1)};
  BuiltinServices services;
  BuiltinServiceLimits limits;
  core::StackConfig base;  // interfaces are filled in
  uint64_t runner_seed = 1234;
  bool start = true;  // start the runner in the constructor (and expect success)
};

class ServiceHosts {
 public:
  explicit ServiceHosts(const HostsOptions& o) : runner_random_(o.runner_seed) {
    const base::Instant start = net_.now();
    client_ = std::make_unique<dev::sim::StackNode>(host_config(o, 1), o.link.seed * 2 + 1, start);
    server_ = std::make_unique<dev::sim::StackNode>(host_config(o, 2), o.link.seed * 2 + 2, start);
    const auto a = net_.add_node(*client_);
    const auto b = net_.add_node(*server_);
    link_ = net_.connect({a, 0}, {b, 0}, o.link);
    runner_ = std::make_unique<BuiltinServiceRunner>(server(), o.services, runner_random_, o.limits);
    if (o.start) start_ok = runner_->start(now()).ok();
  }

  ~ServiceHosts() {
    runner_->stop(now());
    runner_.reset();
    net_.drop_in_flight();
    client_->shutdown();
    server_->shutdown();
  }

  dev::sim::SimNetwork& net() { return net_; }
  core::Stack& client() { return client_->stack(); }
  core::Stack& server() { return server_->stack(); }
  BuiltinServiceRunner& runner() { return *runner_; }
  base::Instant now() const { return net_.now(); }
  uint64_t counter(Service s, ServiceCounter c) const { return runner_->counters()[builtin_counter(s, c)]; }

  // Hands out every pending readiness event of both hosts.
  void pump() {
    for (bool more = true; more;) {
      more = false;
      for (size_t n; (n = server().take_events(events_)) > 0;) {
        more = true;
        for (size_t i = 0; i < n; ++i) {
          if (!runner_->on_event(events_[i], now())) ++unclaimed_server_events;
        }
      }
      for (size_t n; (n = client().take_events(events_)) > 0;) {
        more = true;
        for (size_t i = 0; i < n; ++i) {
          if (on_client_event) on_client_event(events_[i]);
        }
      }
    }
  }

  // Steps (pumping after each) until pred() holds: true; false after `limit` of
  // simulated time.
  bool run_until(const std::function<bool()>& pred, base::Duration limit) {
    return net_.run_until(
        [&] {
          pump();
          return pred();
        },
        now() + limit);
  }
  void run_for(base::Duration d) { (void)run_until([] { return false; }, d); }

  std::function<void(const core::SocketEvent&)> on_client_event;
  uint64_t unclaimed_server_events = 0;
  bool start_ok = false;

 private:
  static core::StackConfig host_config(const HostsOptions& o, uint8_t last_octet) {
    core::StackConfig c = o.base;
    core::InterfaceConfig itf;
    itf.name = "sim0";
    itf.mac = wire::MacAddress{{0x02, 0x00, 0x00, 0x00, 0x00, last_octet}};
    itf.ipv4.push_back(wire::Ipv4Cidr(wire::Ipv4Address::from_octets(198, 18, 0, last_octet), 24));
    itf.mtu = 1500;
    c.interfaces = {itf};
    return c;
  }

  dev::sim::SimNetwork net_;  // first: destroyed last
  std::unique_ptr<dev::sim::StackNode> client_;
  std::unique_ptr<dev::sim::StackNode> server_;
  dev::sim::LinkId link_ = 0;
  base::SeededRandom runner_random_;
  std::unique_ptr<BuiltinServiceRunner> runner_;
  std::array<core::SocketEvent, 64> events_;
};

// ---- a TCP client on events ----------------------------------------------------------------

enum class Expect : uint8_t {
  kEcho,     // the bytes sent, in order
  kChargen,  // RFC 864's pattern
  kNothing,  // no data at all
};

struct ClientConn {
  core::SocketId sock;
  uint64_t stream = 0;
  uint64_t to_send = 0;
  uint64_t sent = 0;
  bool shut_when_sent = true;  // shutdown(SHUT_WR) once everything is sent
  bool shut = false;
  Expect expect = Expect::kEcho;
  bool reading = true;  // false: leave data in the socket (flow-control tests)
  uint64_t read_limit = UINT64_MAX;
  uint64_t received = 0;  // verified
  bool eof = false;
  std::optional<core::RecvError> error;
  std::string failure;  // the first wrong byte
  bool done() const { return eof || error.has_value(); }
};

class TcpClient {
 public:
  explicit TcpClient(ServiceHosts& h, size_t chunk = 16 * 1024) : h_(h), out_(chunk), in_(chunk) {
    h_.on_client_event = [this](const core::SocketEvent& e) { handle(e); };
  }

  // Opens a connection to the server's `port`; returns its index.
  size_t connect(uint16_t port, const ClientConn& proto) {
    auto& tcp = h_.client().tcp();
    ClientConn c = proto;
    auto s = tcp.open();
    if (!s) return fail_setup("open");
    c.sock = *s;
    if (!tcp.connect(*s, {kServerAddress, port}, h_.now())) return fail_setup("connect");
    conns_.push_back(c);
    by_index_[s->index] = conns_.size() - 1;
    return conns_.size() - 1;
  }

  ClientConn& conn(size_t i) { return conns_[i]; }
  size_t size() const { return conns_.size(); }
  bool all_done() const {
    return std::all_of(conns_.begin(), conns_.end(), [](const ClientConn& c) { return c.done(); });
  }
  std::string failures() const {
    std::string s;
    for (size_t i = 0; i < conns_.size(); ++i) {
      if (!conns_[i].failure.empty()) s += "connection " + std::to_string(i) + ": " + conns_[i].failure + "\n";
    }
    return s;
  }

  void handle(const core::SocketEvent& e) {
    if (e.socket.kind != core::SocketKind::kTcp) return;
    auto it = by_index_.find(e.socket.index);
    if (it == by_index_.end() || !(conns_[it->second].sock == e.socket)) return;
    process(conns_[it->second]);
  }

  void process(ClientConn& c) {
    auto& tcp = h_.client().tcp();
    for (bool progress = true; progress && !c.error;) {
      progress = false;
      while (c.sent < c.to_send) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(out_.size(), c.to_send - c.sent));
        for (size_t i = 0; i < n; ++i) out_[i] = stream_byte(c.stream, c.sent + i);
        auto r = tcp.send(c.sock, std::span<const uint8_t>(out_.data(), n), h_.now());
        if (!r || *r == 0) break;
        c.sent += *r;
        progress = true;
      }
      const auto st = tcp.state(c.sock);
      if (c.shut_when_sent && !c.shut && c.sent == c.to_send && st &&
          (*st == core::TcpState::kEstablished || *st == core::TcpState::kCloseWait)) {
        (void)tcp.shutdown(c.sock, false, true, h_.now());
        c.shut = true;
        progress = true;
      }
      if (c.reading && read(c)) progress = true;
    }
  }

  // Reads what is there (at most `max` bytes), verifying it; true when anything happened.
  bool read(ClientConn& c, uint64_t max = UINT64_MAX) {
    auto& tcp = h_.client().tcp();
    bool any = false;
    while (!c.done() && c.received < c.read_limit && max > 0) {
      const size_t room = static_cast<size_t>(std::min<uint64_t>({in_.size(), c.read_limit - c.received, max}));
      auto r = tcp.recv(c.sock, std::span<uint8_t>(in_.data(), room), h_.now());
      if (!r) {
        if (r.error() != core::RecvError::kWouldBlock) {
          c.error = r.error();
          any = true;
        }
        break;
      }
      any = true;
      if (*r == 0) {
        c.eof = true;
        break;
      }
      verify(c, std::span<const uint8_t>(in_.data(), *r));
      c.received += *r;
      max -= *r;
    }
    return any;
  }

 private:
  size_t fail_setup(const char* what) {
    ADD_FAILURE() << "client " << what << " failed";
    return SIZE_MAX;
  }

  void verify(ClientConn& c, std::span<const uint8_t> got) {
    if (!c.failure.empty()) return;
    if (c.expect == Expect::kNothing) {
      c.failure = "unexpected data at offset " + std::to_string(c.received);
      return;
    }
    if (c.expect == Expect::kChargen && chargen_.size() < c.received + got.size())
      chargen_ = chargen_reference(std::max<size_t>(2 * chargen_.size(), c.received + got.size()));
    for (size_t i = 0; i < got.size(); ++i) {
      const uint64_t at = c.received + i;
      const uint8_t want = c.expect == Expect::kEcho ? stream_byte(c.stream, at) : static_cast<uint8_t>(chargen_[at]);
      if (got[i] != want) {
        c.failure = "byte at offset " + std::to_string(at) + " is " + std::to_string(got[i]) + ", expected " +
                    std::to_string(want);
        return;
      }
    }
  }

  ServiceHosts& h_;
  std::vector<ClientConn> conns_;
  std::unordered_map<uint32_t, size_t> by_index_;
  std::vector<uint8_t> out_, in_;
  std::string chargen_;
};

}  // namespace joyride::service::testing
