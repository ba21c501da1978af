// The rest of TCP, segment by segment: ECN (RFC 3168 §6.1: negotiation, ECT(0) on new
// data only, CE echoed with ECE until CWR and the first CE acknowledged at once, one
// window reduction per window of data and no growth during that window (CWR)),
// ICMP errors (RFC 1191 fragmentation needed lowers the MSS and resends; destination
// unreachable as Linux's tcp_v4_err: any code aborts an opening connection with
// icmp_err_convert's errno, a synchronized one keeps it as a soft error reported on
// timeout, and RFC 6069 reverts one RTO backoff), what TcpInfo reports after
// a transfer, and urgent data taken in line (RFC 6093).
#include <gtest/gtest.h>

#include <vector>

#include "joyride/base/bytes.h"
#include "tcp_conn.h"

namespace joyride::core::testing {
namespace {

using base::Duration;
using base::SeqNum;

constexpr uint8_t kEct0 = 0x02;
constexpr uint8_t kCe = 0x03;

// The IPv4 datagram of a frame we sent (IP header onwards), as an ICMP error quotes it.
Bytes quote_of(const TxFrame& f) {
  const size_t eth = 14;
  return Bytes(f.bytes.begin() + static_cast<std::ptrdiff_t>(eth),
               f.bytes.begin() + static_cast<std::ptrdiff_t>(std::min(f.bytes.size(), eth + 20 + 40)));
}

void inject_unreachable(TcpHarness& h, uint8_t code, const Bytes& quoted, uint16_t next_hop_mtu = 0) {
  wire::Icmpv4Repr m;
  m.type = wire::Icmpv4Type::kDestUnreachable;
  m.code = code;
  m.next_hop_mtu = next_hop_mtu;
  m.data = quoted;
  h.inject_icmp(m);
}

// ---- ECN -------------------------------------------------------------------------------------

TEST(TcpEcn, AcceptedOnlyWhenTheSynCarriesEceAndCwr) {
  // RFC 3168 §6.1.1: an ECN-setup SYN has ECE and CWR; the ECN-setup SYN-ACK has ECE
  // and not CWR. Anything else is not ECN-capable.
  struct Case {
    const char* name;
    uint8_t syn_flags;
    bool accepted;
  };
  const Case cases[] = {
      {"ECE+CWR", TcpFlags::kEce | TcpFlags::kCwr, true},
      {"ECE only", TcpFlags::kEce, false},
      {"CWR only", TcpFlags::kCwr, false},
      {"none", 0, false},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    TcpHarness h;
    SocketId l = h.listen(80);
    auto syn = h.peer_segment(TcpFlags::kSyn | k.syn_flags, 1000, 0);
    syn.options.mss = 1460;
    h.inject(syn);
    Seg sa = h.expect_segment();
    EXPECT_EQ(sa.h.flags, TcpFlags::kSyn | TcpFlags::kAck | (k.accepted ? TcpFlags::kEce : 0));
    EXPECT_EQ(sa.tos, 0);  // RFC 3168 §6.1.1: SYN-ACKs are not ECT
    h.inject(h.peer_segment(TcpFlags::kAck, 1001, sa.seq().value() + 1));
    auto s = h.tcp().accept(l);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(h.tcp().info(*s)->ecn, k.accepted);
    Bytes b = pattern(100);
    ASSERT_TRUE(h.tcp().send(*s, b, h.now).ok());
    Seg d = h.expect_segment();
    EXPECT_EQ(d.payload.size(), 100u);
    EXPECT_EQ(d.tos, k.accepted ? kEct0 : 0);
    EXPECT_EQ(d.h.flags & (TcpFlags::kEce | TcpFlags::kCwr), 0);
  }
}

TEST(TcpEcn, NewDataIsEct0RetransmissionsAndPureAcksAreNot) {
  // RFC 3168 §6.1.4-6.1.5: pure ACKs and retransmissions are sent not-ECT.
  Conn c(ConnOptions{.ecn = true});
  EXPECT_TRUE(c.info().ecn);
  c.send(2 * kMss);
  EXPECT_EQ(c.expect_data(0, kMss).tos, kEct0);
  EXPECT_EQ(c.expect_data(kMss, kMss).tos, kEct0);
  c.data(0, kMss);
  c.data(kMss, kMss);
  Seg a = c.expect_ack(2 * kMss);
  EXPECT_EQ(a.tos, 0);
  // The peer acknowledges nothing: the tail loss probe (2 srtt, at least 10 ms;
  // RFC 8985 §7.2) resends the last segment, then the RTO (200 ms) the head. Both are
  // retransmissions: not ECT, and no CWR.
  c.h.advance(Duration::millis(200));
  Seg probe = c.expect_data(kMss, kMss);
  EXPECT_EQ(probe.tos, 0);
  EXPECT_FALSE(probe.has(TcpFlags::kCwr));
  c.h.expect_no_segment();
  c.h.advance(Duration::millis(1000));
  Seg r = c.expect_data(0, kMss);
  EXPECT_EQ(r.tos, 0);
  EXPECT_FALSE(r.has(TcpFlags::kCwr));
  c.h.expect_no_segment();
}

TEST(TcpEcn, CeMarkIsEchoedWithEceUntilThePeerSendsCwr) {
  // RFC 3168 §6.1.3: after a CE-marked packet every ACK carries ECE until a segment
  // with CWR arrives (and that segment is not itself CE).
  Conn c(ConnOptions{.ecn = true});
  c.data(0, 100, TcpFlags::kAck | TcpFlags::kPsh, kCe);
  c.h.advance(Duration::millis(40));
  Seg a1 = c.expect_ack(100);
  EXPECT_TRUE(a1.has(TcpFlags::kEce));
  c.data(100, 100);  // not marked: ECE goes on
  c.h.advance(Duration::millis(40));
  Seg a2 = c.expect_ack(200);
  EXPECT_TRUE(a2.has(TcpFlags::kEce));
  // Our own data carries ECE too while it is owed.
  c.send(10);
  Seg d = c.expect_data(0, 10);
  EXPECT_TRUE(d.has(TcpFlags::kEce));
  c.peer_ack = 10;
  // CWR and a new CE in the same segment: keep echoing.
  c.data(200, 100, TcpFlags::kAck | TcpFlags::kPsh | TcpFlags::kCwr, kCe);
  c.h.advance(Duration::millis(40));
  Seg a3 = c.expect_ack(300);
  EXPECT_TRUE(a3.has(TcpFlags::kEce));
  // CWR alone ends it.
  c.data(300, 100, TcpFlags::kAck | TcpFlags::kPsh | TcpFlags::kCwr);
  c.h.advance(Duration::millis(40));
  Seg a4 = c.expect_ack(400);
  EXPECT_FALSE(a4.has(TcpFlags::kEce));
  c.data(400, 100);
  c.h.advance(Duration::millis(40));
  EXPECT_FALSE(c.expect_ack(500).has(TcpFlags::kEce));
  c.h.expect_no_segment();
}

TEST(TcpEcn, TheFirstCeMarkIsAcknowledgedAtOnce) {
  // Linux tcp_ecn_check_ce: the sender may have a small window, so the first CE mark
  // is not left to the delayed-ACK timer. Later marks, while ECE is already being
  // echoed, are acknowledged as usual.
  Conn c(ConnOptions{.ecn = true});
  c.data(0, 100);
  c.h.expect_no_segment();  // unmarked: delayed
  c.h.advance(Duration::millis(40));
  EXPECT_FALSE(c.expect_ack(100).has(TcpFlags::kEce));
  c.data(100, 100, TcpFlags::kAck | TcpFlags::kPsh, kCe);
  Seg a = c.expect_ack(200);  // at once
  EXPECT_TRUE(a.has(TcpFlags::kEce));
  c.h.expect_no_segment();
  c.data(200, 100, TcpFlags::kAck | TcpFlags::kPsh, kCe);
  c.h.expect_no_segment();
  c.h.advance(Duration::millis(40));
  EXPECT_TRUE(c.expect_ack(300).has(TcpFlags::kEce));
  EXPECT_EQ(c.h.counter("tcp.delayed_acks"), 2u);
}

TEST(TcpEcn, CeWithoutEcnNegotiatedIsIgnored) {
  Conn c;
  c.data(0, 100, TcpFlags::kAck | TcpFlags::kPsh, kCe);
  c.h.advance(Duration::millis(40));
  Seg a = c.expect_ack(100);
  EXPECT_FALSE(a.has(TcpFlags::kEce));
}

TEST(TcpEcn, EceReducesTheWindowOncePerWindowAndTheNextDataSaysCwr) {
  // RFC 3168 §6.1.2: the sender halves (NewReno) its window at most once per window
  // of data, and sets CWR on the first new data packet after the reduction.
  // Several seeds, so several initial sequence numbers: the once-per-window mark
  // must not depend on where the sequence space starts.
  for (uint64_t seed : {1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u}) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    Conn c(ConnOptions{.cc = "newreno", .ecn = true, .harness = HarnessOptions{.seed = seed}});
    c.send(4 * kMss);
    for (uint32_t i = 0; i < 4; ++i) c.expect_data(i * kMss, kMss);
    c.ack(kMss, {}, TcpFlags::kAck | TcpFlags::kEce);
    // FlightSize 3 MSS: ssthresh = max(1.5 MSS, 2 MSS).
    EXPECT_EQ(c.info().ssthresh, 2 * kMss);
    EXPECT_EQ(c.info().cwnd, 2 * kMss);
    c.h.expect_no_segment();  // 3 MSS in flight, cwnd 2
    // More ECE within the same window: no second reduction, and no growth either
    // until the window in flight at the reduction is acknowledged (Linux TCP_CA_CWR).
    c.ack(2 * kMss, {}, TcpFlags::kAck | TcpFlags::kEce);
    EXPECT_EQ(c.info().ssthresh, 2 * kMss);
    EXPECT_EQ(c.info().cwnd, 2 * kMss);
    c.send(kMss);
    c.h.expect_no_segment();  // 2 MSS in flight, cwnd 2
    c.ack(3 * kMss);
    EXPECT_EQ(c.info().cwnd, 2 * kMss);
    // The first new data after the reduction says CWR, and is ECT(0).
    Seg d = c.expect_data(4 * kMss, kMss);
    EXPECT_TRUE(d.has(TcpFlags::kCwr));
    EXPECT_EQ(d.tos, kEct0);
    c.h.expect_no_segment();
    // An ECE that acknowledges up to the end of the window that was in flight at the
    // reduction is still the same episode; it ends the no-growth period.
    c.ack(4 * kMss, {}, TcpFlags::kAck | TcpFlags::kEce);
    EXPECT_EQ(c.info().ssthresh, 2 * kMss);
    EXPECT_EQ(c.info().cwnd, 2 * kMss);  // congestion avoidance: 1 of 2 MSS counted
    c.send(kMss);
    Seg e = c.expect_data(5 * kMss, kMss);
    EXPECT_FALSE(e.has(TcpFlags::kCwr));  // CWR is said once per reduction
    // One beyond it is a new congestion signal: a second reduction, a second CWR.
    c.ack(6 * kMss, {}, TcpFlags::kAck | TcpFlags::kEce);
    EXPECT_EQ(c.info().cwnd, 2 * kMss);
    c.send(kMss);
    Seg f = c.expect_data(6 * kMss, kMss);
    EXPECT_TRUE(f.has(TcpFlags::kCwr));
    c.h.expect_no_segment();
  }
}

// ---- ICMP ------------------------------------------------------------------------------------

TEST(TcpIcmp, FragmentationNeededLowersTheMssAndResendsAtTheNewSize) {
  // RFC 1191 §6.4: the MSS follows the reported next-hop MTU (less 40, less 12 with
  // timestamps); what was sent too big is sent again now at the new size (Linux
  // tcp_simple_retransmit), and it is not a congestion signal.
  struct Case {
    bool ts;
    uint32_t new_mss;
  };
  for (const Case& k : {Case{false, 1160}, Case{true, 1148}}) {
    SCOPED_TRACE(k.ts ? "timestamps" : "no timestamps");
    Conn c(ConnOptions{.ts = k.ts});
    const uint32_t mss = c.info().snd_mss;
    c.send(2 * mss);
    auto first = c.h.pop_tx();
    ASSERT_TRUE(first.has_value());
    c.expect_data(mss, mss);
    const uint32_t cwnd = c.info().cwnd;
    inject_unreachable(c.h, wire::Icmpv4Unreachable::kFragmentationNeeded, quote_of(*first), 1200);
    EXPECT_EQ(c.info().snd_mss, k.new_mss);
    // Each old segment goes again as a new-MSS piece and the rest.
    c.expect_data(0, k.new_mss);
    c.expect_data(k.new_mss, mss - k.new_mss);
    c.expect_data(mss, k.new_mss);
    c.expect_data(mss + k.new_mss, mss - k.new_mss);
    c.h.expect_no_segment();
    EXPECT_EQ(c.info().ssthresh, UINT32_MAX);  // no congestion response
    EXPECT_GE(c.info().cwnd, cwnd * k.new_mss / mss);
    // New data is cut at the new size.
    c.ack(2 * mss);
    c.send(2 * k.new_mss);
    c.expect_data(2 * mss, k.new_mss);
    c.expect_data(2 * mss + k.new_mss, k.new_mss);
    c.h.expect_no_segment();
  }
}

TEST(TcpIcmp, FragmentationNeededThatWouldNotLowerTheMssIsIgnored) {
  struct Case {
    const char* name;
    uint16_t mtu;
    bool other_port;
  };
  const Case cases[] = {{"mtu 1500", 1500, false}, {"mtu 9000", 9000, false}, {"other connection", 1200, true}};
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    Conn c;
    c.send(kMss);
    auto f = c.h.pop_tx();
    ASSERT_TRUE(f.has_value());
    Bytes q = quote_of(*f);
    if (k.other_port) q[20 + 2] ^= 0x01;  // destination port of the quoted TCP header
    inject_unreachable(c.h, wire::Icmpv4Unreachable::kFragmentationNeeded, q, k.mtu);
    EXPECT_EQ(c.info().snd_mss, kMss);
    c.h.expect_no_segment();
  }
}

