// TIME-WAIT (RFC 9293 §3.6.1, RFC 1337, Linux tcp_timewait_state_process): the pair
// is held for 2MSL (Linux's fixed 60 s), a retransmitted FIN is acknowledged again and
// restarts the wait, a new SYN above RCV.NXT (or with a newer timestamp) reopens the
// pair through the listener, an old one gets an ACK, and an exact RST ends the wait
// early (tcp_rfc1337 = 0).
#include <gtest/gtest.h>

#include "tcp_harness.h"

namespace joyride::core::testing {
namespace {

using base::Duration;

constexpr uint32_t kPeerIss = 1000;
constexpr uint32_t kPeer = kPeerIss + 1;
constexpr uint8_t kAck = TcpFlags::kAck;
constexpr uint8_t kFinAck = TcpFlags::kFin | TcpFlags::kAck;

// A passive connection we close first, driven to TIME_WAIT: RCV.NXT = kPeer + 1,
// SND.NXT = iss + 2. With `ts`, both sides use timestamps and TS.Recent = 5001.
struct TimeWait {
  explicit TimeWait(bool ts = false) {
    l = h.listen(80);
    wire::TcpOptions o;
    if (ts) o.timestamps = std::pair{5000u, 0u};
    auto [c, i] = h.accept_connection(l, kPeerIss, o);
    s = c;
    iss = i;
    h.tcp().close(s, h.now);
    h.expect_segment();  // our FIN
    inject(kFinAck, kPeer, iss + 2, ts ? std::optional<uint32_t>(5002) : std::nullopt);
    Seg a = h.expect_segment();
    EXPECT_EQ(a.h.flags, kAck);
    EXPECT_EQ(h.tcp().state(s), TcpState::kTimeWait);
  }
  void inject(uint8_t flags, uint32_t seq, uint32_t ack, std::optional<uint32_t> tsval = std::nullopt) {
    auto t = h.peer_segment(flags, seq, ack);
    if (tsval) t.options.timestamps = std::pair{*tsval, 0u};
    h.inject(t);
  }
  void expect_tw_ack() {
    Seg a = h.expect_segment();
    EXPECT_EQ(a.h.flags, kAck);
    EXPECT_EQ(a.seq().value(), iss + 2);
    EXPECT_EQ(a.ack().value(), kPeer + 1);
  }
  bool alive() { return h.tcp().state(s) == TcpState::kTimeWait; }

