// How an idle or unresponsive connection ends: keepalive (RFC 1122 §4.2.3.6 with
// Linux's TCP_KEEPIDLE/KEEPINTVL/KEEPCNT: probe SEG.SEQ = SND.NXT - 1 without data,
// an answer starts the idle period again, unanswered probes abort with ETIMEDOUT and
// an RST), TCP_USER_TIMEOUT (RFC 5482) and tcp_retries2 aborting a connection whose
// data is never acknowledged. SO_LINGER is in tcp_close_test.cc.
#include <gtest/gtest.h>

#include <string>
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

// TCP_USER_TIMEOUT (Linux retransmits_timed_out + tcp_clamp_rto_to_user_timeout): data
// unacknowledged for the timeout, counted from its original transmission, aborts the
// connection with ETIMEDOUT and no RST at exactly that time: the backed-off RTO is
// clamped to what is left. The first timeout always retransmits.
struct UserTimeoutCase {
  int timeout_ms;
  std::vector<int> retransmits_ms;  // after the original transmission at 0
  int abort_ms;
};

class TcpUserTimeout : public BareConnTest, public ::testing::WithParamInterface<UserTimeoutCase> {};

TEST_P(TcpUserTimeout, AbortsAtTheTimeoutNotAtTheNextBackoff) {
  const UserTimeoutCase& k = GetParam();
  ASSERT_TRUE(h.tcp().set_user_timeout(s, Duration::millis(k.timeout_ms)));
  ASSERT_EQ(*h.tcp().send(s, pattern(100), h.now), 100u);
  expect(kAck | TcpFlags::kPsh, iss + 1, kPeer, 100);
  const Instant start = h.now;
  auto sent = run_until_abort(h, s, iss, Duration::millis(1), Duration::seconds(60));
  std::vector<int> sent_ms;
  for (Duration d : sent) sent_ms.push_back(static_cast<int>(d.as_nanos() / 1'000'000));
  EXPECT_EQ(sent_ms, k.retransmits_ms);
  EXPECT_EQ(h.now - start, Duration::millis(k.abort_ms));
  EXPECT_EQ(h.tcp().state(s), TcpState::kClosed);
  std::array<uint8_t, 4> b{};
  auto r = h.tcp().recv(s, b, h.now);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), RecvError::kTimedOut);
  EXPECT_EQ(h.counter("tcp.user_timeouts"), 1u);
  EXPECT_EQ(h.counter("tcp.out_rsts"), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Timeouts, TcpUserTimeout,
    ::testing::Values(
        // RTO 200 ms doubling: 0.2 0.6 1.4 3.0, then 6.2 is clamped to 5.0.
        UserTimeoutCase{5000, {200, 600, 1400, 3000}, 5000},
        UserTimeoutCase{1000, {200, 600}, 1000},
        // Expires exactly at a backed-off deadline: no retransmission then.
        UserTimeoutCase{3000, {200, 600, 1400}, 3000},
        // Shorter than the first RTO: that one still retransmits, the next tick aborts.
        UserTimeoutCase{100, {200}, 201}),
    [](const auto& i) { return "ms" + std::to_string(i.param.timeout_ms); });