// Linux tcp_v4_err: in SYN-SENT every destination unreachable code aborts the connect
// with icmp_err_convert's errno, not only RFC 1122's hard errors; fragmentation needed
// (4) is path MTU discovery's, and codes above 15 are unknown: both leave it alone.
TEST(TcpIcmp, UnreachableAbortsAnOpeningConnectionWithTheConvertedErrno) {
  struct Case {
    uint8_t code;
    std::optional<RecvError> error;
  };
  const Case cases[] = {
      {0, RecvError::kNoRoute},            {1, RecvError::kHostUnreachable},
      {2, RecvError::kProtocolUnavailable}, {3, RecvError::kConnectionRefused},
      {4, std::nullopt},                    {5, RecvError::kNotSupported},
      {6, RecvError::kNoRoute},             {7, RecvError::kHostDown},
      {8, RecvError::kNoNetwork},           {9, RecvError::kNoRoute},
      {10, RecvError::kHostUnreachable},    {11, RecvError::kNoRoute},
      {12, RecvError::kHostUnreachable},    {13, RecvError::kHostUnreachable},
      {14, RecvError::kHostUnreachable},    {15, RecvError::kHostUnreachable},
      {16, std::nullopt},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(::testing::Message() << "code " << int{k.code});
    TcpHarness h;
    auto s = h.tcp().open();
    ASSERT_TRUE(h.tcp().connect(*s, Endpoint{kPeerIp, 80}, h.now).ok());
    auto syn = h.pop_tx();
    ASSERT_TRUE(syn.has_value());
    inject_unreachable(h, k.code, quote_of(*syn));
    h.expect_no_segment();
    if (k.error) {
      EXPECT_EQ(h.tcp().state(*s), TcpState::kClosed);
      EXPECT_TRUE(h.tcp().readiness(*s) & kError);
      const std::array<uint8_t, 1> one{1};
      auto w = h.tcp().send(*s, one, h.now);
      ASSERT_FALSE(w.ok());
      EXPECT_EQ(w.error(), send_error_for(*k.error));
      EXPECT_EQ(h.counter("tcp.attempt_fails"), 1u);
    } else {
      EXPECT_EQ(h.tcp().state(*s), TcpState::kSynSent);
      // The SYN is still retransmitted on time.
      h.advance(Duration::seconds(1));
      EXPECT_EQ(h.expect_segment().h.flags, TcpFlags::kSyn);
    }
  }
}

