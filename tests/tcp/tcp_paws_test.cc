// PAWS, protection against wrapped sequence numbers (RFC 7323 §5): a segment whose
// TSval is older than TS.Recent is an old duplicate, dropped and answered with an ACK;
// TS.Recent only moves for a segment that covers Last.ACK.sent (§4.3); an RST is
// exempt (§5.3 R1); a TS.Recent idle for more than 24 days stops being trusted (§5.5).
#include <gtest/gtest.h>

#include "tcp_harness.h"

namespace joyride::core::testing {
namespace {

using base::Duration;

constexpr uint32_t kPeerIss = 1000;
constexpr uint32_t kPeer = kPeerIss + 1;
constexpr uint8_t kAck = TcpFlags::kAck;

// A connection with timestamps whose TS.Recent is `ts_recent` (the final ACK's TSval).
struct PawsConn {
  explicit PawsConn(uint32_t ts_recent) {
    l = h.listen(80);
    wire::TcpOptions o;
    o.timestamps = std::pair{ts_recent - 1, 0u};
    auto [c, i] = h.accept_connection(l, kPeerIss, o);
    s = c;
    iss = i;
  }
  void inject(uint8_t flags, uint32_t seq, uint32_t tsval, std::span<const uint8_t> data = {}) {
    auto t = h.peer_segment(flags, seq, iss + 1);
    t.options.timestamps = std::pair{tsval, 0u};
    h.inject(t, data);
  }
  // The next segment is an ACK for `ack` echoing `tsecr`.
  void expect_ack(uint32_t ack, uint32_t tsecr) {
    Seg a = h.expect_segment();
    EXPECT_EQ(a.h.flags, kAck);
    EXPECT_EQ(a.seq().value(), iss + 1);
    EXPECT_EQ(a.ack().value(), ack);
    ASSERT_TRUE(a.h.options.timestamps.has_value());
    EXPECT_EQ(a.h.options.timestamps->second, tsecr);
  }
  uint64_t received() { return h.tcp().info(s)->bytes_received; }

  TcpHarness h;
  SocketId l, s;
  uint32_t iss = 0;
};

TEST(TcpPaws, OldTsvalIsDroppedWithAnAck) {
  struct Case {
    const char* name;
    uint32_t ts_recent, tsval;
    bool drop;
  };
  const Case cases[] = {
      {"older by one", 5000, 4999, true},
      {"equal", 5000, 5000, false},
      {"newer", 5000, 5001, false},
      {"newer across the wrap", 0xfffffff0u, 5, false},
      {"older across the wrap", 5, 0xfffffff0u, true},
      {"2^31 - 1 ahead", 5000, 5000 + 0x7fffffffu, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    PawsConn p(c.ts_recent);
    p.h.expect_no_segment();
    p.inject(kAck | TcpFlags::kPsh, kPeer, c.tsval, pattern(10));
    EXPECT_EQ(p.h.counter("tcp.drop_paws"), c.drop ? 1u : 0u);
    EXPECT_EQ(p.received(), c.drop ? 0u : 10u);
    if (c.drop) {
      p.expect_ack(kPeer, c.ts_recent);  // the data is not acknowledged; TS.Recent unchanged
    } else {
      p.h.advance(Duration::millis(40));  // delayed ACK
      p.expect_ack(kPeer + 10, c.tsval);
    }
    p.h.expect_no_segment();
  }
}

TEST(TcpPaws, PawsAppliesToPureAcksToo) {
  PawsConn p(5000);
  p.inject(kAck, kPeer, 4000);
  p.expect_ack(kPeer, 5000);
  EXPECT_EQ(p.h.counter("tcp.drop_paws"), 1u);
}

// RFC 7323 §5.3 R1: PAWS does not apply to an RST (its timestamp may be absent or
// stale); RFC 5961 still asks it to be exact.
TEST(TcpPaws, RstIsExempt) {
  PawsConn p(5000);
  p.inject(TcpFlags::kRst, kPeer, 1);
  p.h.expect_no_segment();
  EXPECT_EQ(p.h.counter("tcp.drop_paws"), 0u);
  EXPECT_EQ(p.h.tcp().state(p.s), TcpState::kClosed);
  std::array<uint8_t, 4> b{};
  EXPECT_EQ(p.h.tcp().recv(p.s, b, p.h.now).error(), RecvError::kConnectionReset);
}

// RFC 7323 §4.3: TS.Recent takes SEG.TSval only when SEG.SEQ <= Last.ACK.sent, so a
// delayed ACK echoes the earliest unacknowledged segment's timestamp (the RTT the
// sender measures includes the delay), and an out-of-order segment changes nothing.
TEST(TcpPaws, TsRecentFollowsOnlySegmentsCoveringLastAckSent) {
  PawsConn p(5000);
  p.inject(kAck | TcpFlags::kPsh, kPeer, 6000, pattern(10));       // seq = Last.ACK.sent
  p.inject(kAck | TcpFlags::kPsh, kPeer + 10, 7000, pattern(10));  // seq > Last.ACK.sent
  p.h.expect_no_segment();
  p.h.advance(Duration::millis(40));
  p.expect_ack(kPeer + 20, 6000);
  // Now Last.ACK.sent = kPeer + 20. An out-of-order segment (a hole before it) is
  // acknowledged at once, echoing the unchanged TS.Recent.
  p.inject(kAck | TcpFlags::kPsh, kPeer + 30, 8000, pattern(10));
  p.expect_ack(kPeer + 20, 6000);
  // The segment filling the hole covers Last.ACK.sent: its TSval is taken.
  p.inject(kAck | TcpFlags::kPsh, kPeer + 20, 7500, pattern(10));
  p.expect_ack(kPeer + 40, 7500);
  EXPECT_EQ(p.received(), 40u);
}

// RFC 7323 §5.5: after 24 days idle TS.Recent is invalid; the old TSval is taken.
TEST(TcpPaws, TsRecentIdleForMoreThan24DaysIsNotTrusted) {
  PawsConn p(0x90000000u);
  p.h.advance(Duration::seconds(24 * 24 * 3600 + 1));
  while (p.h.pop_segment()) {
  }
  p.inject(kAck | TcpFlags::kPsh, kPeer, 0x10000000u, pattern(10));
  EXPECT_EQ(p.h.counter("tcp.drop_paws"), 0u);
  EXPECT_EQ(p.received(), 10u);
  p.h.advance(Duration::millis(40));
  p.expect_ack(kPeer + 10, 0x10000000u);
}

}  // namespace
}  // namespace joyride::core::testing
