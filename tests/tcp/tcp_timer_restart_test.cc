// The retransmission timer's restart rules (RFC 6298 §5.2-5.3) under lazy re-arming:
// an advancing ACK moves the deadline without moving the wheel timer, and all data
// acknowledged stops the timer without cancelling it (TcpLayer::arm_timer,
// stop_rtx_timer). Seen from the wire, nothing may change: the old, earlier wheel
// deadline fires into nothing, and the real deadline still retransmits, exactly on time.
// The delayed-ACK timer is left armed the same way when an ACK goes (tcb.h
// delack_owed): the ACK owed next is still sent exactly 40 ms after its segment.
#include "tcp_conn.h"

namespace joyride::core::testing {
namespace {

// Without SACK (no tail loss probe) and with NewReno, the only job of the timer is
// the RTO, which the handshake's zero sample puts at the 200 ms floor.
ConnOptions plain() { return ConnOptions{.sack = false, .cc = "newreno"}; }

TEST(TcpTimerRestart, AnAdvancingAckRestartsTheRtoAndTheOldDeadlineFiresIntoNothing) {
  Conn c(plain());
  c.send(3 * kMss);
  for (uint32_t i = 0; i < 3; ++i) c.expect_data(i * kMss, kMss);
  ASSERT_EQ(c.info().rto, Duration::millis(200));
  // 100 ms later the first segment is acknowledged: the RTO restarts from now
  // (RFC 6298 §5.3), so it is due at 300 ms, not at 200 ms.
  c.h.advance(Duration::millis(100));
  c.ack(kMss);
  c.h.expect_no_segment();
  const Duration rto = c.info().rto;
  ASSERT_GT(rto, Duration::millis(101));  // the sample of 100 ms moved it a little
  // The first arming's deadline (200 ms) passes: nothing is sent, nothing counted.
  c.h.advance(Duration::millis(100));
  c.h.expect_no_segment();
  EXPECT_EQ(c.h.counter("tcp.timeouts"), 0u);
  EXPECT_EQ(c.info().retransmits, 0u);
  c.h.advance(rto - Duration::millis(100) - Duration::millis(1));
  c.h.expect_no_segment();
  EXPECT_EQ(c.h.counter("tcp.timeouts"), 0u);
  // The restarted deadline: the head is retransmitted, once.
  c.h.advance(Duration::millis(1));
  c.expect_data(kMss, kMss);
  c.h.expect_no_segment();
  EXPECT_EQ(c.h.counter("tcp.timeouts"), 1u);
  EXPECT_EQ(c.info().retransmits, 1u);
}

TEST(TcpTimerRestart, ManyAdvancingAcksKeepPushingTheDeadline) {
  Conn c(plain());
  c.send(10 * kMss);
  for (uint32_t i = 0; i < 10; ++i) c.expect_data(i * kMss, kMss);
  // One ACK of one segment every 150 ms: each restarts the RTO, so it never fires
  // although the first segment went out long before the last deadline.
  for (uint32_t i = 1; i <= 5; ++i) {
    c.h.advance(Duration::millis(150));
    c.ack(i * kMss);
    while (c.h.pop_segment()) {
    }
  }
  EXPECT_EQ(c.h.counter("tcp.timeouts"), 0u);
  const Duration rto = c.info().rto;
  const uint32_t una = 5 * kMss;
  c.h.advance(rto - Duration::millis(1));
  EXPECT_EQ(c.h.counter("tcp.timeouts"), 0u);
  c.h.advance(Duration::millis(1));
  EXPECT_EQ(c.h.counter("tcp.timeouts"), 1u);
  auto g = c.h.pop_segment();
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->seq(), c.us(una));
}

TEST(TcpTimerRestart, AStoppedTimerDoesNotFireForTheNextFlight) {
  Conn c(plain());
  c.send(kMss);
  c.expect_data(0, kMss);
  // Everything acknowledged at 150 ms: the timer stops (RFC 6298 §5.2), though the
  // wheel still holds the 200 ms deadline.
  c.h.advance(Duration::millis(150));
  c.ack(kMss);
  c.h.expect_no_segment();
  // New data at 150 ms: its RTO is due at 150 + RTO, not at the stale 200 ms.
  c.send(kMss);
  c.expect_data(kMss, kMss);
  const Duration rto = c.info().rto;
  ASSERT_GE(rto, Duration::millis(200));
  c.h.advance(Duration::millis(50));  // 200 ms
  c.h.expect_no_segment();
  EXPECT_EQ(c.h.counter("tcp.timeouts"), 0u);
  c.h.advance(rto - Duration::millis(50) - Duration::millis(1));
  c.h.expect_no_segment();
  c.h.advance(Duration::millis(1));
  c.expect_data(kMss, kMss);
  EXPECT_EQ(c.h.counter("tcp.timeouts"), 1u);
}

TEST(TcpTimerRestart, AStoppedTimerWithNothingOutstandingFiresIntoNothing) {
  Conn c(plain());
  c.send(kMss);
  c.expect_data(0, kMss);
  c.h.advance(Duration::millis(10));
  c.ack(kMss);
  c.h.advance(Duration::seconds(5));
  c.h.expect_no_segment();
  EXPECT_EQ(c.h.counter("tcp.timeouts"), 0u);
  EXPECT_EQ(c.info().retransmits, 0u);
  // And the next flight still gets its RTO.
  c.send(kMss);
  c.expect_data(kMss, kMss);
  c.h.advance(c.info().rto);
  c.expect_data(kMss, kMss);
  EXPECT_EQ(c.h.counter("tcp.timeouts"), 1u);
}

TEST(TcpTimerRestart, AShorterDeadlineMovesTheTimerEarlier) {
  // One segment out: PTO = 2·SRTT + 200 ms = 220 ms is not below the 210 ms RTO, so
  // the RTO is armed (RFC 8985 §7.2), due at 210 ms. Two more segments follow (the
  // timer runs on). An ACK at 10 ms leaves two out: PTO = 2·SRTT = 20 ms, a deadline
  // (30 ms) before the armed one, which the wheel must move to.
  Conn c(ConnOptions{.handshake_rtt = Duration::millis(10)});
  ASSERT_EQ(c.info().rto, Duration::millis(210));
  c.send(kMss);
  c.expect_data(0, kMss);
  c.send(2 * kMss);
  c.expect_data(kMss, kMss);
  c.expect_data(2 * kMss, kMss);
  c.h.advance(Duration::millis(10));
  c.ack(kMss);
  c.h.expect_no_segment();
  c.h.advance(Duration::millis(19));
  c.h.expect_no_segment();
  c.h.advance(Duration::millis(1));
  c.expect_data(2 * kMss, kMss);  // the probe: nothing new to send, the last segment again
  EXPECT_EQ(c.h.counter("tcp.tlp_probes"), 1u);
  EXPECT_EQ(c.h.counter("tcp.timeouts"), 0u);
}

TEST(TcpTimerRestart, ADelayedAckIsDueFromItsOwnSegmentNotFromAnEarlierTimer) {
  Conn c;
  c.data(0, kMss);  // one full segment: the delayed ACK is armed for 40 ms from now
  c.h.expect_no_segment();
  c.h.advance(Duration::millis(30));
  c.data(kMss, kMss);  // the second: acknowledged at once (RFC 5681 §4.2)
  c.expect_ack(2 * kMss);
  c.h.advance(Duration::millis(5));
  c.data(2 * kMss, kMss);  // owed again, due at 35 + 40 = 75 ms
  c.h.advance(Duration::millis(5));  // 40 ms: the first arming's deadline
  c.h.expect_no_segment();
  c.h.advance(Duration::millis(34));
  c.h.expect_no_segment();
  c.h.advance(Duration::millis(1));
  c.expect_ack(3 * kMss);
  EXPECT_EQ(c.h.counter("tcp.delayed_acks"), 1u);
  // Nothing owed: the timer does not fire again.
  c.h.advance(Duration::seconds(1));
  c.h.expect_no_segment();
  EXPECT_EQ(c.h.counter("tcp.delayed_acks"), 1u);
}

}  // namespace
}  // namespace joyride::core::testing