// The quoted segment must be one we have outstanding, SND.UNA <= SEG.SEQ <= SND.NXT
// (Linux tcp_v4_err, RFC 5927 §4.1); otherwise the error is ignored. An active
// (simultaneous) open's SYN-RECEIVED aborts as SYN-SENT does.
TEST(TcpIcmp, OpeningConnectionIgnoresAnErrorQuotingAnotherSequence) {
  struct Case {
    const char* name;
    bool simultaneous;
    int32_t seq_delta;  // added to the quoted SYN's sequence number
    bool aborts;
  };
  const Case cases[] = {
      {"SYN-SENT, the SYN", false, 0, true},
      {"SYN-SENT, ISS + 1 (SND.NXT)", false, 1, true},
      {"SYN-SENT, ISS - 1", false, -1, false},
      {"SYN-SENT, far off", false, 100000, false},
      {"SYN-RECEIVED (simultaneous), the SYN", true, 0, true},
      {"SYN-RECEIVED (simultaneous), far off", true, 100000, false},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    TcpHarness h;
    auto s = h.tcp().open();
    ASSERT_TRUE(h.tcp().bind(*s, Endpoint{kOurIp, 80}).ok());
    ASSERT_TRUE(h.tcp().connect(*s, Endpoint{kPeerIp, TcpHarness::kPeerPort}, h.now).ok());
    auto syn = h.pop_tx();
    ASSERT_TRUE(syn.has_value());
    const TcpState opening = k.simultaneous ? TcpState::kSynReceived : TcpState::kSynSent;
    if (k.simultaneous) {
      h.inject(h.peer_segment(TcpFlags::kSyn, 7000, 0));
      ASSERT_EQ(h.tcp().state(*s), TcpState::kSynReceived);
      h.expect_segment();
    }
    Bytes q = quote_of(*syn);
    const uint32_t seq = base::load_be<uint32_t>(q.data(), 20 + 4) + static_cast<uint32_t>(k.seq_delta);
    base::store_be<uint32_t>(q.data(), 20 + 4, seq);
    inject_unreachable(h, wire::Icmpv4Unreachable::kHostUnreachable, q);
    EXPECT_EQ(h.tcp().state(*s), k.aborts ? TcpState::kClosed : opening);
    if (k.aborts) {
      std::array<uint8_t, 4> b{};
      auto r = h.tcp().recv(*s, b, h.now);
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error(), RecvError::kHostUnreachable);
    }
  }
}

