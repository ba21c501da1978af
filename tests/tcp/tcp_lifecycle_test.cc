// How an idle or unresponsive connection ends: keepalive (RFC 1122 §4.2.3.6 with
// Linux's TCP_KEEPIDLE/KEEPINTVL/KEEPCNT: probe SEG.SEQ = SND.NXT - 1 without data,
// an answer starts the idle period again, unanswered probes abort with ETIMEDOUT and
// an RST), TCP_USER_TIMEOUT (RFC 5482) and tcp_retries2 aborting a connection whose
// data is never acknowledged. SO_LINGER is in tcp_close_test.cc.
#include <gtest/gtest.h>

#include <vector>

#include "tcp_bare_conn.h"

namespace joyride::core::testing {
namespace {

using base::Duration;
using base::Instant;

constexpr uint32_t kPeerIss = kBarePeerIss;
constexpr uint32_t kPeer = kPeerIss + 1;
constexpr uint8_t kAck = TcpFlags::kAck;

class TcpLifecycle : public BareConnTest {
 protected:
  RecvError error() {
    std::array<uint8_t, 4> b{};
    auto r = h.tcp().recv(s, b, h.now);
    return r.ok() ? RecvError::kWouldBlock : r.error();
  }
};

TEST_F(TcpLifecycle, UnansweredKeepaliveProbesAbortWithEtimedout) {
  ASSERT_TRUE(h.tcp().set_keepalive_params(s, Duration::seconds(10), Duration::seconds(2), 3));
  ASSERT_TRUE(h.tcp().set_keepalive(s, true, h.now));
  h.advance(Duration::seconds(10) - Duration::millis(1));
  h.expect_no_segment();
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    h.advance(i == 0 ? Duration::millis(1) : Duration::seconds(2) - Duration::millis(1));
    if (i != 0) {
      h.expect_no_segment();
      h.advance(Duration::millis(1));
    }
    expect(kAck, iss, kPeer);  // SND.NXT - 1, no data: the peer must answer
  }
  h.advance(Duration::seconds(2) - Duration::millis(1));
  EXPECT_EQ(h.tcp().state(s), TcpState::kEstablished);
  h.advance(Duration::millis(1));
  expect(TcpFlags::kRst | kAck, iss + 1, kPeer);  // Linux tells the peer
  EXPECT_EQ(h.tcp().state(s), TcpState::kClosed);
  EXPECT_EQ(error(), RecvError::kTimedOut);
  EXPECT_EQ(h.counter("tcp.keepalive_timeouts"), 1u);
}

TEST_F(TcpLifecycle, AnsweredKeepaliveStartsTheIdlePeriodAgain) {
  ASSERT_TRUE(h.tcp().set_keepalive_params(s, Duration::seconds(10), Duration::seconds(2), 3));
  ASSERT_TRUE(h.tcp().set_keepalive(s, true, h.now));
  h.advance(Duration::seconds(10));
  expect(kAck, iss, kPeer);
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(round);
    h.advance(Duration::seconds(1));
    h.inject(h.peer_segment(kAck, kPeer, iss + 1));  // the answer
    h.expect_no_segment();
    // No probe at the interval: the next one is a full idle period after the answer.
    h.advance(Duration::seconds(10) - Duration::millis(1));
    h.expect_no_segment();
    h.advance(Duration::millis(1));
    expect(kAck, iss, kPeer);
  }
  EXPECT_EQ(h.tcp().state(s), TcpState::kEstablished);
  EXPECT_EQ(h.counter("tcp.keepalive_timeouts"), 0u);
}

TEST_F(TcpLifecycle, KeepaliveOffSendsNothing) {
  h.advance(Duration::seconds(7200 * 2));
  h.expect_no_segment();
  EXPECT_EQ(h.tcp().state(s), TcpState::kEstablished);
}

TEST_F(TcpLifecycle, DefaultKeepaliveIsTwoHoursThen75Seconds) {
  ASSERT_TRUE(h.tcp().set_keepalive(s, true, h.now));
  h.advance(Duration::seconds(7200) - Duration::millis(1));
  h.expect_no_segment();
  h.advance(Duration::millis(1));
  expect(kAck, iss, kPeer);
  h.advance(Duration::seconds(75));
  expect(kAck, iss, kPeer);
}

