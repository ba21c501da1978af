#include "tcp_workload.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <unordered_map>
#include <vector>

namespace joyride::sim {

namespace {

using core::SocketId;
using core::TcpState;

uint64_t mix(uint64_t x) {  // splitmix64's finaliser
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// One side of one connection, as its application sees it.
struct End {
  SocketId sock;
  bool on_a = true;
  uint64_t send_stream = 0;
  uint64_t to_send = 0;
  uint64_t sent = 0;
  uint64_t recv_stream = 0;
  uint64_t to_recv = 0;
  uint64_t received = 0;      // verified
  bool echo = false;          // sends back what it received (sent <= received)
  bool shut_first = false;    // shuts down writing once its data is out, not after EOF
  bool eof = false;
  bool shut = false;
  bool open = false;          // has a socket the workload has not closed
};

struct Conn {
  End a, b;
  bool done = false;
};

bool handshake_done(TcpState s) {
  return s != TcpState::kClosed && s != TcpState::kListen && s != TcpState::kSynSent &&
         s != TcpState::kSynReceived;
}

bool closed_state(TcpState s) { return s == TcpState::kTimeWait || s == TcpState::kClosed; }

std::string stream_name(const End& e) { return e.on_a ? "B->A" : "A->B"; }

// How much an echoing end keeps received but not yet sent back before it stops
// reading: flow control reaches the sender instead of the echo buffering without end.
constexpr uint64_t kEchoBacklog = 256 * 1024;

class TcpRun {
 public:
  TcpRun(TwoHosts& hosts, const TcpWorkloadOptions& o) : h_(hosts), o_(o) {
    const size_t chunk = std::max<size_t>(1, o.chunk);
    out_.resize(chunk);
    in_.resize(chunk);
    expect_.resize(chunk);
  }

  WorkloadResult run();

 private:
  core::TcpLayer& tcp(const End& e) { return e.on_a ? h_.a().tcp() : h_.b().tcp(); }
  base::Instant now() const { return h_.net().now(); }
  bool fail(std::string why) {
    if (r_.failure.empty()) r_.failure = std::move(why);
    failed_ = true;
    return false;
  }
  bool setup_socket(core::TcpLayer& t, SocketId s);
  bool pump();
  void accept_all();
  void process(uint32_t index, End& e);
  bool write(uint32_t index, End& e, bool& progress);
  bool read(uint32_t index, End& e, bool& progress);
  void check_done(uint32_t index);
  std::string progress_text() const;

  TwoHosts& h_;
  const TcpWorkloadOptions& o_;
  WorkloadResult r_;
  bool failed_ = false;
  SocketId listener_;
  std::vector<Conn> conns_;
  // socket slab index -> connection, per host (the generation is checked on use).
  std::unordered_map<uint32_t, uint32_t> by_sock_a_, by_sock_b_;
  std::unordered_map<uint16_t, uint32_t> by_port_;  // A's local port -> connection
  uint64_t done_ = 0;
  uint64_t expected_bytes_ = 0;
  std::vector<uint8_t> out_, in_, expect_;
  std::array<core::SocketEvent, 256> events_;
};

bool TcpRun::setup_socket(core::TcpLayer& t, SocketId s) {
  if (!o_.congestion_control.empty() && !t.set_congestion_control(s, o_.congestion_control))
    return fail("unknown congestion control '" + o_.congestion_control + "'");
  if (o_.sndbuf != 0) (void)t.set_sndbuf(s, o_.sndbuf);
  if (o_.rcvbuf != 0) (void)t.set_rcvbuf(s, o_.rcvbuf);
  if (o_.nodelay) (void)t.set_nodelay(s, true, now());
  return true;
}

WorkloadResult TcpRun::run() {
  const base::Instant start = now();
  auto& a = h_.a().tcp();
  auto& b = h_.b().tcp();
  auto l = b.open();
  if (!l) {
    fail("cannot open the listening socket");
    return r_;
  }
  listener_ = *l;
  if (!setup_socket(b, listener_)) return r_;
  if (auto s = b.bind(listener_, {wire::Ipv4Address(), o_.port}); !s) {
    fail(std::string("listener bind failed: ") + std::string(core::to_string(s.error())));
    return r_;
  }
  if (auto s = b.listen(listener_, o_.backlog); !s) {
    fail(std::string("listen failed: ") + std::string(core::to_string(s.error())));
    return r_;
  }
  if (o_.on_listening) o_.on_listening();

  const bool a_sends = o_.direction != TcpDirection::kBtoA;
  const bool b_sends = o_.direction != TcpDirection::kAtoB;
  conns_.resize(o_.connections);
  for (uint32_t i = 0; i < o_.connections; ++i) {
    Conn& c = conns_[i];
    c.a.on_a = true;
    c.b.on_a = false;
    c.a.send_stream = c.b.recv_stream = 2 * uint64_t{i};
    c.a.recv_stream = c.b.send_stream = 2 * uint64_t{i} + 1;
    c.a.to_send = c.b.to_recv = a_sends ? o_.bytes : 0;
    c.b.to_send = c.a.to_recv = b_sends ? o_.bytes : 0;
    if (o_.direction == TcpDirection::kEcho) {
      c.a.recv_stream = c.b.send_stream = c.a.send_stream;
      c.b.echo = true;
    }
    c.a.shut_first = a_sends;
    c.b.shut_first = o_.direction == TcpDirection::kBtoA || o_.direction == TcpDirection::kBoth;
    expected_bytes_ += c.a.to_recv + c.b.to_recv;

    auto s = a.open();
    if (!s) {
      fail("connection " + std::to_string(i) + ": cannot open a socket");
      return r_;
    }
    c.a.sock = *s;
    c.a.open = true;
    if (!setup_socket(a, *s)) return r_;
    if (auto st = a.connect(*s, {TwoHosts::kAddressB, o_.port}, now()); !st) {
      fail("connection " + std::to_string(i) + ": connect failed: " + std::string(core::to_string(st.error())));
      return r_;
    }
    by_sock_a_[s->index] = i;
    by_port_[a.local_endpoint(*s)->port] = i;
  }

  TwoHostsOptions link;
  link.link = h_.net().params(h_.link());
  link.mtu = static_cast<uint16_t>(link.link.mtu);
  const base::Duration limit = o_.timeout ? *o_.timeout : default_tcp_timeout(link, o_);
  const bool finished = h_.net().run_until([&] { return pump(); }, start + limit);
  r_.elapsed = now() - start;
  r_.retransmits = h_.a().tcp().counters()[core::TcpCounter::kRetransSegments] +
                   h_.b().tcp().counters()[core::TcpCounter::kRetransSegments];
  if (!failed_ && !finished) {
    char when[64];
    std::snprintf(when, sizeof when, "%.0f s", limit.as_seconds());
    fail("timed out after " + std::string(when) + " simulated with " + progress_text());
  }
  b.close(listener_, now());
  if (failed_) return r_;
  r_.ok = true;
  return r_;
}

std::string TcpRun::progress_text() const {
  std::string s = std::to_string(r_.bytes_verified) + " of " + std::to_string(expected_bytes_) + " bytes verified, " +
                  std::to_string(done_) + " of " + std::to_string(conns_.size()) + " connections closed";
  // The first unfinished connection, as each side sees it.
  for (size_t i = 0; i < conns_.size(); ++i) {
    const Conn& c = conns_[i];
    if (c.done) continue;
    auto side = [&](const End& e, core::TcpLayer& t) {
      auto st = e.open ? t.state(e.sock) : std::nullopt;
      return std::string(e.on_a ? "A" : "B") + " " + (st ? std::string(core::to_string(*st)) : "no socket") +
             " sent " + std::to_string(e.sent) + "/" + std::to_string(e.to_send) + " received " +
             std::to_string(e.received) + "/" + std::to_string(e.to_recv) + (e.eof ? " eof" : "") +
             (e.shut ? " shut" : "");
    };
    s += " (connection " + std::to_string(i) + ": " + side(c.a, h_.a().tcp()) + "; " + side(c.b, h_.b().tcp()) + ")";
    break;
  }
  return s;
}

// Handles every readiness event of both hosts; true when the run is over (all
// connections closed, or a failure).
bool TcpRun::pump() {
  for (bool a_side : {true, false}) {
    core::Stack& stack = a_side ? h_.a() : h_.b();
    auto& map = a_side ? by_sock_a_ : by_sock_b_;
    for (;;) {
      const size_t n = stack.take_events(events_);
      for (size_t k = 0; k < n && !failed_; ++k) {
        const SocketId s = events_[k].socket;
        if (s.kind != core::SocketKind::kTcp) continue;
        if (!a_side && s == listener_) {
          accept_all();
          continue;
        }
        auto it = map.find(s.index);
        if (it == map.end()) continue;
        Conn& c = conns_[it->second];
        End& e = a_side ? c.a : c.b;
        if (!e.open || !(e.sock == s)) continue;
        process(it->second, e);
      }
      if (n < events_.size() || failed_) break;
    }
  }
  return failed_ || done_ == conns_.size();
}

void TcpRun::accept_all() {
  auto& b = h_.b().tcp();
  for (;;) {
    core::Endpoint peer;
    auto s = b.accept(listener_, &peer);
    if (!s) {
      if (s.error() != core::AcceptError::kWouldBlock) fail("accept failed");
      return;
    }
    auto it = by_port_.find(peer.port);
    if (peer.address != wire::IpAddress(TwoHosts::kAddressA) || it == by_port_.end()) {
      fail("accepted a connection from an unknown peer port " + std::to_string(peer.port));
      return;
    }
    Conn& c = conns_[it->second];
    if (c.b.open || c.done) {
      fail("connection " + std::to_string(it->second) + " accepted twice");
      return;
    }
    c.b.sock = *s;
    c.b.open = true;
    by_sock_b_[s->index] = it->second;
    process(it->second, c.b);  // it may hold data already
    if (failed_) return;
  }
}

bool TcpRun::write(uint32_t index, End& e, bool& progress) {
  auto& t = tcp(e);
  const uint64_t limit = e.echo ? e.received : e.to_send;
  while (e.sent < limit) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(out_.size(), limit - e.sent));
    fill_stream(e.send_stream, e.sent, std::span(out_.data(), n));
    auto r = t.send(e.sock, std::span<const uint8_t>(out_.data(), n), now());
    if (!r) {
      if (r.error() == core::SendError::kWouldBlock) break;
      return fail("connection " + std::to_string(index) + ": " + (e.on_a ? "A" : "B") + " send failed after " +
                  std::to_string(e.sent) + " bytes: " + std::string(core::to_string(r.error())));
    }
    if (*r == 0) break;
    e.sent += *r;
    progress = true;
  }
  return true;
}

bool TcpRun::read(uint32_t index, End& e, bool& progress) {
  auto& t = tcp(e);
  while (!e.eof) {
    size_t room = in_.size();
    if (e.echo) {
      const uint64_t pending = e.received - e.sent;
      if (pending >= kEchoBacklog) break;
      room = static_cast<size_t>(std::min<uint64_t>(room, kEchoBacklog - pending));
    }
    auto r = t.recv(e.sock, std::span(in_.data(), room), now());
    if (!r) {
      if (r.error() == core::RecvError::kWouldBlock) break;
      return fail("connection " + std::to_string(index) + ": " + (e.on_a ? "A" : "B") + " recv failed after " +
                  std::to_string(e.received) + " of " + std::to_string(e.to_recv) +
                  " bytes: " + std::string(core::to_string(r.error())));
    }
    progress = true;
    const size_t n = *r;
    if (n == 0) {
      e.eof = true;
      if (e.received != e.to_recv)
        return fail("connection " + std::to_string(index) + ", " + stream_name(e) + ": end of stream after " +
                    std::to_string(e.received) + " of " + std::to_string(e.to_recv) + " bytes");
      break;
    }
    if (e.received + n > e.to_recv)
      return fail("connection " + std::to_string(index) + ", " + stream_name(e) + ": " +
                  std::to_string(e.received + n) + " bytes received, only " + std::to_string(e.to_recv) + " sent");
    fill_stream(e.recv_stream, e.received, std::span(expect_.data(), n));
    if (std::memcmp(in_.data(), expect_.data(), n) != 0) {
      size_t k = 0;
      while (in_[k] == expect_[k]) ++k;
      char why[160];
      std::snprintf(why, sizeof why, "connection %u, %s: byte at offset %llu is 0x%02x, expected 0x%02x", index,
                    stream_name(e).c_str(), static_cast<unsigned long long>(e.received + k), in_[k], expect_[k]);
      return fail(why);
    }
    e.received += n;
    r_.bytes_verified += n;
  }
  return true;
}

void TcpRun::process(uint32_t index, End& e) {
  auto& t = tcp(e);
  for (bool progress = true; progress && !failed_;) {
    progress = false;
    if (!write(index, e, progress)) return;
    const uint64_t limit = e.echo ? e.to_recv : e.to_send;
    if (!e.shut && e.sent == limit && (e.shut_first || e.eof)) {
      auto st = t.state(e.sock);
      if (st && handshake_done(*st)) {
        if (!t.shutdown(e.sock, false, true, now())) {
          fail("connection " + std::to_string(index) + ": shutdown failed");
          return;
        }
        e.shut = true;
        progress = true;
      }
    }
    if (!read(index, e, progress)) return;
  }
  if (!failed_) check_done(index);
}

// A connection is finished when both applications have verified everything, both
// have shut down writing and read the peer's FIN, and the FIN handshake has taken
// both ends to CLOSED or TIME-WAIT, with at least one in TIME-WAIT (the active
// closer, RFC 9293 §3.6: both, after a simultaneous close).
void TcpRun::check_done(uint32_t index) {
  Conn& c = conns_[index];
  if (c.done || !c.a.open || !c.b.open) return;
  for (const End* e : {&c.a, &c.b}) {
    if (!e->eof || !e->shut || e->received != e->to_recv) return;
  }
  auto& a = h_.a().tcp();
  auto& b = h_.b().tcp();
  const auto sa = a.state(c.a.sock);
  const auto sb = b.state(c.b.sock);
  if (!sa || !sb || !closed_state(*sa) || !closed_state(*sb)) return;
  if (*sa != TcpState::kTimeWait && *sb != TcpState::kTimeWait) {
    fail("connection " + std::to_string(index) + " closed without TIME-WAIT on either side");
    return;
  }
  c.done = true;
  ++done_;
  ++r_.exchanges;
  // TIME-WAIT goes on by itself after close(); a CLOSED socket is freed.
  a.close(c.a.sock, now());
  b.close(c.b.sock, now());
  c.a.open = c.b.open = false;
  by_sock_a_.erase(c.a.sock.index);
  by_sock_b_.erase(c.b.sock.index);
}

}  // namespace

