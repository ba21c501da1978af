// Loss recovery, segment by segment: the retransmission timer (RFC 6298: backoff, the
// 200 ms floor Linux uses, the estimator after samples, Karn's rule), fast retransmit
// and NewReno partial ACKs without SACK (RFC 5681 §3.2, RFC 6582), SACK recovery that
// repairs exactly the holes (RFC 6675), RACK's time-based loss marking and reorder
// timer and the tail loss probe (RFC 8985), the window after a loss for CUBIC
// (beta 0.7, RFC 9438) and NewReno (0.5), and D-SACKs received (RFC 2883).
#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "tcp_harness.h"

namespace joyride::core::testing {
namespace {

using base::Duration;
using base::SeqNum;

constexpr uint32_t kPeerIss = 1000;
constexpr uint32_t kMss = 1460;

struct ConnOptions {
  bool sack = true;
  bool ts = false;
  std::optional<uint8_t> ws;
  uint16_t peer_mss = 1460;
  size_t rcvbuf = 0;
  size_t sndbuf = 0;
  const char* cc = nullptr;
  bool ecn = false;  // the peer's SYN asks for ECN (ECE+CWR)
  Duration handshake_rtt = Duration::zero();
  HarnessOptions harness;
};

// An established passive connection on port 80, the peer's ISS kPeerIss. Sequence
// numbers are written as offsets into each side's byte stream: us(0) is our first
// data byte, them(0) the peer's.
struct Conn {
  TcpHarness h;
  SocketId s;
  uint32_t iss = 0;        // ours
  uint32_t peer_ack = 0;   // offset the peer acknowledges in data() segments
  uint16_t peer_wnd = 65535;
  uint32_t peer_tsval = 5000;
  uint32_t echo = 0;       // the last TSval we sent (the peer echoes it)
  Seg synack;

  explicit Conn(ConnOptions o = {}) : h(o.harness) {
    auto l = h.tcp().open();
    EXPECT_TRUE(h.tcp().bind(*l, Endpoint{kOurIp, 80}).ok());
    if (o.rcvbuf) EXPECT_TRUE(h.tcp().set_rcvbuf(*l, o.rcvbuf));
    if (o.sndbuf) EXPECT_TRUE(h.tcp().set_sndbuf(*l, o.sndbuf));
    if (o.cc) EXPECT_TRUE(h.tcp().set_congestion_control(*l, o.cc));
    EXPECT_TRUE(h.tcp().listen(*l, 16).ok());
    auto syn = h.peer_segment(TcpFlags::kSyn | (o.ecn ? TcpFlags::kEce | TcpFlags::kCwr : 0), kPeerIss, 0);
    syn.options.mss = o.peer_mss;
    syn.options.sack_permitted = o.sack;
    if (o.ts) syn.options.timestamps = std::pair{peer_tsval, 0u};
    syn.options.window_scale = o.ws;
    h.inject(syn);
    synack = expect();
    iss = synack.seq().value();
    h.advance(o.handshake_rtt);
    h.inject(seg(TcpFlags::kAck, kPeerIss + 1, iss + 1));
    auto c = h.tcp().accept(*l);
    EXPECT_TRUE(c.ok());
    if (c.ok()) s = *c;
  }

  SeqNum us(uint32_t off) const { return SeqNum(iss + 1 + off); }
  SeqNum them(uint32_t off) const { return SeqNum(kPeerIss + 1 + off); }

  wire::TcpRepr seg(uint8_t flags, uint32_t seq, uint32_t ack) const {
    auto t = h.peer_segment(flags, seq, ack, 80, peer_wnd);
    if (synack.h.options.timestamps) t.options.timestamps = std::pair{peer_tsval, echo};
    return t;
  }
  // `n` bytes of the peer's stream at offset `off`.
  void data(uint32_t off, size_t n, uint8_t flags = TcpFlags::kAck | TcpFlags::kPsh, uint8_t tos = 0) {
    Bytes b = pattern(n, static_cast<uint8_t>(off));
    h.inject(seg(flags, them(off).value(), us(peer_ack).value()), b, tos);
  }
  // A pure ACK from the peer of our stream up to `off`, with SACK blocks as offsets.
  void ack(uint32_t off, std::vector<std::pair<uint32_t, uint32_t>> sacks = {}, uint8_t flags = TcpFlags::kAck) {
    peer_ack = off;
    auto t = seg(flags, them(rcv).value(), us(off).value());
    for (auto [l, r] : sacks) t.options.add_sack(wire::SackBlock{us(l), us(r)});
    h.inject(t);
  }
  uint32_t rcv = 0;  // the peer's next sequence offset in pure ACKs

