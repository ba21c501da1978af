// send()'s short path (TcpLayer::send_fast, tcp_output.cc) must give exactly what
// output() gives. Every script runs twice, with TcpConfig::send_fast_path on and off,
// and compares all that can be seen after every step: each segment we send (flags,
// numbers, window, timestamps, SACK blocks, TOS, payload), the connection's TCP_INFO
// (cwnd, in flight, counters), its readiness, and at the end every counter. The
// scripts cover the states the short path takes (bulk sends in slow start and
// congestion avoidance, a full segment with PSH, several per call, the window or
// cwnd filling mid-burst, a partial tail left to transmit_data with Nagle and cork)
// and those it must leave to output() (idle restart, ECN, SACK blocks owed, lost
// data, recovery, no timestamps, a peer window under one segment).
#include <gtest/gtest.h>

#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "tcp_conn.h"

namespace joyride::core::testing {
namespace {

constexpr uint32_t kSegMss = kMss - 12;  // our segments carry timestamps when negotiated

std::string describe(const Seg& g) {
  std::ostringstream o;
  o << TcpFlags::to_string(g.h.flags) << " seq=" << g.seq().value() << " ack=" << g.ack().value()
    << " win=" << g.h.window << " len=" << g.payload.size();
  if (g.h.options.timestamps) o << " ts=" << g.h.options.timestamps->first << "/" << g.h.options.timestamps->second;
  for (const auto& b : g.h.options.sacks()) o << " sack=" << b.left.value() << "-" << b.right.value();
  if (g.tos != 0) o << " tos=" << int{g.tos};
  uint32_t sum = 0;
  for (size_t i = 0; i < g.payload.size(); ++i) sum = sum * 31 + g.payload[i];
  o << " data=" << sum;
  return o.str();
}

std::string describe(const TcpInfo& i) {
  std::ostringstream o;
  o << to_string(i.state) << " rtt=" << i.rtt.as_nanos() << " rto=" << i.rto.as_nanos() << " cwnd=" << i.cwnd
    << " ssthresh=" << i.ssthresh << " snd_wnd=" << i.snd_wnd << " rcv_wnd=" << i.rcv_wnd
    << " unacked=" << i.unacked << " lost=" << i.lost << " sacked=" << i.sacked << " retrans=" << i.total_retrans
    << " delivered=" << i.delivered << " acked=" << i.bytes_acked << " sent=" << i.bytes_sent
    << " segs_out=" << i.segs_out;
  return o.str();
}

using Step = std::function<void(Conn&)>;

struct Script {
  const char* name;
  ConnOptions options;
  std::vector<Step> steps;
};

std::vector<std::string> run(const Script& k, bool fast) {
  ConnOptions opts = k.options;
  opts.harness.configure = [fast](StackConfig& sc) { sc.tcp.send_fast_path = fast; };
  Conn c(opts);
  std::vector<std::string> trace;
  auto drain = [&] {
    while (auto g = c.h.pop_segment()) {
      if (g->h.options.timestamps) c.echo = g->h.options.timestamps->first;
      trace.push_back(describe(*g));
    }
  };
  drain();
  for (size_t i = 0; i < k.steps.size(); ++i) {
    k.steps[i](c);
    drain();
    trace.push_back("-- step " + std::to_string(i) + " readiness " + std::to_string(c.h.tcp().readiness(c.s)) +
                    " " + describe(c.info()));
  }
  for (const auto& [name, v] : c.h.counters()) {
    if (v != 0) trace.push_back("-- " + name + "=" + std::to_string(v));
  }
  return trace;
}

Step send(size_t n) {
  return [n](Conn& c) { c.send(n); };
}
// As much as the send buffer takes (may be none: kWouldBlock).
Step send_some(size_t n) {
  return [n](Conn& c) {
    Bytes b = pattern(n);
    (void)c.h.tcp().send(c.s, b, c.h.now);
  };
}
Step ack(uint32_t off, std::vector<std::pair<uint32_t, uint32_t>> sacks = {}) {
  return [=](Conn& c) {
    ++c.peer_tsval;
    c.ack(off, std::move(sacks));
  };
}
Step advance(Duration d) {
  return [d](Conn& c) { c.h.advance(d); };
}
Step window(uint16_t w) {
  return [w](Conn& c) { c.peer_wnd = w; };
}

ConnOptions ts_conn() { return ConnOptions{.sack = true, .ts = true, .ws = 7, .sndbuf = 1 << 20}; }

std::vector<Script> scripts() {
  const uint32_t m = kSegMss;
  std::vector<Script> v;
  v.push_back({"one full segment per call, acked every second one (the bench)",
               ts_conn(),
               {send(m), send(m), ack(2 * m), send(m), send(m), ack(4 * m), send(m), ack(5 * m)}});
  v.push_back({"several full segments per call, cwnd fills mid-burst",
               ts_conn(),
               {send(40 * m), ack(4 * m), ack(10 * m), send(8 * m), ack(30 * m), ack(48 * m)}});
  v.push_back({"full segments and a partial tail (Nagle holds it)",
               ts_conn(),
               {send(2 * m + 100), ack(m), ack(2 * m), send(3 * m + 7), ack(2 * m + 100), ack(5 * m + 107)}});
  v.push_back({"nodelay: the partial tail goes at once",
               ts_conn(),
               {[](Conn& c) { c.h.tcp().set_nodelay(c.s, true, c.h.now); }, send(3 * m + 5), ack(3 * m + 5),
                send(m + 1)}});
  v.push_back({"cork holds the tail until uncorked",
               ts_conn(),
               {[](Conn& c) { c.h.tcp().set_cork(c.s, true, c.h.now); }, send(2 * m + 50), send(m - 50),
                send(10), [](Conn& c) { c.h.tcp().set_cork(c.s, false, c.h.now); }, ack(3 * m + 10)}});
  v.push_back({"the peer's window fills mid-burst and a runt is left (SWS)",
               ConnOptions{.sack = true, .ts = true, .sndbuf = 1 << 20},
               {window(static_cast<uint16_t>(3 * m + 600)), ack(0), send(6 * m), window(60000), ack(2 * m),
                ack(6 * m)}});
  v.push_back({"a peer window under one segment (output() sends the runt or probes)",
               ConnOptions{.sack = true, .ts = true, .sndbuf = 1 << 20},
               {window(1000), ack(0), send(3 * m), advance(Duration::seconds(1)), window(65535), ack(1000),
                send(m)}});
  v.push_back({"idle restart after more than an RTO without data",
               ts_conn(),
               {send(10 * m), ack(10 * m), advance(Duration::seconds(5)), send(10 * m), ack(20 * m)}});
  v.push_back({"dupacks: limited transmit, then recovery and sends during it",
               ts_conn(),
               {send(10 * m), ack(0, {{m, 2 * m}}), send(m), ack(0, {{m, 3 * m}}), send(m),
                ack(0, {{m, 4 * m}}), send(2 * m), ack(0, {{m, 5 * m}}), send(m), ack(12 * m), send(3 * m),
                ack(15 * m)}});
  v.push_back({"a retransmission timeout, then sends with lost data queued",
               ts_conn(),
               {send(6 * m), advance(Duration::seconds(2)), send(2 * m), ack(m), send(m), ack(9 * m)}});
  v.push_back({"SACK blocks owed to the peer (out-of-order data received)",
               ts_conn(),
               {[](Conn& c) { c.data(1000, 500); }, send(3 * m), [](Conn& c) { c.data(0, 1000); }, send(2 * m),
                ack(5 * m)}});
  v.push_back({"ECN negotiated (ECT, CWR): output() sends",
               ConnOptions{.ts = true, .sndbuf = 1 << 20, .ecn = true},
               {send(4 * m), ack(4 * m), send(4 * m)}});
  v.push_back({"no timestamps negotiated",
               ConnOptions{.sack = true, .sndbuf = 1 << 20},
               {send(kMss), send(3 * kMss), ack(2 * kMss), send(4 * kMss + 3), ack(8 * kMss + 3)}});
  v.push_back({"a delayed ACK owed rides on the first data segment",
               ts_conn(),
               {[](Conn& c) { c.data(0, 500); }, send(2 * m), ack(2 * m), [](Conn& c) { c.data(500, 500); },
                [](Conn& c) { c.data(1000, 500); }, send(m)}});
  v.push_back({"a small send buffer fills (writability, sndbuf growth)",
               ConnOptions{.sack = true, .ts = true, .ws = 7},
               {send_some(200000), ack(10 * m), send_some(100000), ack(40 * m), send_some(100000)}});
  return v;
}

TEST(TcpSendFast, SameResultWithAndWithoutTheShortPath) {
  for (const Script& k : scripts()) {
    SCOPED_TRACE(k.name);
    const auto with = run(k, true);
    const auto without = run(k, false);
    EXPECT_EQ(with, without);
    // Guard against a vacuous comparison: every script sends data.
    EXPECT_GT(with.size(), k.steps.size());
  }
}

}  // namespace
}  // namespace joyride::core::testing
