// Loss recovery, segment by segment: the retransmission timer (RFC 6298: backoff, the
// 200 ms floor Linux uses, the estimator after samples, Karn's rule), fast retransmit
// and NewReno partial ACKs without SACK (RFC 5681 §3.2, RFC 6582), SACK recovery that
// repairs exactly the holes (RFC 6675), RACK's time-based loss marking and reorder
// timer and the tail loss probe (RFC 8985), the window after a loss for CUBIC
// (beta 0.7, RFC 9438) and NewReno (0.5), and D-SACKs received (RFC 2883).
#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "tcp_conn.h"

namespace joyride::core::testing {
namespace {

using base::Duration;
using base::SeqNum;


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
                         [](const auto& param_info) { return std::string(param_info.param.cc); });

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
  // (With nothing outstanding: tcp_recovery_window_test.cc.)
  c.ack(2 * kMss, {{0, kMss}});
  EXPECT_EQ(c.h.counter("tcp.dsack_recv"), 1u);
}

}  // namespace
}  // namespace joyride::core::testing