// A passive open still in SYN-RECEIVED is a request socket in Linux (tcp_req_err):
// only an error quoting our SYN-ACK's sequence number counts, and only net or host
// unreachable drops it, silently.
TEST(TcpIcmp, PassiveOpenIsDroppedOnlyForNetOrHostUnreachable) {
  struct Case {
    const char* name;
    uint8_t code;
    int32_t seq_delta;
    bool dropped;
  };
  const Case cases[] = {
      {"net unreachable", 0, 0, true},        {"host unreachable", 1, 0, true},
      {"port unreachable", 3, 0, false},      {"admin prohibited", 13, 0, false},
      {"host unreachable, not our ISS", 1, 1, false},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    TcpHarness h;
    SocketId l = h.listen(80);
    h.inject(h.peer_segment(TcpFlags::kSyn, 7000, 0));
    auto sa = h.pop_tx();
    ASSERT_TRUE(sa.has_value());
    const size_t conns = h.tcp().connections();
    Bytes q = quote_of(*sa);
    const uint32_t seq = base::load_be<uint32_t>(q.data(), 20 + 4) + static_cast<uint32_t>(k.seq_delta);
    base::store_be<uint32_t>(q.data(), 20 + 4, seq);
    inject_unreachable(h, k.code, q);
    h.expect_no_segment();
    EXPECT_EQ(h.tcp().connections(), k.dropped ? conns - 1 : conns);
    EXPECT_EQ(h.tcp().accept(l).error(), AcceptError::kWouldBlock);
  }
}