  Seg expect() {
    Seg g = h.expect_segment();
    if (g.h.options.timestamps) echo = g.h.options.timestamps->first;
    return g;
  }
  // Our next segment must be a data segment [us(off), us(off + len)).
  Seg expect_data(uint32_t off, uint32_t len) {
    Seg g = expect();
    EXPECT_EQ(g.seq(), us(off)) << "offset " << (g.seq() - us(0));
    EXPECT_EQ(g.payload.size(), len);
    EXPECT_TRUE(g.has(TcpFlags::kAck));
    return g;
  }
  // Our next segment must be a pure ACK of the peer's stream up to `off`.
  Seg expect_ack(uint32_t off) {
    Seg g = expect();
    EXPECT_EQ(g.h.flags & ~TcpFlags::kEce, TcpFlags::kAck);
    EXPECT_EQ(g.ack(), them(off)) << "acks offset " << (g.ack() - them(0));
    EXPECT_TRUE(g.payload.empty());
    return g;
  }
  size_t send(size_t n) {
    Bytes b = pattern(n);
    auto r = h.tcp().send(s, b, h.now);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : 0;
  }
  size_t read(size_t n) {
    Bytes b(n);
    auto r = h.tcp().recv(s, b, h.now);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : 0;
  }
  TcpInfo info() { return *h.tcp().info(s); }
  std::vector<std::pair<uint32_t, uint32_t>> sacks(const Seg& g) const {
    std::vector<std::pair<uint32_t, uint32_t>> v;
    for (const auto& b : g.h.options.sacks()) {
      v.emplace_back(static_cast<uint32_t>(b.left - them(0)), static_cast<uint32_t>(b.right - them(0)));
    }
    return v;
  }
};
using Blocks = std::vector<std::pair<uint32_t, uint32_t>>;

TEST(TcpRecovery, RtoRetransmitsTheHeadWithExponentialBackoff) {
  // The handshake's RTT sample is 0: RTO = max(srtt + 4 rttvar, 200 ms) = 200 ms.
  Conn c(ConnOptions{.sack = false, .cc = "newreno"});
  c.send(2 * kMss);
  c.expect_data(0, kMss);
  c.expect_data(kMss, kMss);
  EXPECT_EQ(c.info().rto, Duration::millis(200));
  Duration rto = Duration::millis(200);
  for (uint32_t i = 1; i <= 4; ++i) {
    c.h.advance(rto - Duration::millis(1));
    c.h.expect_no_segment();
    c.h.advance(Duration::millis(1));
    c.expect_data(0, kMss);  // only the head: cwnd is one segment after a timeout
    c.h.expect_no_segment();
    EXPECT_EQ(c.info().retransmits, i);
    EXPECT_EQ(c.h.counter("tcp.timeouts"), i);
    rto = rto * 2;
  }
  // RFC 5681 §3.1 eq. 4 (from the first timeout): ssthresh = FlightSize / 2, cwnd = 1 MSS.
  EXPECT_EQ(c.info().cwnd, kMss);
  EXPECT_EQ(c.info().ssthresh, 2 * kMss);
  EXPECT_EQ(c.info().total_retrans, 4u);
  // The head is acknowledged: the backoff ends and the rest is repaired.
  c.ack(kMss);
  c.expect_data(kMss, kMss);
  EXPECT_EQ(c.info().retransmits, 0u);
}

TEST(TcpRecovery, FirstSampleSetsSrttAndRttvar) {
  // RFC 6298 §2.2, first sample R (the handshake): srtt = R, rttvar = R/2; Linux RTO =
  // srtt + max(4 rttvar, 200 ms).
  Conn c(ConnOptions{.sack = false, .handshake_rtt = Duration::millis(100)});
  EXPECT_EQ(c.info().rtt, Duration::millis(100));
  EXPECT_EQ(c.info().rttvar, Duration::millis(50));
  EXPECT_EQ(c.info().rto, Duration::millis(300));
}

TEST(TcpRecovery, RttSampleUpdatesSmoothedValues) {
  Conn c(ConnOptions{.sack = false, .handshake_rtt = Duration::millis(100)});
  c.send(kMss);
  c.expect_data(0, kMss);
  c.h.advance(Duration::millis(250));
  c.ack(kMss);
  // rttvar = 3/4*50 + 1/4*150 = 75; srtt = 7/8*100 + 250/8 = 118.75; RTO = srtt + 300.
  EXPECT_EQ(c.info().rttvar, Duration::millis(75));
  EXPECT_EQ(c.info().rtt, Duration::micros(118750));
  EXPECT_EQ(c.info().rto, Duration::micros(418750));
  EXPECT_EQ(c.info().min_rtt, Duration::millis(100));
}

TEST(TcpRecovery, KarnTakesNoSampleFromARetransmission) {
  Conn c(ConnOptions{.sack = false, .handshake_rtt = Duration::millis(10)});
  const TcpInfo before = c.info();
  c.send(kMss);
  c.expect_data(0, kMss);
  c.h.advance(before.rto);
  c.expect_data(0, kMss);
  c.h.advance(Duration::millis(350));  // ambiguous: for the original or the retransmission?
  c.ack(kMss);
  EXPECT_EQ(c.info().rtt, before.rtt);
  EXPECT_EQ(c.info().rttvar, before.rttvar);
  EXPECT_EQ(c.info().rto, before.rto);  // backoff undone, no new sample
}

struct LossCase {
  const char* cc;
  uint32_t ssthresh;  // after a loss with 12 segments outstanding
};

class TcpFastRecovery : public ::testing::TestWithParam<LossCase> {};

TEST_P(TcpFastRecovery, ThreeDupacksThenNewRenoPartialAcks) {
  // Without SACK: limited transmit on dupacks 1 and 2 (RFC 3042), fast retransmit on
  // the third (RFC 5681 §3.2), then each partial ACK retransmits the next hole and a
  // full ACK ends recovery with cwnd = ssthresh (RFC 6582 §3.2).
  const LossCase& lc = GetParam();
  Conn c(ConnOptions{.sack = false, .cc = lc.cc});
  c.send(30 * kMss);
  for (uint32_t i = 0; i < 10; ++i) c.expect_data(i * kMss, kMss);
  c.ack(0);
  c.expect_data(10 * kMss, kMss);
  c.ack(0);
  c.expect_data(11 * kMss, kMss);
  c.h.expect_no_segment();
  c.ack(0);
  c.expect_data(0, kMss);
  c.h.expect_no_segment();
  EXPECT_EQ(c.h.counter("tcp.fast_retrans"), 1u);
  EXPECT_EQ(c.info().ssthresh, lc.ssthresh);
  EXPECT_EQ(c.info().cwnd, lc.ssthresh);
  // Segments 0-2 arrive, 3 was lost too: the partial ACK retransmits segment 3.
  c.ack(3 * kMss);
  c.expect_data(3 * kMss, kMss);
  // And 7: another partial ACK.
  c.ack(7 * kMss);
  c.expect_data(7 * kMss, kMss);
  // Everything up to the recovery point: recovery ends, cwnd = ssthresh.
  c.ack(12 * kMss);
  EXPECT_EQ(c.info().ssthresh, lc.ssthresh);
  EXPECT_GE(c.info().cwnd, lc.ssthresh);  // the ending ACK may already grow it a little
  EXPECT_LE(c.info().cwnd, lc.ssthresh + kMss);
  EXPECT_EQ(c.h.counter("tcp.fast_retrans"), 1u);
  EXPECT_EQ(c.h.counter("tcp.timeouts"), 0u);
  EXPECT_EQ(c.info().total_retrans, 3u);
}

INSTANTIATE_TEST_SUITE_P(Cc, TcpFastRecovery,
                         ::testing::Values(LossCase{"newreno", 12 * kMss / 2},
                                           LossCase{"cubic", static_cast<uint32_t>(12 * kMss * 0.7)}),
                         [](const auto& info) { return std::string(info.param.cc); });

TEST(TcpRecovery, SackRecoveryRetransmitsExactlyTheHoles) {
  // RFC 6675: only bytes neither SACKed nor acknowledged are repaired. The handshake
  // RTT of 0 makes RACK's reordering window 0, so the holes are lost at once.
  Conn c(ConnOptions{.cc = "newreno"});
  c.send(10 * kMss);
  for (uint32_t i = 0; i < 10; ++i) c.expect_data(i * kMss, kMss);
  c.ack(0, {{kMss, 3 * kMss}, {5 * kMss, 7 * kMss}});
  EXPECT_EQ(c.h.counter("tcp.fast_retrans"), 1u);
  // ssthresh = cwnd = FlightSize / 2 = 5 segments (RFC 6675 §5 step 4.2). Pipe: 3
  // (7-9) + retransmissions; so holes 0 and 3 go now, 4 when the pipe drains.
  EXPECT_EQ(c.info().ssthresh, 10 * kMss / 2);
  EXPECT_EQ(c.info().sacked, 4 * kMss);
  EXPECT_EQ(c.info().lost, 3 * kMss);
  c.expect_data(0, kMss);
  c.expect_data(3 * kMss, kMss);
  c.h.expect_no_segment();
  c.ack(4 * kMss, {{5 * kMss, 7 * kMss}});
  c.expect_data(4 * kMss, kMss);
  c.h.expect_no_segment();
  c.ack(10 * kMss);
  c.h.expect_no_segment();
  EXPECT_EQ(c.info().total_retrans, 3u);
  EXPECT_EQ(c.h.counter("tcp.timeouts"), 0u);
}

TEST(TcpRecovery, RackMarksLossByTimeAfterTheReorderWindow) {
  // RFC 8985 §6.2: a segment is lost once a later-sent one is delivered and
  // sent_at + rack.rtt + reo_wnd has passed; reo_wnd = min_rtt / 4 (25 ms here).
  // Until then the reorder timer waits (§6.3).
  Conn c(ConnOptions{.handshake_rtt = Duration::millis(100)});
  ASSERT_TRUE(c.h.tcp().set_nodelay(c.s, true, c.h.now));
  c.send(kMss);
  c.expect_data(0, kMss);
  c.h.advance(Duration::millis(10));
  c.send(kMss);
  c.expect_data(kMss, kMss);
  c.h.advance(Duration::millis(100));  // t = 110: segment 1 SACKed, rack.rtt = 100
  c.ack(0, {{kMss, 2 * kMss}});
  c.h.expect_no_segment();  // 0 + 100 + 25 = 125 > 110
  c.h.advance(Duration::millis(14));
  c.h.expect_no_segment();
  c.h.advance(Duration::millis(1));
  c.expect_data(0, kMss);
  EXPECT_EQ(c.h.counter("tcp.rack_loss"), 1u);
  EXPECT_EQ(c.h.counter("tcp.timeouts"), 0u);
}

TEST(TcpRecovery, TailLossProbeAfterTwoSrtt) {
  // RFC 8985 §7.2: PTO = 2·SRTT (no delayed-ACK allowance with two segments out),
  // earlier than the RTO (300 ms); with nothing new to send the last segment is probed.
  Conn c(ConnOptions{.handshake_rtt = Duration::millis(100)});
  c.send(2 * kMss);
  c.expect_data(0, kMss);
  c.expect_data(kMss, kMss);
  c.h.advance(Duration::millis(199));
  c.h.expect_no_segment();
  c.h.advance(Duration::millis(1));
  c.expect_data(kMss, kMss);
  c.h.expect_no_segment();
  EXPECT_EQ(c.h.counter("tcp.timeouts"), 0u);
  // No second probe: the RTO follows.
  c.h.advance(Duration::millis(299));
  c.h.expect_no_segment();
  c.h.advance(Duration::millis(1));
  c.expect_data(0, kMss);
  EXPECT_EQ(c.h.counter("tcp.timeouts"), 1u);
}

TEST(TcpRecovery, TailLossProbeWithOneSegmentAddsTheDelayedAckAllowance) {
  // One segment out: PTO = 2·SRTT + WCDelAckT (200 ms) = 220 ms, below the RTO.
  Conn c(ConnOptions{.handshake_rtt = Duration::millis(10)});
  EXPECT_EQ(c.info().rto, Duration::millis(210));
  c.send(kMss);
  c.expect_data(0, kMss);
  // 220 ms is not below the 210 ms RTO: the RTO fires instead.
  c.h.advance(Duration::millis(210));
  c.expect_data(0, kMss);
  EXPECT_EQ(c.h.counter("tcp.timeouts"), 1u);
}

TEST(TcpRecovery, DsackReceivedIsCounted) {
  Conn c;
  c.send(3 * kMss);
  for (uint32_t i = 0; i < 3; ++i) c.expect_data(i * kMss, kMss);
  c.ack(2 * kMss);
  EXPECT_EQ(c.h.counter("tcp.dsack_recv"), 0u);
  // The peer got segment 0 twice: a block below the cumulative ACK (RFC 2883 §4).
  // (Segment 2 is still outstanding: see the report on D-SACKs after a full ACK.)
  c.ack(2 * kMss, {{0, kMss}});
  EXPECT_EQ(c.h.counter("tcp.dsack_recv"), 1u);
}

}  // namespace
}  // namespace joyride::core::testing
