// TIME-WAIT (RFC 9293 §3.6.1, RFC 1337, Linux tcp_timewait_state_process): the pair
// is held for 2MSL (Linux's fixed 60 s); a bare ACK at RCV.NXT restarts the wait
// silently, anything else but an RST is answered with the last ACK, and restarts the
// wait when it carries ACK or is a PAWS reject; a new SYN above RCV.NXT (or with a
// newer timestamp) reopens the pair through the listener, and an exact RST ends the
// wait early (tcp_rfc1337 = 0). connect() takes over a TIME-WAIT pair as Linux's
// tcp_twsk_unique allows: only after timestamps, for an ephemeral port only as
// tcp_tw_reuse says (default: loopback only). The ACKs it answers with are rate-limited
// as Linux's tcp_timewait_check_oow_rate_limit: one per tcp_invalid_ratelimit
// (500 ms), except for a segment that occupies sequence space without SYN (data, a
// retransmitted FIN) and for a new SYN no listener takes.
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

// Linux tcp_timewait_state_process: "In this case we must reset the TIMEWAIT timer"
// for a PAWS reject or a segment with ACK; a bare ACK exactly at RCV.NXT restarts it
// too, unanswered. An ACK-less segment outside (an old SYN, a FIN without ACK) is
// answered but does not restart it, nor does an RST that does not end it.
TEST(TcpTimeWait, WhichSegmentsRestartTheWait) {
  struct Case {
    const char* name;
    bool ts;
    uint8_t flags;
    uint32_t seq;
    std::optional<uint32_t> tsval;
    size_t payload;
    bool acked;
    bool restarts;
  };
  const Case cases[] = {
      {"bare ACK at RCV.NXT", false, kAck, kPeer + 1, std::nullopt, 0, false, true},
      {"bare ACK at RCV.NXT, newer TSval", true, kAck, kPeer + 1, 6000u, 0, false, true},
      {"ACK out of window", false, kAck, kPeer + 100000, std::nullopt, 0, true, true},
      {"ACK below RCV.NXT", false, kAck, kPeer - 10, std::nullopt, 0, true, true},
      {"data with ACK at RCV.NXT", false, kAck | TcpFlags::kPsh, kPeer + 1, std::nullopt, 10, true, true},
      {"retransmitted FIN+ACK", false, kFinAck, kPeer, std::nullopt, 0, true, true},
      {"FIN without ACK", false, TcpFlags::kFin, kPeer, std::nullopt, 0, true, false},
      {"old SYN", false, TcpFlags::kSyn, kPeerIss - 5000, std::nullopt, 0, true, false},
      {"SYN+ACK", false, TcpFlags::kSyn | kAck, kPeer + 100000, std::nullopt, 0, true, true},
      {"PAWS-rejected ACK at RCV.NXT", true, kAck, kPeer + 1, 4000u, 0, true, true},
      {"PAWS-rejected SYN", true, TcpFlags::kSyn, kPeer + 100000, 4000u, 0, true, true},
      {"RST out of window", false, TcpFlags::kRst, kPeer + 2, std::nullopt, 0, false, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TimeWait tw(c.ts);
    tw.h.advance(Duration::seconds(30));
    auto seg = tw.h.peer_segment(c.flags, c.seq, (c.flags & kAck) ? tw.iss + 2 : 0);
    if (c.tsval) seg.options.timestamps = std::pair{*c.tsval, 0u};
    const Bytes data = pattern(c.payload);
    tw.h.inject(seg, data);
    if (c.acked) {
      tw.expect_tw_ack();
    }
    tw.h.expect_no_segment();
    EXPECT_EQ(tw.h.counter("tcp.drop_paws"), c.tsval && *c.tsval < 5002 ? 1u : 0u);
    tw.h.advance(Duration::seconds(30) - Duration::millis(1));
    ASSERT_TRUE(tw.alive());
    tw.h.advance(Duration::millis(1));  // 60 s after entering
    EXPECT_EQ(tw.alive(), c.restarts);
    if (!c.restarts) continue;
    tw.h.advance(Duration::seconds(30) - Duration::millis(1));  // 60 s after the segment
    EXPECT_TRUE(tw.alive());
    tw.h.advance(Duration::millis(1));
    EXPECT_FALSE(tw.h.tcp().state(tw.s).has_value());
  }
}

// A segment in window (a bare ACK at RCV.NXT) updates TS.Recent (Linux stores
// tw_ts_recent), so a SYN whose timestamp is newer than the old TS.Recent but not
// than that one is a PAWS reject: answered, not a new incarnation.
TEST(TcpTimeWait, InWindowAckUpdatesTsRecent) {
  TimeWait tw(true);
  auto ack = tw.h.peer_segment(kAck, kPeer + 1, tw.iss + 2);
  ack.options.timestamps = std::pair{7000u, 0u};
  tw.h.inject(ack);
  tw.h.expect_no_segment();
  auto syn = tw.h.peer_segment(TcpFlags::kSyn, kPeer + 100000, 0);
  syn.options.timestamps = std::pair{6000u, 0u};  // newer than 5002, older than 7000
  tw.h.inject(syn);
  tw.expect_tw_ack();
  EXPECT_TRUE(tw.alive());
  EXPECT_EQ(tw.h.counter("tcp.time_wait_recycled"), 0u);
  EXPECT_EQ(tw.h.counter("tcp.drop_paws"), 1u);
}

// connect() from a port the application bound (SO_REUSEADDR) onto a TIME_WAIT pair:
// Linux's tcp_twsk_unique (called without twp) takes it over only when the old
// connection had timestamps, whatever tcp_tw_reuse says; the SYN then starts above
// the old sequence numbers and echoes the old TS.Recent. Without timestamps the
// tuple is taken: EADDRNOTAVAIL.
TEST(TcpTimeWait, ConnectFromABoundPortTakesOverOnlyWithTimestamps) {
  for (bool ts : {false, true}) {
    SCOPED_TRACE(ts ? "timestamps" : "no timestamps");
    TimeWait tw(ts);
    tw.h.tcp().close(tw.l, tw.h.now);
    auto s = tw.h.tcp().open();
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(tw.h.tcp().set_reuse_addr(*s, true));
    ASSERT_TRUE(tw.h.tcp().bind(*s, Endpoint{kOurIp, 80}).ok());
    auto r = tw.h.tcp().connect(*s, Endpoint{kPeerIp, TcpHarness::kPeerPort}, tw.h.now);
    if (!ts) {
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error(), ConnectError::kAddressInUse);
      tw.h.expect_no_segment();
      EXPECT_TRUE(tw.alive());
      EXPECT_EQ(tw.h.counter("tcp.time_wait_recycled"), 0u);
      continue;
    }
    ASSERT_TRUE(r.ok());
    Seg syn = tw.h.expect_segment();
    EXPECT_EQ(syn.h.flags, TcpFlags::kSyn);
    EXPECT_EQ(syn.seq().value(), tw.iss + 2 + 65537);
    ASSERT_TRUE(syn.h.options.timestamps.has_value());
    EXPECT_EQ(syn.h.options.timestamps->second, 5002u);  // the old TS.Recent
    EXPECT_EQ(tw.h.counter("tcp.time_wait_recycled"), 1u);
    EXPECT_FALSE(tw.h.tcp().state(tw.s).has_value());
    EXPECT_EQ(tw.h.tcp().state(*s), TcpState::kSynSent);
  }
}