TEST(TcpIcmp, PortUnreachableOnAnEstablishedConnectionIsSoft) {
  Conn c;
  c.send(100);
  auto f = c.h.pop_tx();
  ASSERT_TRUE(f.has_value());
  inject_unreachable(c.h, wire::Icmpv4Unreachable::kPortUnreachable, quote_of(*f));
  EXPECT_EQ(c.h.tcp().state(c.s), TcpState::kEstablished);
  EXPECT_FALSE(c.h.tcp().readiness(c.s) & kError);
  c.h.expect_no_segment();
  c.ack(100);
  EXPECT_EQ(c.info().unacked, 0u);
}

// On a synchronized connection the error is soft (Linux sk_err_soft, no IP_RECVERR):
// nothing happens at once, but if the connection then times out it reports that
// error instead of ETIMEDOUT (tcp_write_err). An acceptable ACK since clears it
// (tcp_ack), and so does nothing an error about a segment not outstanding.
TEST(TcpIcmp, SoftErrorIsReportedWhenTheConnectionTimesOut) {
  struct Case {
    const char* name;
    uint8_t code;
    int32_t seq_delta;
    bool acked_since;
    RecvError error;
  };
  const Case cases[] = {
      {"net unreachable", 0, 0, false, RecvError::kNoRoute},
      {"host unreachable", 1, 0, false, RecvError::kHostUnreachable},
      {"protocol unreachable", 2, 0, false, RecvError::kProtocolUnavailable},
      {"port unreachable", 3, 0, false, RecvError::kConnectionRefused},
      {"admin prohibited", 13, 0, false, RecvError::kHostUnreachable},
      {"frag needed without MTU", 4, 0, false, RecvError::kTimedOut},
      {"quote at SND.NXT", 1, 100, false, RecvError::kHostUnreachable},
      {"quote beyond SND.NXT", 1, 101, false, RecvError::kTimedOut},
      {"quote below SND.UNA", 1, -1, false, RecvError::kTimedOut},
      {"ACK since", 1, 0, true, RecvError::kTimedOut},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    Conn c(ConnOptions{.sack = false});
    c.send(100);
    auto f = c.h.pop_tx();
    ASSERT_TRUE(f.has_value());
    Bytes q = quote_of(*f);
    const uint32_t seq = base::load_be<uint32_t>(q.data(), 20 + 4) + static_cast<uint32_t>(k.seq_delta);
    base::store_be<uint32_t>(q.data(), 20 + 4, seq);
    inject_unreachable(c.h, k.code, q);
    EXPECT_EQ(c.h.tcp().state(c.s), TcpState::kEstablished);
    c.h.expect_no_segment();
    if (k.acked_since) {
      c.ack(50);  // a partial ACK: data still outstanding, and the path works
    }
    for (int i = 0; i < 3000 && c.h.tcp().state(c.s) == TcpState::kEstablished; ++i) {
      c.h.advance(Duration::seconds(1));
      while (c.h.pop_tx()) {
      }
    }
    ASSERT_EQ(c.h.tcp().state(c.s), TcpState::kClosed);
    std::array<uint8_t, 4> b{};
    auto r = c.h.tcp().recv(c.s, b, c.h.now);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), k.error);
  }
}