TEST_F(TcpLifecycle, UserTimeoutCountsFromTheOldestUnacknowledgedOriginalSend) {
  ASSERT_TRUE(h.tcp().set_user_timeout(s, Duration::seconds(5)));
  ASSERT_TRUE(h.tcp().set_nodelay(s, true, h.now));
  ASSERT_EQ(*h.tcp().send(s, pattern(100), h.now), 100u);
  expect(kAck | TcpFlags::kPsh, iss + 1, kPeer, 100);
  h.advance(Duration::millis(100));
  h.inject(h.peer_segment(kAck, kPeer, iss + 101));
  // Two seconds later a second segment goes and is never acknowledged: the clock
  // starts with it, not with the connection's first data.
  h.advance(Duration::millis(1900));
  ASSERT_EQ(*h.tcp().send(s, pattern(100), h.now), 100u);
  expect(kAck | TcpFlags::kPsh, iss + 101, kPeer, 100);
  const Instant start = h.now;
  while (h.tcp().state(s) == TcpState::kEstablished && h.now - start < Duration::seconds(60)) {
    h.advance(Duration::millis(1));
    while (h.pop_segment()) {
    }
  }
  EXPECT_EQ(h.now - start, Duration::seconds(5));
  EXPECT_EQ(h.counter("tcp.user_timeouts"), 1u);
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


// ---- zero-window probing: when it gives up (Linux tcp_probe_timer) -------------------

// The peer closes its window; the application then queues data (and may close).
class TcpZeroWindow : public BareConnTest {
 protected:
  void stall() {
    h.inject(h.peer_segment(kAck, kPeer, iss + 1, 80, 0));
    ASSERT_EQ(*h.tcp().send(s, pattern(100), h.now), 100u);
    h.expect_no_segment();
  }
  // Runs until the connection is gone or `limit`; returns the times of the probes
  // (relative to the stall), answering each with a zero window when `answer`.
  std::vector<Duration> probe(bool answer, Duration step, Duration limit) {
    std::vector<Duration> probes;
    const Instant start = h.now;
    const size_t conns = h.tcp().connections();
    while (h.tcp().connections() == conns && h.tcp().state(s) != TcpState::kClosed && h.now - start < limit) {
      h.advance(step);
      while (auto p = h.pop_segment()) {
        EXPECT_EQ(p->seq().value(), iss) << "a zero-window probe: SND.UNA - 1, no data";
        EXPECT_TRUE(p->payload.empty());
        probes.push_back(h.now - start);
        if (answer) h.inject(h.peer_segment(kAck, kPeer, iss + 1, 80, 0));
      }
    }
    return probes;
  }
};

struct ProbeLimitCase {
  const char* name;
  bool orphan;
  bool answer;
  uint32_t retries2;
  uint32_t orphan_retries;
  size_t probes;  // sent before giving up; 0: never gives up
};

// A fixture whose harness takes the case's sysctls.
class TcpProbeLimit : public ::testing::TestWithParam<ProbeLimitCase> {};

TEST_P(TcpProbeLimit, GivesUpAfterTheRetriesForItsKind) {
  const ProbeLimitCase& k = GetParam();
  HarnessOptions o;
  o.configure = [&](StackConfig& c) {
    c.tcp.retries2 = k.retries2;
    c.tcp.orphan_retries = k.orphan_retries;
  };
  TcpHarness h(o);
  const SocketId l = h.listen(80);
  auto [s, iss] = h.accept_connection(l, kPeerIss, wire::TcpOptions{});
  h.inject(h.peer_segment(kAck, kPeer, iss + 1, 80, 0));
  ASSERT_EQ(*h.tcp().send(s, pattern(100), h.now), 100u);
  h.expect_no_segment();
  const size_t conns = h.tcp().connections();
  if (k.orphan) {
    h.tcp().close(s, h.now);  // graceful: the FIN waits behind the data
    h.expect_no_segment();
    EXPECT_EQ(h.tcp().connections(), conns);
  }
  size_t probes = 0;
  const Instant start = h.now;
  auto alive = [&] {
    return k.orphan ? h.tcp().connections() == conns : h.tcp().state(s) == TcpState::kEstablished;
  };
  while (alive() && h.now - start < Duration::seconds(3600)) {
    h.advance(Duration::millis(10));
    while (auto p = h.pop_segment()) {
      EXPECT_EQ(p->seq().value(), iss) << "a zero-window probe: SND.UNA - 1, no data";
      EXPECT_TRUE(p->payload.empty());
      ++probes;
      if (k.answer) h.inject(h.peer_segment(kAck, kPeer, iss + 1, 80, 0));
    }
  }
  if (k.probes == 0) {
    EXPECT_TRUE(alive()) << "RFC 1122 §4.2.2.17: probing goes on while the peer answers";
    EXPECT_GT(probes, 20u);
    EXPECT_EQ(h.counter("tcp.probe_timeouts"), 0u);
    return;
  }
  EXPECT_FALSE(alive());
  EXPECT_EQ(probes, k.probes);
  EXPECT_EQ(h.counter("tcp.probe_timeouts"), 1u);
  EXPECT_EQ(h.counter("tcp.out_rsts"), 0u);  // tcp_write_err: no RST
  if (!k.orphan) {
    std::array<uint8_t, 4> b{};
    auto r = h.tcp().recv(s, b, h.now);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), RecvError::kTimedOut);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, TcpProbeLimit,
    ::testing::Values(
        // Unanswered probes: tcp_retries2 for an open socket, tcp_orphan_retries for an orphan.
        ProbeLimitCase{"OpenUnanswered", false, false, 3, 8, 3},
        ProbeLimitCase{"OrphanUnanswered", true, false, 15, 2, 2},
        // Answered probes: an open socket probes forever; an orphan gives up once its
        // backoff reaches TCP_RTO_MAX (200 ms << 10 > 120 s) beyond its retries.
        ProbeLimitCase{"OpenAnswered", false, true, 3, 8, 0},
        ProbeLimitCase{"OrphanAnswered", true, true, 15, 8, 10}),
    [](const auto& i) { return std::string(i.param.name); });

