// Header prediction (tcp_fast_path.cc): the fast path must give exactly what the
// general path (segment_arrives) gives. Every case runs twice, with
// TcpConfig::header_prediction on and off, and compares all that can be seen: every
// segment we send (flags, numbers, window, timestamps, SACK blocks, payload), the
// connection's TCP_INFO, its readiness, the bytes the application reads, and every
// counter but rx_fast_path. The table holds one case per fast-path condition that
// does not hold (the fast path must decline: rx_fast_path stays 0) and the cases it
// takes (rx_fast_path counts the probe segment).
#include <gtest/gtest.h>

#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "joyride/base/bytes.h"
#include "joyride/wire/checksum.h"
#include "tcp_conn.h"

namespace joyride::core::testing {
namespace {

constexpr uint8_t kAck = TcpFlags::kAck;
constexpr uint8_t kPsh = TcpFlags::kPsh;
constexpr uint32_t kSegMss = kMss - 12;  // our segments carry timestamps

std::string describe(const Seg& g) {
  std::ostringstream o;
  o << TcpFlags::to_string(g.h.flags) << " seq=" << g.seq().value() << " ack=" << g.ack().value()
    << " win=" << g.h.window << " len=" << g.payload.size();
  if (g.h.options.timestamps) o << " ts=" << g.h.options.timestamps->first << "/" << g.h.options.timestamps->second;
  for (const auto& b : g.h.options.sacks()) o << " sack=" << b.left.value() << "-" << b.right.value();
  if (g.tos != 0) o << " tos=" << int{g.tos};
  return o.str();
}

std::string describe(const TcpInfo& i) {
  std::ostringstream o;
  o << to_string(i.state) << " rtt=" << i.rtt.as_nanos() << " rto=" << i.rto.as_nanos() << " cwnd=" << i.cwnd
    << " ssthresh=" << i.ssthresh << " snd_wnd=" << i.snd_wnd << " rcv_wnd=" << i.rcv_wnd
    << " rcv_mss=" << i.rcv_mss << " unacked=" << i.unacked << " lost=" << i.lost << " sacked=" << i.sacked
    << " retrans=" << i.total_retrans << " delivered=" << i.delivered << " acked=" << i.bytes_acked
    << " received=" << i.bytes_received << " sent=" << i.bytes_sent << " segs_in=" << i.segs_in
    << " segs_out=" << i.segs_out;
  return o.str();
}

// A peer segment whose timestamp option is laid out TS(10) NOP NOP rather than NOP
// NOP TS(10): the same 32-byte header and meaning, but not the layout the fast parser
// recognises, so the general option parser must read it.
void inject_unaligned_ts(Conn& c, wire::TcpRepr t, std::span<const uint8_t> payload) {
  t.payload_len = static_cast<uint16_t>(payload.size());
  const size_t hl = t.header_len_to_emit();
  EXPECT_EQ(hl, 32u);
  Bytes seg(hl + payload.size());
  t.emit_header(std::span<uint8_t>(seg.data(), hl), kPeerIp, kOurIp, payload);
  std::copy(payload.begin(), payload.end(), seg.begin() + static_cast<std::ptrdiff_t>(hl));
  // 01 01 08 0a <tsval> <tsecr>  ->  08 0a <tsval> <tsecr> 01 01
  std::rotate(seg.begin() + 20, seg.begin() + 22, seg.begin() + 32);
  base::store_be<uint16_t>(seg.data(), 16, 0);
  const uint32_t pseudo =
      wire::pseudo_header_v4(kPeerIp, kOurIp, wire::IpProtocol::kTcp, static_cast<uint16_t>(seg.size()));
  base::store_be<uint16_t>(seg.data(), 16, wire::checksum_fold(wire::checksum_accumulate(seg, pseudo)));
  c.h.StackHarness::inject(ethernet(kOurMac, kPeerMac, wire::EtherType::kIpv4,
                                    ipv4(ip_header(kPeerIp, kOurIp, wire::IpProtocol::kTcp), seg)));
}

struct Case {
  const char* name;
  ConnOptions options;
  std::function<void(Conn&)> setup;  // may be empty
  std::function<void(Conn&)> probe;  // the segment under test
  bool fast;                         // whether header prediction takes the probe
};

struct Observed {
  std::vector<std::string> trace;  // segments we sent, with markers between phases
  uint64_t probe_fast = 0;         // rx_fast_path during the probe
  uint64_t fast_total = 0;
};

void drain(Conn& c, Observed& o) {
  while (auto g = c.h.pop_segment()) {
    if (g->h.options.timestamps) c.echo = g->h.options.timestamps->first;
    o.trace.push_back(describe(*g));
  }
}

Observed run(const Case& k, bool prediction) {
  ConnOptions opts = k.options;
  opts.harness.configure = [prediction](StackConfig& sc) { sc.tcp.header_prediction = prediction; };
  Conn c(opts);
  Observed o;
  drain(c, o);
  if (k.setup) k.setup(c);
  drain(c, o);
  o.trace.push_back("-- probe");
  const uint64_t before = c.h.counter("tcp.rx_fast_path");
  k.probe(c);
  o.probe_fast = c.h.counter("tcp.rx_fast_path") - before;
  drain(c, o);
  o.trace.push_back("-- readiness " + std::to_string(c.h.tcp().readiness(c.s)));
  o.trace.push_back("-- " + describe(c.info()));
  // The delayed ACK (its window, TSecr and SACK blocks show what the probe left).
  c.h.advance(Duration::millis(50));
  drain(c, o);
  // What the application reads, then the window update that reading may cause.
  Bytes buf(1 << 20);
  auto r = c.h.tcp().recv(c.s, buf, c.h.now);
  std::ostringstream read;
  if (r) {
    read << "-- read " << *r;
    for (size_t i = 0; i < *r; i += 97) read << " " << int{buf[i]};
  } else {
    read << "-- read error " << static_cast<int>(r.error());
  }
  o.trace.push_back(read.str());
  drain(c, o);
  o.trace.push_back("-- " + describe(c.info()));
  for (const auto& [name, v] : c.h.counters()) {
    if (name == "tcp.rx_fast_path") {
      o.fast_total = v;
    } else if (v != 0) {
      o.trace.push_back("-- " + name + "=" + std::to_string(v));
    }
  }
  return o;
}

ConnOptions ts_conn() { return ConnOptions{.sack = true, .ts = true, .ws = 7}; }

// Sends `n` bytes of ours and takes the segments (they are in the trace via drain).
void send_data(Conn& c, size_t n) { EXPECT_EQ(c.send(n), n); }

std::vector<Case> cases() {
  std::vector<Case> v;
  auto data_at = [](uint32_t off, size_t n, uint8_t flags = kAck | kPsh, uint8_t tos = 0) {
    return [=](Conn& c) {
      ++c.peer_tsval;
      c.data(off, n, flags, tos);
    };
  };
  auto ack_to = [](uint32_t off, std::vector<std::pair<uint32_t, uint32_t>> sacks = {}) {
    return [=](Conn& c) {
      ++c.peer_tsval;
      c.ack(off, sacks);
    };
  };
  // ---- taken --------------------------------------------------------------------------
  v.push_back({"in-order data", ts_conn(), nullptr, data_at(0, 1000), true});
  v.push_back({"in-order data, a full segment, second in a row (TS.Recent not covered)", ts_conn(),
               data_at(0, kMss - 12), data_at(kMss - 12, kMss - 12), true});
  v.push_back({"in-order data without PSH", ts_conn(), nullptr, data_at(0, 1000, kAck), true});
  v.push_back({"in-order data without timestamps negotiated", ConnOptions{}, nullptr, data_at(0, 1000), true});
  v.push_back({"ECT(0) data on an ECN connection", ConnOptions{.ts = true, .ecn = true}, nullptr,
               data_at(0, 1000, kAck | kPsh, 0x02), true});
  v.push_back({"pure ACK of part of our data", ts_conn(), [](Conn& c) { send_data(c, 3 * kSegMss); },
               ack_to(kSegMss), true});
  v.push_back({"pure ACK of all our data", ts_conn(), [](Conn& c) { send_data(c, 3 * kSegMss); },
               ack_to(3 * kSegMss), true});
  v.push_back({"pure ACK that lets queued data out", ConnOptions{.ts = true, .sndbuf = 1 << 20},
               [](Conn& c) { send_data(c, 40 * kSegMss); }, ack_to(2 * kSegMss), true});
  v.push_back({"pure ACK in fast recovery (ACK processing runs in full)", ts_conn(),
               [](Conn& c) {
                 send_data(c, 10 * kSegMss);
                 for (uint32_t k = 2; k <= 5; ++k) {
                   ++c.peer_tsval;
                   c.ack(0, {{kSegMss, k * kSegMss}});
                 }
               },
               ack_to(kSegMss), true});
  // Pure ACKs through fast_ack (plain_ack holds) and through process_ack (one of its
  // conditions fails): the same outcome either way.
  v.push_back({"pure ACK of part of a segment (the record splits)", ts_conn(),
               [](Conn& c) { send_data(c, 3 * kSegMss); }, ack_to(kSegMss / 2), true});
  v.push_back({"pure ACK that lets a Nagle-held runt out", ts_conn(),
               [](Conn& c) { send_data(c, kSegMss + 100); }, ack_to(kSegMss), true});
  v.push_back({"pure ACK with a tail loss probe in flight", ts_conn(),
               [](Conn& c) {
                 send_data(c, 3 * kSegMss);
                 ++c.peer_tsval;
                 c.ack(kSegMss);  // an RTT sample, so TLP may arm
                 c.h.advance(Duration::millis(400));
               },
               ack_to(2 * kSegMss), true});
  v.push_back({"pure ACK after a retransmission timeout", ts_conn(),
               [](Conn& c) {
                 send_data(c, 3 * kSegMss);
                 c.h.advance(Duration::seconds(2));
               },
               ack_to(kSegMss), true});
  v.push_back({"pure ACK of data retransmitted by a timeout, all of it", ConnOptions{.ts = true},
               [](Conn& c) {
                 send_data(c, 2 * kSegMss);
                 c.h.advance(Duration::seconds(2));
                 c.h.advance(Duration::seconds(1));
               },
               ack_to(2 * kSegMss), true});
  v.push_back({"pure ACK without timestamps negotiated", ConnOptions{.sack = true},
               [](Conn& c) { send_data(c, 3 * kSegMss); }, ack_to(2 * kSegMss), true});
  // ---- declined: one condition fails ------------------------------------------------
  v.push_back({"FIN", ts_conn(), nullptr, data_at(0, 1000, kAck | TcpFlags::kFin), false});
  v.push_back({"URG", ts_conn(), nullptr, data_at(0, 1000, kAck | kPsh | TcpFlags::kUrg), false});
  v.push_back({"RST at RCV.NXT", ts_conn(), nullptr,
               [](Conn& c) { c.h.inject(c.seg(TcpFlags::kRst | kAck, c.them(0).value(), c.us(0).value())); }, false});
  v.push_back({"SYN in ESTABLISHED", ts_conn(), nullptr,
               [](Conn& c) { c.h.inject(c.seg(TcpFlags::kSyn | kAck, c.them(0).value(), c.us(0).value())); }, false});
  v.push_back({"ECE without ECN", ts_conn(), nullptr, data_at(0, 1000, kAck | TcpFlags::kEce), false});
  v.push_back({"no timestamp on a timestamp connection", ts_conn(), nullptr,
               [](Conn& c) {
                 auto t = c.h.peer_segment(kAck | kPsh, c.them(0).value(), c.us(0).value());
                 c.h.inject(t, pattern(1000));
               },
               false});
  v.push_back({"a timestamp on a connection without", ConnOptions{}, nullptr,
               [](Conn& c) {
                 auto t = c.h.peer_segment(kAck | kPsh, c.them(0).value(), c.us(0).value());
                 t.options.timestamps = std::pair{1u, 0u};
                 c.h.inject(t, pattern(1000));
               },
               false});
  v.push_back({"TSval older than TS.Recent (PAWS)", ts_conn(), nullptr,
               [](Conn& c) {
                 c.peer_tsval -= 10;
                 c.data(0, 1000);
               },
               false});
  v.push_back({"TSval older than TS.Recent on a pure ACK", ts_conn(), [](Conn& c) { send_data(c, kSegMss); },
               [](Conn& c) {
                 c.peer_tsval -= 10;
                 c.ack(kSegMss);
               },
               false});
  v.push_back({"timestamp not in the aligned layout", ts_conn(), nullptr,
               [](Conn& c) {
                 ++c.peer_tsval;
                 inject_unaligned_ts(c, c.seg(kAck | kPsh, c.them(0).value(), c.us(0).value()), pattern(1000));
               },
               false});
  v.push_back({"SACK block on an ACK", ts_conn(), [](Conn& c) { send_data(c, 3 * kSegMss); },
               ack_to(kSegMss, {{2 * kSegMss, 3 * kSegMss}}), false});
  v.push_back({"window changed on data", ts_conn(), nullptr,
               [](Conn& c) {
                 c.peer_wnd = 1000;
                 c.data(0, 1000);
               },
               false});
  v.push_back({"window changed on a pure ACK", ts_conn(), [](Conn& c) { send_data(c, 3 * kSegMss); },
               [](Conn& c) {
                 c.peer_wnd = 20;
                 c.ack(kSegMss);
               },
               false});
  v.push_back({"data beyond RCV.NXT (out of order)", ts_conn(), nullptr, data_at(2000, 1000), false});
  v.push_back({"data below RCV.NXT (duplicate)", ts_conn(), data_at(0, 1000), data_at(0, 1000), false});
  v.push_back({"data that also acknowledges ours", ts_conn(), [](Conn& c) { send_data(c, 1000); },
               [](Conn& c) {
                 c.peer_ack = 1000;
                 c.data(0, 1000);
               },
               false});
  v.push_back({"data while ours is in flight", ts_conn(), [](Conn& c) { send_data(c, 1000); }, data_at(0, 1000),
               false});
  v.push_back({"data filling a gap (out-of-order queue not empty)", ts_conn(), data_at(1000, 1000),
               data_at(0, 1000), false});
  v.push_back({"data beyond the receive buffer's free space", ConnOptions{.ts = true, .rcvbuf = 4096},
               data_at(0, 3000), data_at(3000, 2000), false});
  v.push_back({"data after SHUT_RD", ts_conn(), [](Conn& c) { EXPECT_TRUE(c.h.tcp().shutdown(c.s, true, false, c.h.now)); },
               data_at(0, 1000), false});
  v.push_back({"CE on an ECN connection", ConnOptions{.ts = true, .ecn = true}, nullptr,
               data_at(0, 1000, kAck | kPsh, 0x03), false});
  v.push_back({"duplicate pure ACK", ts_conn(), [](Conn& c) { send_data(c, 3 * kSegMss); }, ack_to(0), false});
  v.push_back({"pure ACK beyond SND.MAX", ts_conn(), [](Conn& c) { send_data(c, kSegMss); }, ack_to(2 * kSegMss),
               false});
  v.push_back({"pure ACK in CLOSE-WAIT", ts_conn(),
               [](Conn& c) {
                 send_data(c, kSegMss);
                 c.h.inject(c.seg(TcpFlags::kFin | kAck, c.them(0).value(), c.us(0).value()));
                 c.rcv = 1;
               },
               ack_to(kSegMss), false});
  return v;
}

TEST(TcpFastPath, SameResultWithAndWithoutHeaderPrediction) {
  for (const Case& k : cases()) {
    SCOPED_TRACE(k.name);
    const Observed fast = run(k, true);
    const Observed slow = run(k, false);
    EXPECT_EQ(fast.trace, slow.trace);
    EXPECT_EQ(fast.probe_fast, k.fast ? 1u : 0u);
    EXPECT_EQ(slow.fast_total, 0u);
  }
}

// The counter proves the fast path carries bulk transfer: every in-order data
// segment, and every pure ACK of a sender, once established.
TEST(TcpFastPath, TakesEveryInOrderBulkSegment) {
  Conn c(ts_conn());
  constexpr uint32_t kN = 100;
  for (uint32_t i = 0; i < kN; ++i) {
    ++c.peer_tsval;
    c.data(i * kSegMss, kSegMss);
    while (c.h.pop_segment()) {
    }
    EXPECT_EQ(c.read(1 << 16), kSegMss);
  }
  EXPECT_EQ(c.h.counter("tcp.rx_fast_path"), kN);
  EXPECT_EQ(c.info().bytes_received, uint64_t{kN} * kSegMss);
}

TEST(TcpFastPath, TakesEveryPureAckOfABulkSender) {
  Conn c(ConnOptions{.ts = true, .ws = 7, .sndbuf = 1 << 20});
  constexpr uint32_t kN = 100;
  uint32_t acked = 0;
  for (uint32_t i = 0; i < kN; ++i) {
    EXPECT_EQ(c.send(2 * kSegMss), 2 * kSegMss);
    while (auto g = c.h.pop_segment()) {
      if (g->h.options.timestamps) c.echo = g->h.options.timestamps->first;
    }
    acked += 2 * kSegMss;
    ++c.peer_tsval;
    c.ack(acked);
  }
  EXPECT_EQ(c.h.counter("tcp.rx_fast_path"), kN);
  EXPECT_EQ(c.info().bytes_acked, uint64_t{kN} * 2 * kSegMss);
  EXPECT_EQ(c.info().unacked, 0u);
}

}  // namespace
}  // namespace joyride::core::testing