// RFC 6069 as Linux's tcp_ld_RTO_revert: while the RTO is backed off, a net or host
// unreachable quoting SND.UNA undoes one doubling, and the timer is re-armed from the
// last retransmission with the smaller RTO (at once if that has passed). Other codes,
// or another sequence number, leave the backoff alone.
TEST(TcpIcmp, NetOrHostUnreachableForSndUnaRevertsOneBackoff) {
  struct Case {
    const char* name;
    uint8_t code;
    int32_t seq_delta;
    Duration icmp_at;  // after the second retransmission
    Duration next;     // when the third retransmission goes, from the second
  };
  const Case cases[] = {
      {"host unreachable", 1, 0, Duration::millis(100), Duration::millis(400)},
      {"net unreachable", 0, 0, Duration::millis(100), Duration::millis(400)},
      {"already past the reverted RTO", 1, 0, Duration::millis(500), Duration::millis(500)},
      {"port unreachable", 3, 0, Duration::millis(100), Duration::millis(800)},
      {"not SND.UNA", 1, 10, Duration::millis(100), Duration::millis(800)},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    Conn c(ConnOptions{.sack = false});
    ASSERT_EQ(c.info().rto, Duration::millis(200));
    c.send(100);
    c.expect_data(0, 100);
    c.h.advance(Duration::millis(200));
    c.expect_data(0, 100);  // first retransmission; RTO 400 ms
    c.h.advance(Duration::millis(400));
    auto r2 = c.h.pop_tx();  // second; RTO 800 ms
    ASSERT_TRUE(r2.has_value());
    ASSERT_EQ(c.info().rto, Duration::millis(800));
    c.h.advance(k.icmp_at);
    c.h.expect_no_segment();
    Bytes q = quote_of(*r2);
    const uint32_t seq = base::load_be<uint32_t>(q.data(), 20 + 4) + static_cast<uint32_t>(k.seq_delta);
    base::store_be<uint32_t>(q.data(), 20 + 4, seq);
    inject_unreachable(c.h, k.code, q);
    if (k.next > k.icmp_at) {
      c.h.expect_no_segment();
      c.h.advance(k.next - k.icmp_at - Duration::millis(1));
      c.h.expect_no_segment();
      c.h.advance(Duration::millis(1));
    }
    c.expect_data(0, 100);  // the third retransmission
    EXPECT_EQ(c.info().retransmits, 3u);
    // It backed off again from where the revert left it.
    EXPECT_EQ(c.info().rto, k.next == Duration::millis(800) ? Duration::millis(1600) : Duration::millis(800));
    EXPECT_EQ(c.h.tcp().state(c.s), TcpState::kEstablished);
  }
}