// Retransmits of unacknowledged data until `state` leaves ESTABLISHED; returns the
// times (relative to the first transmission) at which our data segment went out.
std::vector<Duration> run_until_abort(TcpHarness& h, SocketId s, uint32_t iss, Duration step, Duration limit) {
  std::vector<Duration> sent;
  const Instant start = h.now;
  while (h.tcp().state(s) == TcpState::kEstablished && h.now - start < limit) {
    h.advance(step);
    while (auto seg = h.pop_segment()) {
      EXPECT_EQ(seg->seq().value(), iss + 1);
      if (!seg->payload.empty()) sent.push_back(h.now - start);
    }
  }
  return sent;
}

// tcp_retries2 = 15: after 15 retransmissions backed off from the 200 ms RTO (capped at
// 120 s) the 16th timeout aborts with ETIMEDOUT and no RST (Linux tcp_write_err).
TEST_F(TcpLifecycle, Retries2AbortsWithEtimedout) {
  ASSERT_EQ(*h.tcp().send(s, pattern(100), h.now), 100u);
  expect(kAck | TcpFlags::kPsh, iss + 1, kPeer, 100);
  ASSERT_EQ(h.tcp().info(s)->rto, Duration::millis(200));
  auto sent = run_until_abort(h, s, iss, Duration::millis(100), Duration::seconds(2000));
  ASSERT_EQ(sent.size(), 15u);
  Duration rto = Duration::millis(200), at = Duration::zero();
  for (size_t i = 0; i < sent.size(); ++i) {
    at += rto;
    EXPECT_EQ(sent[i], at) << "retransmission " << i + 1;
    rto = std::min(rto * 2, Duration::seconds(120));
  }
  EXPECT_EQ(h.tcp().state(s), TcpState::kClosed);
  EXPECT_EQ(error(), RecvError::kTimedOut);
  EXPECT_EQ(h.counter("tcp.out_rsts"), 0u);
}

// TCP_USER_TIMEOUT: data unacknowledged for longer than the timeout aborts the
// connection with ETIMEDOUT, long before tcp_retries2 would.
TEST_F(TcpLifecycle, UserTimeoutAbortsUnacknowledgedData) {
  ASSERT_TRUE(h.tcp().set_user_timeout(s, Duration::seconds(5)));
  ASSERT_EQ(*h.tcp().send(s, pattern(100), h.now), 100u);
  expect(kAck | TcpFlags::kPsh, iss + 1, kPeer, 100);
  const Instant start = h.now;
  auto sent = run_until_abort(h, s, iss, Duration::millis(100), Duration::seconds(60));
  EXPECT_EQ(h.tcp().state(s), TcpState::kClosed);
  EXPECT_EQ(error(), RecvError::kTimedOut);
  EXPECT_EQ(h.counter("tcp.user_timeouts"), 1u);
  const Duration took = h.now - start;
  EXPECT_GE(took, Duration::seconds(5));
  // Linux clamps the RTO to the time left and aborts at 5 s from the first
  // unacknowledged transmission; we abort at the first RTO at least 5 s after the
  // first timeout (0.2 + 0.4 + 0.8 + 1.6 + 3.2 = 6.2 s).
  EXPECT_LE(took, Duration::millis(6200));
  EXPECT_LT(sent.size(), 15u);
}

TEST_F(TcpLifecycle, UserTimeoutDoesNotFireWhileDataIsAcknowledged) {
  ASSERT_TRUE(h.tcp().set_user_timeout(s, Duration::seconds(1)));
  ASSERT_TRUE(h.tcp().set_nodelay(s, true, h.now));
  uint32_t acked = 1;
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(*h.tcp().send(s, pattern(10), h.now), 10u);
    h.expect_segment();
    h.advance(Duration::millis(150));  // under the 200 ms RTO
    acked += 10;
    h.inject(h.peer_segment(kAck, kPeer, iss + acked));
  }
  EXPECT_EQ(h.tcp().state(s), TcpState::kEstablished);
  EXPECT_EQ(h.counter("tcp.user_timeouts"), 0u);
}

}  // namespace
}  // namespace joyride::core::testing