// An active connection from the one ephemeral port there is (50000) to the peer,
// closed by us first and so in TIME_WAIT. The peer's TS.Recent is 5002 (with `ts`),
// stored at the handshake's end.
struct ActiveTimeWait {
  static constexpr uint16_t kPort = 50000;

  ActiveTimeWait(bool ts, uint8_t tw_reuse)
      : h(HarnessOptions{.configure = [tw_reuse](StackConfig& c) {
          c.tcp.ephemeral_low = c.tcp.ephemeral_high = kPort;
          c.tcp.tw_reuse = tw_reuse;
        }}) {
    auto sock = h.tcp().open();
    EXPECT_TRUE(sock.ok());
    s = *sock;
    EXPECT_TRUE(h.tcp().connect(s, Endpoint{kPeerIp, TcpHarness::kPeerPort}, h.now).ok());
    Seg syn = h.expect_segment();
    EXPECT_EQ(syn.h.src_port, kPort);
    iss = syn.seq().value();
    auto sa = h.peer_segment(TcpFlags::kSyn | kAck, kPeerIss, iss + 1, kPort);
    sa.options.mss = 1460;
    if (ts && syn.h.options.timestamps) sa.options.timestamps = std::pair{5000u, syn.h.options.timestamps->first};
    h.inject(sa);
    EXPECT_EQ(h.expect_segment().h.flags, kAck);
    h.tcp().close(s, h.now);
    Seg fin = h.expect_segment();
    EXPECT_TRUE(fin.has(TcpFlags::kFin));
    auto fa = h.peer_segment(kFinAck, kPeer, iss + 2, kPort);
    if (ts && fin.h.options.timestamps) fa.options.timestamps = std::pair{5002u, fin.h.options.timestamps->first};
    h.inject(fa);
    EXPECT_EQ(h.expect_segment().h.flags, kAck);
    EXPECT_EQ(h.tcp().state(s), TcpState::kTimeWait);
  }

