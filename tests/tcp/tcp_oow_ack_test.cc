// Answers to out-of-window and PAWS-rejected segments (RFC 9293 §3.10.7.4 "an
// acknowledgment should be sent in reply", RFC 7323 §5.3), rate-limited as Linux's
// tcp_validate_incoming does through tcp_oow_rate_limited: at most one such ACK per
// tcp_invalid_ratelimit (500 ms) per connection, so two ends that disagree about the
// window cannot keep each other in an ACK loop. Segments that occupy sequence space
// without SYN (data, FIN) are always answered and do not use the budget; a SYN gets a
// challenge ACK instead (RFC 5961 §4.2), limited by its own budget. A passive open not
// yet established (Linux's request socket, tcp_check_req) has the same limit, counted
// apart. The TIME-WAIT side of the rule is in tcp_time_wait_test.cc.
#include <gtest/gtest.h>

#include "tcp_harness.h"

namespace joyride::core::testing {
namespace {

using base::Duration;

constexpr uint32_t kPeerIss = 1000;
constexpr uint32_t kPeer = kPeerIss + 1;
constexpr uint8_t kAck = TcpFlags::kAck;
constexpr uint32_t kTsRecent = 5000;

// An ESTABLISHED connection with timestamps, TS.Recent = kTsRecent, nothing in flight.
struct Conn {
  Conn() {
    l = h.listen(80);
    wire::TcpOptions o;
    o.timestamps = std::pair{kTsRecent - 1, 0u};
    auto [c, i] = h.accept_connection(l, kPeerIss, o);
    s = c;
    iss = i;
  }
  void inject(uint8_t flags, uint32_t seq, uint32_t tsval, size_t payload) {
    auto t = h.peer_segment(flags, seq, (flags & kAck) ? iss + 1 : 0);
    t.options.timestamps = std::pair{tsval, 0u};
    h.inject(t, pattern(payload));
  }
  // Our answer: an ACK of RCV.NXT (nothing was taken in).
  void expect_ack() {
    Seg a = h.expect_segment();
    EXPECT_EQ(a.h.flags, kAck);
    EXPECT_EQ(a.seq().value(), iss + 1);
    EXPECT_EQ(a.ack().value(), kPeer);
  }

  TcpHarness h;
  SocketId l, s;
  uint32_t iss = 0;
};

TEST(TcpOowAck, AnswersAreRateLimitedExceptForDataFinAndSyn) {
  struct Case {
    const char* name;
    uint8_t flags;
    uint32_t seq;
    uint32_t tsval;
    size_t payload;
    const char* skipped;  // the counter a limited answer goes to; nullptr: never limited
    bool challenge;       // answered as a challenge ACK
  };
  const Case cases[] = {
      {"ACK above the window", kAck, kPeer + 1000000, kTsRecent, 0, "tcp.ack_skipped_seq", false},
      {"ACK below RCV.NXT", kAck, kPeer - 10, kTsRecent, 0, "tcp.ack_skipped_seq", false},
      {"PAWS-rejected ACK", kAck, kPeer, kTsRecent - 1, 0, "tcp.ack_skipped_paws", false},
      {"duplicate data", kAck | TcpFlags::kPsh, kPeer - 10, kTsRecent, 10, nullptr, false},
      {"FIN above the window", kAck | TcpFlags::kFin, kPeer + 1000000, kTsRecent, 0, nullptr, false},
      {"PAWS-rejected data", kAck | TcpFlags::kPsh, kPeer, kTsRecent - 1, 10, nullptr, false},
      {"SYN below RCV.NXT", TcpFlags::kSyn, kPeerIss, kTsRecent, 0, nullptr, true},
      {"PAWS-rejected SYN", TcpFlags::kSyn, kPeer, kTsRecent - 1, 0, nullptr, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Conn k;
    auto send = [&] { k.inject(c.flags, c.seq, c.tsval, c.payload); };
    // A burst: at 0, 1 ms, 499 ms; then at 500 ms, the limit's end.
    send();
    k.expect_ack();
    for (Duration step : {Duration::millis(1), Duration::millis(498)}) {
      k.h.advance(step);
      send();
      if (c.skipped == nullptr) k.expect_ack();
      k.h.expect_no_segment();
    }
    if (c.skipped != nullptr) {
      EXPECT_EQ(k.h.counter(c.skipped), 2u);
    }
    EXPECT_EQ(k.h.counter("tcp.ack_skipped_seq") + k.h.counter("tcp.ack_skipped_paws"), c.skipped ? 2u : 0u);
    EXPECT_EQ(k.h.counter("tcp.challenge_acks"), c.challenge ? 3u : 0u);
    k.h.advance(Duration::millis(1));
    send();
    k.expect_ack();
    k.h.expect_no_segment();
    EXPECT_EQ(k.h.tcp().state(k.s), TcpState::kEstablished);
    EXPECT_EQ(k.h.tcp().info(k.s)->bytes_received, 0u);
  }
}

// One budget per connection (Linux last_oow_ack_time), whichever check failed; the
// exempt answers do not use it.
TEST(TcpOowAck, PawsAndWindowShareOneBudgetThatDataDoesNotUse) {
  Conn k;
  k.inject(kAck | TcpFlags::kPsh, kPeer - 10, kTsRecent, 10);  // duplicate data
  k.expect_ack();
  k.inject(kAck, kPeer, kTsRecent - 1, 0);  // PAWS: answered, starts the budget
  k.expect_ack();
  k.h.advance(Duration::millis(100));
  k.inject(kAck, kPeer + 1000000, kTsRecent, 0);  // out of window: within the budget
  k.h.expect_no_segment();
  EXPECT_EQ(k.h.counter("tcp.ack_skipped_seq"), 1u);
  k.inject(kAck | TcpFlags::kPsh, kPeer - 10, kTsRecent, 10);  // data still answered
  k.expect_ack();
  k.h.advance(Duration::millis(400));
  k.inject(kAck, kPeer + 1000000, kTsRecent, 0);
  k.expect_ack();
}

// A passive open in SYN-RECEIVED (Linux: a request socket) limits its answers too, on
// TCPACKSkippedSynRecv.
TEST(TcpOowAck, HalfOpenConnectionsLimitTheirAnswers) {
  TcpHarness h;
  h.listen(80);
  h.inject(h.peer_segment(TcpFlags::kSyn, kPeerIss, 0));
  Seg sa = h.expect_segment();
  ASSERT_TRUE(sa.has(TcpFlags::kSyn | TcpFlags::kAck));
  const uint32_t iss = sa.seq().value();
  auto stray = [&] { h.inject(h.peer_segment(kAck, kPeer + 1000000, iss + 1)); };
  stray();
  Seg a = h.expect_segment();
  EXPECT_EQ(a.h.flags, kAck);
  EXPECT_EQ(a.ack().value(), kPeer);
  h.advance(Duration::millis(1));
  stray();
  h.expect_no_segment();
  EXPECT_EQ(h.counter("tcp.ack_skipped_syn_recv"), 1u);
  // The handshake still completes.
  h.inject(h.peer_segment(kAck, kPeer, iss + 1));
  h.expect_no_segment();
  EXPECT_EQ(h.counter("tcp.passive_opens"), 1u);
}

}  // namespace
}  // namespace joyride::core::testing