// ---- TcpInfo ---------------------------------------------------------------------------------

TEST(TcpInfoReport, FieldsAfterATransferWithOneLoss) {
  // tcp_info after: 4 segments sent, the first lost and repaired by SACK recovery,
  // 500 bytes received. Checked mid-recovery and after.
  Conn c(ConnOptions{.cc = "newreno", .handshake_rtt = Duration::millis(100)});
  const TcpInfo i0 = c.info();
  EXPECT_EQ(i0.state, TcpState::kEstablished);
  EXPECT_EQ(i0.rtt, Duration::millis(100));
  EXPECT_EQ(i0.rttvar, Duration::millis(50));
  EXPECT_EQ(i0.rto, Duration::millis(300));
  EXPECT_EQ(i0.cwnd, 10 * kMss);
  EXPECT_EQ(i0.ssthresh, UINT32_MAX);
  EXPECT_EQ(i0.bytes_acked, 0u);
  EXPECT_EQ(i0.bytes_received, 0u);
  EXPECT_EQ(i0.total_retrans, 0u);
  EXPECT_EQ(i0.congestion_control, "newreno");

  c.send(4 * kMss);
  for (uint32_t i = 0; i < 4; ++i) c.expect_data(i * kMss, kMss);
  EXPECT_EQ(c.info().unacked, 4 * kMss);
  c.h.advance(Duration::millis(100));
  c.ack(0, {{kMss, 2 * kMss}});
  c.ack(0, {{kMss, 3 * kMss}});
  c.ack(0, {{kMss, 4 * kMss}});
  c.expect_data(0, kMss);  // the hole, repaired
  c.h.expect_no_segment();
  const TcpInfo mid = c.info();
  EXPECT_EQ(mid.sacked, 3 * kMss);
  EXPECT_EQ(mid.lost, kMss);
  EXPECT_EQ(mid.total_retrans, 1u);
  EXPECT_EQ(mid.bytes_retrans, kMss);
  EXPECT_EQ(mid.unacked, 4 * kMss);
  EXPECT_EQ(mid.delivered, 3u);
  EXPECT_EQ(mid.ssthresh, 2 * kMss);  // RFC 5681 eq. 4: FlightSize 4 MSS / 2
  EXPECT_EQ(mid.rtt, Duration::millis(100));  // the SACKed segments' samples were 100 ms

  c.data(0, 500);
  c.h.advance(Duration::millis(40));
  c.expect_ack(500);
  c.rcv = 500;
  c.h.advance(Duration::millis(60));
  c.ack(4 * kMss);
  c.h.expect_no_segment();
  const TcpInfo end = c.info();
  EXPECT_EQ(end.state, TcpState::kEstablished);
  EXPECT_EQ(end.unacked, 0u);
  EXPECT_EQ(end.sacked, 0u);
  EXPECT_EQ(end.lost, 0u);
  EXPECT_EQ(end.delivered, 4u);
  EXPECT_EQ(end.bytes_acked, 4u * kMss);
  EXPECT_EQ(end.bytes_received, 500u);
  EXPECT_EQ(end.bytes_sent, 5u * kMss);
  EXPECT_EQ(end.total_retrans, 1u);
  EXPECT_EQ(end.retransmits, 0u);
  EXPECT_EQ(end.ssthresh, 2 * kMss);
  EXPECT_EQ(end.cwnd, 2 * kMss);  // RFC 6582: cwnd = ssthresh when recovery ends
  EXPECT_EQ(end.rtt, Duration::millis(100));
  EXPECT_EQ(end.rto, Duration::millis(300));  // srtt + max(4 rttvar, 200 ms)
  // 4 data + 1 retransmission + 1 ACK out; 3 SACKs + 1 data + 1 ACK in.
  EXPECT_EQ(end.segs_out - i0.segs_out, 6u);
  EXPECT_EQ(end.segs_in - i0.segs_in, 5u);
}