  TcpHarness h;
  SocketId l, s;
  uint32_t iss = 0;
};

TEST(TcpTimeWait, LastsSixtySecondsThenThePairIsFree) {
  TimeWait tw;
  tw.h.advance(Duration::seconds(60) - Duration::millis(1));
  EXPECT_TRUE(tw.alive());
  tw.h.expect_no_segment();
  tw.h.advance(Duration::millis(1));
  EXPECT_FALSE(tw.h.tcp().state(tw.s).has_value());
  // A stray ACK for the old connection now meets the listener, which resets it.
  tw.inject(kAck, kPeer + 1, tw.iss + 2);
  Seg r = tw.h.expect_segment();
  EXPECT_EQ(r.h.flags, TcpFlags::kRst);
}

TEST(TcpTimeWait, RetransmittedFinIsAcknowledgedAndRestartsTheWait) {
  TimeWait tw;
  tw.h.advance(Duration::seconds(30));
  tw.inject(kFinAck, kPeer, tw.iss + 2);  // our ACK of its FIN was lost
  tw.expect_tw_ack();
  tw.h.advance(Duration::seconds(60) - Duration::millis(1));  // 89.999 s after entering
  EXPECT_TRUE(tw.alive());
  tw.h.advance(Duration::millis(1));
  EXPECT_FALSE(tw.h.tcp().state(tw.s).has_value());
}

TEST(TcpTimeWait, OtherSegmentsAreAnsweredWithTheLastAck) {
  TimeWait tw;
  tw.inject(kAck | TcpFlags::kPsh, kPeer + 1, tw.iss + 2);  // acceptable bare ACK: nothing
  tw.h.expect_no_segment();
  tw.inject(kAck, kPeer + 100000, tw.iss + 2);  // out of window
  tw.expect_tw_ack();
  EXPECT_TRUE(tw.alive());
}

// Linux: an exact in-window RST kills TIME_WAIT (tcp_rfc1337 = 0); any other RST is
// ignored.
TEST(TcpTimeWait, ExactRstEndsIt) {
  struct Case {
    const char* name;
    uint32_t seq;
    bool ends;
  };
  const Case cases[] = {
      {"RCV.NXT", kPeer + 1, true},
      {"RCV.NXT+1", kPeer + 2, false},
      {"RCV.NXT-1", kPeer, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TimeWait tw;
    tw.inject(TcpFlags::kRst, c.seq, 0);
    tw.h.expect_no_segment();
    EXPECT_EQ(tw.alive(), !c.ends);
  }
}

// Linux tcp_timewait_state_process: a SYN whose sequence number is above RCV.NXT, or
// whose timestamp is newer than TS.Recent, is a new incarnation; it goes to the
// listener. Otherwise it may be an old duplicate: ACK it.
TEST(TcpTimeWait, NewSynReopensThePairOldSynGetsAnAck) {
  struct Case {
    const char* name;
    bool ts;
    uint32_t seq;
    std::optional<uint32_t> tsval;
    bool reopens;
  };
  const Case cases[] = {
      {"higher seq", false, kPeer + 100000, std::nullopt, true},
      {"seq = RCV.NXT", false, kPeer + 1, std::nullopt, false},
      {"lower seq", false, kPeerIss - 5000, std::nullopt, false},
      {"lower seq, newer TSval", true, kPeerIss - 5000, 6000u, true},
      {"lower seq, same TSval", true, kPeerIss - 5000, 5002u, false},
      // PAWS rejects it (Linux: !paws_reject is a condition), whatever its sequence.
      {"higher seq, older TSval", true, kPeer + 100000, 4000u, false},
      {"higher seq, same TSval", true, kPeer + 100000, 5002u, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TimeWait tw(c.ts);
    auto syn = tw.h.peer_segment(TcpFlags::kSyn, c.seq, 0);
    if (c.tsval) syn.options.timestamps = std::pair{*c.tsval, 0u};
    tw.h.inject(syn);
    Seg r = tw.h.expect_segment();
    if (!c.reopens) {
      EXPECT_EQ(r.h.flags, kAck);
      EXPECT_EQ(r.seq().value(), tw.iss + 2);
      EXPECT_EQ(r.ack().value(), kPeer + 1);
      EXPECT_TRUE(tw.alive());
      EXPECT_EQ(tw.h.counter("tcp.time_wait_recycled"), 0u);
      continue;
    }
    EXPECT_EQ(r.h.flags, TcpFlags::kSyn | kAck);
    EXPECT_EQ(r.ack().value(), c.seq + 1);
    // The new ISN is the old SND.NXT (iss + 2) + 65535 + 2, not a fresh one.
    EXPECT_EQ(r.seq().value(), tw.iss + 2 + 65537);
    EXPECT_EQ(tw.h.counter("tcp.time_wait_recycled"), 1u);
    EXPECT_FALSE(tw.h.tcp().state(tw.s).has_value());
    auto ack = tw.h.peer_segment(kAck, c.seq + 1, r.seq().value() + 1);
    if (c.tsval && r.h.options.timestamps) ack.options.timestamps = std::pair{*c.tsval + 1, r.h.options.timestamps->first};
    tw.h.inject(ack);
    auto child = tw.h.tcp().accept(tw.l);
    ASSERT_TRUE(child.ok());
    EXPECT_EQ(tw.h.tcp().state(*child), TcpState::kEstablished);
  }
}

// The ISN after TIME_WAIT, Linux's old SND.NXT + 65535 + 2, wraps modulo 2^32 and
// skips 0 (tcp_timewait_state_process; tcp_twsk_unique for connect()).
TEST(TcpTimeWait, IsnAfterTimeWaitWrapsAndAvoidsZero) {
  struct Case {
    uint32_t snd_nxt;
    uint32_t isn;
  };
  for (const Case& c : {Case{1000, 66537}, Case{0xFFFFFFFFu, 65536}, Case{0u - 65537u, 1}, Case{0u - 65538u, 0xFFFFFFFFu}}) {
    SCOPED_TRACE(c.snd_nxt);
    EXPECT_EQ(tcp::isn_after_time_wait(c.snd_nxt), c.isn);
  }
}

// connect() taking over a TIME_WAIT pair (Linux tcp_twsk_unique) starts the same way.
TEST(TcpTimeWait, ConnectOverATimeWaitPairStartsAboveTheOldSequence) {
  TimeWait tw;
  tw.h.tcp().close(tw.l, tw.h.now);
  auto s = tw.h.tcp().open();
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(tw.h.tcp().set_reuse_addr(*s, true));
  ASSERT_TRUE(tw.h.tcp().bind(*s, Endpoint{kOurIp, 80}).ok());
  ASSERT_TRUE(tw.h.tcp().connect(*s, Endpoint{kPeerIp, TcpHarness::kPeerPort}, tw.h.now).ok());
  Seg syn = tw.h.expect_segment();
  EXPECT_EQ(syn.h.flags, TcpFlags::kSyn);
  EXPECT_EQ(syn.seq().value(), tw.iss + 2 + 65537);
  EXPECT_EQ(tw.h.counter("tcp.time_wait_recycled"), 1u);
}

}  // namespace
}  // namespace joyride::core::testing