  TcpHarness h;
  SocketId s;
  uint32_t iss = 0;
};

// connect() choosing the port (Linux __inet_hash_connect -> tcp_twsk_unique with
// twp): a TIME_WAIT 4-tuple is taken over only with tcp_tw_reuse (1; 2 means
// loopback only, and the peer is not loopback), timestamps on the old connection, and
// more than tcp_tw_reuse_delay (1 s) in TIME_WAIT. Otherwise the port counts as used:
// with no other port in the range, the connect fails (EADDRNOTAVAIL in Linux).
TEST(TcpTimeWait, ConnectFromAnEphemeralPortTakesOverOnlyAsTcpTwReuseSays) {
  struct Case {
    const char* name;
    uint8_t tw_reuse;
    bool ts;
    Duration after;  // in TIME_WAIT
    bool takes_over;
  };
  const Case cases[] = {
      {"tw_reuse 2 (default), not loopback", 2, true, Duration::seconds(5), false},
      {"tw_reuse 0", 0, true, Duration::seconds(5), false},
      {"tw_reuse 1", 1, true, Duration::seconds(5), true},
      {"tw_reuse 1, one second", 1, true, Duration::seconds(1), false},
      {"tw_reuse 1, just over a second", 1, true, Duration::millis(1001), true},
      {"tw_reuse 1, no timestamps", 1, false, Duration::seconds(5), false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ActiveTimeWait tw(c.ts, c.tw_reuse);
    tw.h.advance(c.after);
    auto s = tw.h.tcp().open();
    ASSERT_TRUE(s.ok());
    auto r = tw.h.tcp().connect(*s, Endpoint{kPeerIp, TcpHarness::kPeerPort}, tw.h.now);
    if (!c.takes_over) {
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error(), ConnectError::kNoEphemeralPorts);
      tw.h.expect_no_segment();
      EXPECT_EQ(tw.h.tcp().state(tw.s), TcpState::kTimeWait);
      continue;
    }
    ASSERT_TRUE(r.ok());
    Seg syn = tw.h.expect_segment();
    EXPECT_EQ(syn.h.src_port, ActiveTimeWait::kPort);
    EXPECT_EQ(syn.seq().value(), tw.iss + 2 + 65537);
    ASSERT_TRUE(syn.h.options.timestamps.has_value());
    EXPECT_EQ(syn.h.options.timestamps->second, 5002u);
    EXPECT_EQ(tw.h.counter("tcp.time_wait_recycled"), 1u);
    EXPECT_FALSE(tw.h.tcp().state(tw.s).has_value());
  }
}

