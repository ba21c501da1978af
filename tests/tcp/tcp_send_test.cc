// The sending half of data transfer, segment by segment: Nagle (RFC 896, RFC 1122
// §4.2.3.4) and TCP_NODELAY, TCP_CORK, sender-side silly window avoidance (RFC 9293
// §3.8.6.2.1), the peer's zero window and the persist timer (§3.8.6.1), the initial
// window of 10 segments (RFC 6928) and slow-start growth with appropriate byte
// counting (RFC 3465), and limited transmit (RFC 3042).
#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "tcp_conn.h"

namespace joyride::core::testing {
namespace {

using base::Duration;
using base::SeqNum;


using Blocks = std::vector<std::pair<uint32_t, uint32_t>>;

// Linux tcp_current_mss: "Account for SACKS, we may need to fit them in the MSS": the
// payload of a segment shrinks by the option bytes of the SACK blocks it carries
// (tcp_established_options: TCPOLEN_SACK_BASE_ALIGNED 4 + 8 per block), so a full data
// segment sent while we hold out-of-order data is still exactly the 1500-byte MTU,
// never more: 1460 - 12 with one block and no timestamps; with timestamps (MSS 1448)
// and three blocks, 1448 - 28.
TEST(TcpSend, DataCarryingSackBlocksStillFitsTheMtu) {
  struct Case {
    bool ts;
    Blocks ooo;  // the peer's data we hold out of order (offsets)
    uint32_t payload;
  };
  const Case cases[] = {
      {false, {{1000, 1100}}, 1460 - 12},
      {true, {{1000, 1100}, {2000, 2100}, {3000, 3100}}, 1448 - 28},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(::testing::Message() << (k.ts ? "timestamps, " : "") << k.ooo.size() << " block(s)");
    Conn c(ConnOptions{.ts = k.ts});
    for (auto [l, r] : k.ooo) {
      c.data(l, r - l);
      c.expect_ack(0);
    }
    c.send(3 * k.payload);
    uint32_t off = 0;
    while (auto g = c.h.pop_segment()) {
      ASSERT_FALSE(g->payload.empty());
      EXPECT_EQ(g->seq(), c.us(off));
      EXPECT_EQ(g->h.options.sacks().size(), k.ooo.size());
      EXPECT_LE(20u + g->h.header_len + g->payload.size(), 1500u);
      EXPECT_EQ(g->payload.size(), k.payload);
      off += static_cast<uint32_t>(g->payload.size());
    }
    EXPECT_EQ(off, 3 * k.payload);
  }
}

TEST(TcpSend, NagleHoldsASmallSegmentWhileDataIsUnacknowledged) {
  Conn c;
  c.send(100);
  Seg first = c.expect_data(0, 100);
  EXPECT_TRUE(first.has(TcpFlags::kPsh));
  c.send(100);
  c.send(100);
  c.h.expect_no_segment();  // 100 bytes outstanding: the runts wait
  c.h.advance(Duration::millis(10));
  c.h.expect_no_segment();
  c.ack(100);
  c.expect_data(100, 200);  // both coalesced in one segment
  c.h.expect_no_segment();
}

TEST(TcpSend, NagleNeverHoldsAFullSegment) {
  Conn c;
  c.send(100);
  c.expect_data(0, 100);
  c.send(kMss + 50);
  c.expect_data(100, kMss);  // a full segment goes despite the outstanding runt
  c.h.expect_no_segment();   // the 50-byte tail waits
  c.ack(100 + kMss);
  c.expect_data(100 + kMss, 50);
}

TEST(TcpSend, NodelaySendsSmallSegmentsAtOnce) {
  Conn c;
  ASSERT_TRUE(c.h.tcp().set_nodelay(c.s, true, c.h.now));
  for (uint32_t i = 0; i < 3; ++i) {
    c.send(100);
    c.expect_data(i * 100, 100);
  }
  // Turning NODELAY on pushes what Nagle held.
  Conn d;
  d.send(100);
  d.expect_data(0, 100);
  d.send(100);
  d.h.expect_no_segment();
  ASSERT_TRUE(d.h.tcp().set_nodelay(d.s, true, d.h.now));
  d.expect_data(100, 100);
}

TEST(TcpSend, CorkHoldsPartialSegmentsUntilFullOrUncorked) {
  Conn c;
  ASSERT_TRUE(c.h.tcp().set_cork(c.s, true, c.h.now));
  c.send(100);
  c.h.expect_no_segment();  // corked, even with nothing in flight
  c.h.advance(Duration::millis(100));
  c.h.expect_no_segment();
  c.send(kMss);  // 1560 queued: one full segment goes, 100 stay
  c.expect_data(0, kMss);
  c.h.expect_no_segment();
  c.ack(kMss);
  c.h.expect_no_segment();  // still corked
  ASSERT_TRUE(c.h.tcp().set_cork(c.s, false, c.h.now));
  Seg tail = c.expect_data(kMss, 100);
  EXPECT_TRUE(tail.has(TcpFlags::kPsh));
}

TEST(TcpSend, SenderAvoidsSillyWindowsUntilThePersistTimer) {
  // RFC 9293 §3.8.6.2.1: with data waiting, send only when a full segment fits or at
  // least half the largest window the peer offered; the persist timer then sends what
  // fits (Linux tcp_write_wakeup).
  Conn c;
  c.send(20000);
  for (uint32_t i = 0; i < 10; ++i) c.expect_data(i * kMss, kMss);
  c.peer_wnd = 1000;  // the peer's buffer is nearly full: 1000 bytes beyond the ACK
  c.ack(10 * kMss);
  c.h.expect_no_segment();  // 1000 < min(MSS, 65535/2)
  const Duration rto = c.info().rto;
  EXPECT_EQ(rto, Duration::millis(200));
  c.h.advance(rto - Duration::millis(1));
  c.h.expect_no_segment();
  c.h.advance(Duration::millis(1));
  c.expect_data(10 * kMss, 1000);
  EXPECT_EQ(c.h.counter("tcp.zero_window_probes"), 1u);
  // A window of half the maximum offered is worth sending into at once.
  c.peer_wnd = 32768;
  c.ack(10 * kMss + 1000);
  c.expect_data(10 * kMss + 1000, kMss);
}

TEST(TcpSend, ZeroWindowIsProbedWithBackoffAndSendingResumesWhenItOpens) {
  Conn c;
  c.send(3 * kMss);
  for (uint32_t i = 0; i < 3; ++i) c.expect_data(i * kMss, kMss);
  c.peer_wnd = 0;
  c.ack(3 * kMss);
  c.send(5000);
  c.h.expect_no_segment();
  // Probes: a segment below SND.UNA without data, which the peer must answer, at the
  // RTO then doubling (RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17; Linux tcp_probe_timer).
  Duration gap = Duration::millis(200);
  for (uint32_t i = 1; i <= 4; ++i) {
    c.h.advance(gap - Duration::millis(1));
    c.h.expect_no_segment();
    c.h.advance(Duration::millis(1));
    Seg p = c.expect();
    EXPECT_EQ(p.seq(), c.us(3 * kMss - 1)) << "probe " << i;
    EXPECT_TRUE(p.payload.empty());
    EXPECT_EQ(c.h.counter("tcp.zero_window_probes"), i);
    c.ack(3 * kMss);  // the peer answers, window still zero
    c.h.expect_no_segment();
    gap = gap * 2;
  }
  EXPECT_EQ(c.h.tcp().state(c.s), TcpState::kEstablished);
  // The window opens: the queued data goes at once and the probing stops.
  c.peer_wnd = 65535;
  c.ack(3 * kMss);
  for (uint32_t i = 3; i < 6; ++i) c.expect_data(i * kMss, kMss);
  c.h.expect_no_segment();  // the 620-byte tail waits for the ACK (Nagle)
  c.ack(6 * kMss);
  c.expect_data(6 * kMss, 5000 - 3 * kMss);
  c.ack(3 * kMss + 5000);
  c.h.advance(Duration::seconds(10));
  c.h.expect_no_segment();
  EXPECT_EQ(c.h.counter("tcp.zero_window_probes"), 4u);
}

TEST(TcpSend, InitialWindowIsTenSegmentsThenSlowStartGrowsPerAck) {
  // RFC 6928 / Linux: 10 segments. RFC 3465: slow start grows by the bytes each ACK
  // delivers, at most 2 segments per ACK (L = 2).
  for (const char* cc : {"newreno", "cubic"}) {
    SCOPED_TRACE(cc);
    Conn c(ConnOptions{.cc = cc});
    EXPECT_EQ(c.info().cwnd, 10 * kMss);
    EXPECT_EQ(c.info().ssthresh, UINT32_MAX);
    c.send(60000);
    for (uint32_t i = 0; i < 10; ++i) c.expect_data(i * kMss, kMss);
    c.h.expect_no_segment();  // cwnd full
    EXPECT_EQ(c.info().unacked, 10 * kMss);
    // One segment acknowledged: cwnd 11, 9 in flight -> 2 new segments.
    c.ack(kMss);
    EXPECT_EQ(c.info().cwnd, 11 * kMss);
    c.expect_data(10 * kMss, kMss);
    c.expect_data(11 * kMss, kMss);
    c.h.expect_no_segment();
    // Two acknowledged by one ACK: cwnd 13, 9 in flight -> 4 new segments.
    c.ack(3 * kMss);
    EXPECT_EQ(c.info().cwnd, 13 * kMss);
    for (uint32_t i = 12; i < 16; ++i) c.expect_data(i * kMss, kMss);
    c.h.expect_no_segment();
    // A stretch ACK of 4 segments grows by 2 only (ABC limit): cwnd 15, 9 in flight.
    c.ack(7 * kMss);
    EXPECT_EQ(c.info().cwnd, 15 * kMss);
    for (uint32_t i = 16; i < 22; ++i) c.expect_data(i * kMss, kMss);
    c.h.expect_no_segment();
  }
}

TEST(TcpSend, ApplicationLimitedAcksDoNotGrowTheWindow) {
  // RFC 7661 / Linux tcp_is_cwnd_limited: a window the sender did not use is not grown.
  Conn c(ConnOptions{.cc = "newreno"});
  c.send(kMss);
  c.expect_data(0, kMss);
  c.ack(kMss);
  EXPECT_EQ(c.info().cwnd, 10 * kMss);
}

TEST(TcpSend, PeerWindowLimitedAcksDoNotGrowTheWindow) {
  // RFC 7661 / Linux tcp_is_cwnd_limited: a bulk sender held back by the peer's window
  // (4 segments, cwnd 10) keeps cwnd where it is, however many ACKs come: a window
  // grown without being used would go out as one burst when the peer's window opens.
  for (const char* cc : {"newreno", "cubic"}) {
    SCOPED_TRACE(cc);
    Conn c(ConnOptions{.cc = cc});
    c.peer_wnd = 4 * kMss;
    c.ack(0);
    c.send(40 * kMss);
    uint32_t next = 0;
    for (int round = 0; round < 40; ++round) {
      for (uint32_t i = 0; i < 4; ++i) c.expect_data((next + i) * kMss, kMss);
      c.h.expect_no_segment();
      next += 4;
      c.ack(next * kMss);
      EXPECT_EQ(c.send(4 * kMss), 4 * kMss);  // the application keeps the buffer full
    }
    EXPECT_EQ(c.info().cwnd, 10 * kMss);
    // The window opens wide: cwnd, not the peer, is the limit again, so it grows.
    c.peer_wnd = 65535;
    c.ack(next * kMss);
    for (uint32_t i = 0; i < 10; ++i) c.expect_data((next + i) * kMss, kMss);
    c.h.expect_no_segment();
    c.ack((next + 10) * kMss);
    EXPECT_EQ(c.info().cwnd, 12 * kMss);
  }
}

TEST(TcpSend, SlowStartGrowsWhileHalfTheWindowIsInUse) {
  // Linux tcp_is_cwnd_limited: in slow start a window counts as used while cwnd is
  // under twice the most that was in flight (6 of 10 segments here), so a sender
  // that the application feeds in bursts still doubles it each round.
  Conn c(ConnOptions{.cc = "newreno"});
  c.send(6 * kMss);
  for (uint32_t i = 0; i < 6; ++i) c.expect_data(i * kMss, kMss);
  c.ack(2 * kMss);
  EXPECT_EQ(c.info().cwnd, 12 * kMss);
  // 12 is no longer under twice the 6 in flight: the next ACK does not grow it.
  c.ack(4 * kMss);
  EXPECT_EQ(c.info().cwnd, 12 * kMss);
}

// RFC 3042: each of the first two duplicate ACKs lets one new segment out beyond cwnd.
TEST(TcpSend, LimitedTransmitSendsOneNewSegmentPerEarlyDupack) {
  Conn c(ConnOptions{.sack = false, .cc = "newreno"});
  c.send(20 * kMss);
  for (uint32_t i = 0; i < 10; ++i) c.expect_data(i * kMss, kMss);
  c.h.expect_no_segment();
  c.ack(0);  // first dupack (segment 0 lost)
  c.expect_data(10 * kMss, kMss);
  c.h.expect_no_segment();
  c.ack(0);  // second
  c.expect_data(11 * kMss, kMss);
  c.h.expect_no_segment();
  c.ack(0);  // third: fast retransmit, not new data
  c.expect_data(0, kMss);
}

}  // namespace
}  // namespace joyride::core::testing