// TCP_USER_TIMEOUT bounds zero-window probing too, from the first probe, even while the
// peer answers each one (Linux icsk_probes_tstamp), and the probe timer is clamped.
TEST_F(TcpZeroWindow, UserTimeoutEndsProbingFromTheFirstProbe) {
  ASSERT_TRUE(h.tcp().set_user_timeout(s, Duration::seconds(2)));
  stall();
  const Instant start = h.now;
  auto probes = probe(true, Duration::millis(1), Duration::seconds(60));
  // Probes at 0.2 (the clock starts), 0.6, 1.4; the next (3.0) is clamped to 2.2.
  EXPECT_EQ(h.now - start, Duration::millis(2200));
  EXPECT_EQ(probes, (std::vector<Duration>{Duration::millis(200), Duration::millis(600), Duration::millis(1400)}));
  EXPECT_EQ(h.tcp().state(s), TcpState::kClosed);
  EXPECT_EQ(h.counter("tcp.user_timeouts"), 1u);
  EXPECT_EQ(h.counter("tcp.probe_timeouts"), 0u);
}

TEST_F(TcpZeroWindow, AWindowUpdateRestartsTheUserTimeoutClock) {
  ASSERT_TRUE(h.tcp().set_user_timeout(s, Duration::seconds(2)));
  stall();
  EXPECT_EQ(probe(true, Duration::millis(1), Duration::millis(1500)).size(), 3u);
  // The window opens for the 100 bytes, which are acknowledged, then closes again.
  h.inject(h.peer_segment(kAck, kPeer, iss + 1, 80, 1000));
  expect(kAck | TcpFlags::kPsh, iss + 1, kPeer, 100);
  h.inject(h.peer_segment(kAck, kPeer, iss + 101, 80, 0));
  ASSERT_EQ(*h.tcp().send(s, pattern(100), h.now), 100u);
  h.expect_no_segment();
  // A fresh stall: probes at 0.2, 0.6, 1.4 and the abort 2 s after the first.
  const Instant start = h.now;
  size_t probes = 0;
  while (h.tcp().state(s) == TcpState::kEstablished && h.now - start < Duration::seconds(60)) {
    h.advance(Duration::millis(1));
    while (h.pop_segment()) {
      ++probes;
      h.inject(h.peer_segment(kAck, kPeer, iss + 101, 80, 0));
    }
  }
  EXPECT_EQ(probes, 3u);
  EXPECT_EQ(h.now - start, Duration::millis(2200));
  EXPECT_EQ(h.counter("tcp.user_timeouts"), 1u);
}

}  // namespace
}  // namespace joyride::core::testing