// With a second port in the range, the search passes over the TIME_WAIT one.
TEST(TcpTimeWait, EphemeralSearchSkipsATimeWaitPort) {
  TcpHarness h(HarnessOptions{.configure = [](StackConfig& c) {
    c.tcp.ephemeral_low = 50000;
    c.tcp.ephemeral_high = 50001;
  }});
  std::optional<uint16_t> first;
  for (int i = 0; i < 2; ++i) {
    auto s = h.tcp().open();
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(h.tcp().connect(*s, Endpoint{kPeerIp, TcpHarness::kPeerPort}, h.now).ok());
    Seg syn = h.expect_segment();
    if (!first) {
      first = syn.h.src_port;
      // To TIME_WAIT: SYN-ACK, our close, the peer's FIN.
      const uint32_t iss = syn.seq().value();
      h.inject(h.peer_segment(TcpFlags::kSyn | kAck, kPeerIss, iss + 1, *first));
      h.expect_segment();
      h.tcp().close(*s, h.now);
      h.expect_segment();
      h.inject(h.peer_segment(kFinAck, kPeer, iss + 2, *first));
      h.expect_segment();
      ASSERT_EQ(h.tcp().state(*s), TcpState::kTimeWait);
      continue;
    }
    EXPECT_NE(syn.h.src_port, *first);
  }
}
// Linux tcp_timewait_check_oow_rate_limit: a burst of segments that TIME_WAIT
// answers gets one ACK per tcp_invalid_ratelimit (500 ms), the rest counted as
// TCPACKSkippedTimeWait; tcp_oow_rate_limited exempts segments that occupy sequence
// space without SYN. A new SYN no listener takes is answered through TCP_TW_SYN's
// fall to TCP_TW_ACK, which bypasses the limit.
TEST(TcpTimeWait, AcksAreRateLimitedExceptForDataAndFin) {
  struct Case {
    const char* name;
    bool ts;
    uint8_t flags;
    uint32_t seq;
    std::optional<uint32_t> tsval;
    size_t payload;
    bool no_listener;
    bool limited;
  };
  const Case cases[] = {
      {"ACK out of window", false, kAck, kPeer + 100000, std::nullopt, 0, false, true},
      {"ACK below RCV.NXT", false, kAck, kPeer - 10, std::nullopt, 0, false, true},
      {"old SYN", false, TcpFlags::kSyn, kPeerIss - 5000, std::nullopt, 0, false, true},
      {"SYN+ACK", false, TcpFlags::kSyn | kAck, kPeer + 100000, std::nullopt, 0, false, true},
      {"PAWS-rejected ACK at RCV.NXT", true, kAck, kPeer + 1, 4000u, 0, false, true},
      {"retransmitted FIN+ACK", false, kFinAck, kPeer, std::nullopt, 0, false, false},
      {"PAWS-rejected FIN+ACK", true, kFinAck, kPeer, 4000u, 0, false, false},
      {"data", false, kAck | TcpFlags::kPsh, kPeer + 1, std::nullopt, 10, false, false},
      {"new SYN, no listener", false, TcpFlags::kSyn, kPeer + 100000, std::nullopt, 0, true, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TimeWait tw(c.ts);
    if (c.no_listener) tw.h.tcp().close(tw.l, tw.h.now);
    const Bytes data = pattern(c.payload);
    auto send = [&] {
      auto seg = tw.h.peer_segment(c.flags, c.seq, (c.flags & kAck) ? tw.iss + 2 : 0);
      if (c.tsval) seg.options.timestamps = std::pair{*c.tsval, 0u};
      tw.h.inject(seg, data);
    };
    // A burst: at 0, 1 ms, 499 ms; then at 500 ms, the limit's end.
    send();
    tw.expect_tw_ack();
    for (Duration step : {Duration::millis(1), Duration::millis(498)}) {
      tw.h.advance(step);
      send();
      if (!c.limited) tw.expect_tw_ack();
      tw.h.expect_no_segment();
    }
    EXPECT_EQ(tw.h.counter("tcp.ack_skipped_time_wait"), c.limited ? 2u : 0u);
    tw.h.advance(Duration::millis(1));
    send();
    tw.expect_tw_ack();
    tw.h.expect_no_segment();
    EXPECT_TRUE(tw.alive());
  }
}

// The exempt segments do not use the budget (tcp_oow_rate_limited returns before
// recording the time): an out-of-window ACK right after a retransmitted FIN is still
// answered, and the limit then runs from that ACK.
TEST(TcpTimeWait, AFinAnswerDoesNotUseTheAckBudget) {
  TimeWait tw;
  tw.inject(kFinAck, kPeer, tw.iss + 2);
  tw.expect_tw_ack();
  tw.h.advance(Duration::millis(1));
  tw.inject(kAck, kPeer + 100000, tw.iss + 2);
  tw.expect_tw_ack();
  tw.h.advance(Duration::millis(1));
  tw.inject(kAck, kPeer + 100000, tw.iss + 2);
  tw.h.expect_no_segment();
  tw.inject(kFinAck, kPeer, tw.iss + 2);  // limited ACKs do not hold back the FIN's
  tw.expect_tw_ack();
  EXPECT_EQ(tw.h.counter("tcp.ack_skipped_time_wait"), 1u);
}

}  // namespace
}  // namespace joyride::core::testing