std::string_view to_string(TcpDirection d) {
  switch (d) {
    case TcpDirection::kAtoB: return "a2b";
    case TcpDirection::kBtoA: return "b2a";
    case TcpDirection::kBoth: return "both";
    case TcpDirection::kEcho: return "echo";
  }
  return "?";
}

std::optional<TcpDirection> parse_tcp_direction(std::string_view s) {
  for (auto d : {TcpDirection::kAtoB, TcpDirection::kBtoA, TcpDirection::kBoth, TcpDirection::kEcho}) {
    if (s == to_string(d)) return d;
  }
  return std::nullopt;
}

base::Duration default_tcp_timeout(const TwoHostsOptions& hosts, const TcpWorkloadOptions& o) {
  const auto& link = hosts.link;
  const double directions = o.direction == TcpDirection::kAtoB || o.direction == TcpDirection::kBtoA ? 1 : 2;
  const double bytes = static_cast<double>(o.bytes) * o.connections * directions;
  const double rtt = 2 * link.latency.as_seconds() + 2 * link.reorder_extra.as_seconds() * (link.reorder > 0) + 1e-3;
  const double mss = std::max(536, static_cast<int>(hosts.mtu) - 40);
  const double p = std::max(1e-4, std::min(0.9, link.loss + link.corrupt));
  double goodput = mss / rtt * 1.22 / std::sqrt(p);
  if (link.rate_bps != 0) goodput = std::min(goodput, static_cast<double>(link.rate_bps) / 8);
  // A margin of 20 for retransmission timeouts, which the estimate leaves out.
  const double seconds = 120 + 20 * bytes / goodput + 0.01 * o.connections;
  return base::Duration::millis(static_cast<int64_t>(std::min(seconds, 86400.0 * 30) * 1000));
}