namespace joyride::core::testing {
namespace {

// Segments of two connections, interleaved, each reach their own connection (the
// demux remembers its last match) and both go the fast path; after one connection
// is gone its tuple finds nothing.
TEST(TcpFastPath, InterleavedConnectionsEachGetTheirOwnSegments) {
  TcpHarness h;
  const SocketId l80 = h.listen(80), l81 = h.listen(81);
  auto [a, iss_a] = h.accept_connection(l80, 1000, wire::TcpOptions{}, 80);
  auto [b, iss_b] = h.accept_connection(l81, 5000, wire::TcpOptions{}, 81);
  for (uint32_t i = 0; i < 6; ++i) {
    const bool to_a = i % 2 == 0;
    const uint32_t k = i / 2;
    auto t = h.peer_segment(kAck | kPsh, (to_a ? 1001 : 5001) + k * 100, (to_a ? iss_a : iss_b) + 1, to_a ? 80 : 81);
    h.inject(t, pattern(100, static_cast<uint8_t>(to_a ? k : 100 + k)));
  }
  EXPECT_EQ(h.counter("tcp.rx_fast_path"), 6u);
  for (auto [s, seed] : {std::pair{a, 0}, std::pair{b, 100}}) {
    Bytes got(1000);
    auto r = h.tcp().recv(s, got, h.now);
    ASSERT_TRUE(r);
    ASSERT_EQ(*r, 300u);
    for (uint32_t k = 0; k < 3; ++k) {
      const Bytes want = pattern(100, static_cast<uint8_t>(seed + k));
      EXPECT_TRUE(std::equal(want.begin(), want.end(), got.begin() + k * 100)) << seed << " " << k;
    }
  }
  // Reset connection a: it leaves the table, and its tuple's next segment (after one
  // for b, last found) no longer reaches it: the listener answers it with a RST.
  h.inject(h.peer_segment(TcpFlags::kRst, 1301, 0, 80));
  h.inject(h.peer_segment(kAck | kPsh, 5301, iss_b + 1, 81), pattern(10));
  while (h.pop_segment()) {
  }
  h.inject(h.peer_segment(kAck | kPsh, 1301, iss_a + 1, 80), pattern(10));
  Seg rst = h.expect_segment();
  EXPECT_TRUE(rst.has(TcpFlags::kRst));
  EXPECT_EQ(h.tcp().state(a), TcpState::kClosed);
  EXPECT_EQ(h.tcp().info(a)->bytes_received, 300u);
  EXPECT_EQ(h.tcp().info(b)->bytes_received, 310u);
}

}  // namespace
}  // namespace joyride::core::testing