// ---- Urgent data -----------------------------------------------------------------------------

TEST(TcpUrgent, UrgentDataIsTakenInLine) {
  // RFC 9293 §3.8.5 / RFC 6093: the urgent pointer marks data that is still part of
  // the stream; we take it in line (as Linux with SO_OOBINLINE): every byte delivered
  // in order, nothing dropped.
  Conn c;
  const Bytes first = pattern(100, 0);
  auto t = c.seg(TcpFlags::kAck | TcpFlags::kPsh | TcpFlags::kUrg, c.them(0).value(), c.us(0).value());
  t.urgent_ptr = 50;
  c.h.inject(t, first);
  // An urgent pointer reaching past the segment (the urgent byte comes later).
  const Bytes second = pattern(100, 100);
  auto u = c.seg(TcpFlags::kAck | TcpFlags::kUrg, c.them(100).value(), c.us(0).value());
  u.urgent_ptr = 1000;
  c.h.inject(u, second);
  c.data(200, 100);
  c.h.advance(Duration::millis(40));
  c.expect_ack(300);
  c.h.expect_no_segment();
  EXPECT_EQ(c.info().bytes_received, 300u);
  Bytes got(400);
  auto r = c.h.tcp().recv(c.s, got, c.h.now);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(*r, 300u);
  got.resize(300);
  EXPECT_EQ(got, pattern(300));
  EXPECT_EQ(c.h.counter("tcp.drop_malformed"), 0u);
  EXPECT_EQ(c.h.counter("tcp.drop_not_acceptable"), 0u);
}

}  // namespace
}  // namespace joyride::core::testing