WorkloadResult run_tcp(TwoHosts& hosts, const TcpWorkloadOptions& options) {
  TcpRun run(hosts, options);
  return run.run();
}

bool tcp_drained(TwoHosts& hosts, std::string& why) {
  // Idle comes once the last TIME-WAIT (60 s) or orphan timer is over; the bound
  // only stops a stack whose timers never end.
  hosts.net().run_until_idle(hosts.net().now() + base::Duration::seconds(600));
  const size_t a = hosts.a().tcp().connections();
  const size_t b = hosts.b().tcp().connections();
  if (a == 0 && b == 0) return true;
  why = std::to_string(a) + " TCP sockets left on A and " + std::to_string(b) + " on B after TIME-WAIT";
  return false;
}

void fill_stream(uint64_t stream, uint64_t offset, std::span<uint8_t> out) {
  const uint64_t base = mix(stream * 0xd1b54a32d192ed03ULL);
  uint64_t word = mix(base ^ (offset / 8));
  for (size_t i = 0; i < out.size(); ++i) {
    const uint64_t pos = offset + i;
    if (pos % 8 == 0) word = mix(base ^ (pos / 8));
    out[i] = static_cast<uint8_t>(word >> (8 * (pos % 8)));
  }
}

}  // namespace joyride::sim
