// Forged ICMP "fragmentation needed" (RFC 5927 §4.2-4.3, §7.2). The attack: an
// off-path host that knows (or guesses) a connection's addresses and ports sends a
// frag-needed quoting a segment of it with a small next-hop MTU. Believed, it shrinks
// the path MTU for every flow to that destination (new connections start small) and,
// with DF set, the connection's full-sized segments stop fitting its cached path.
// Here TCP checks first that the quoted sequence number is one it has in flight
// (SND.UNA <= SEG.SEQ < SND.NXT) and only then is the path MTU lowered; the result is
// clamped to 552 (Linux min_pmtu) and the MSS to 48 (tcp_min_snd_mss), and reports
// below 68, the smallest MTU RFC 791 allows, are dropped.
#include <gtest/gtest.h>

#include "tcp_conn.h"

namespace joyride::core::testing {
namespace {

// The IPv4 datagram of a frame we sent (IP header onwards), as an ICMP error quotes it.
Bytes quote_of(const TxFrame& f) {
  const size_t eth = 14;
  return Bytes(f.bytes.begin() + static_cast<std::ptrdiff_t>(eth),
               f.bytes.begin() + static_cast<std::ptrdiff_t>(std::min(f.bytes.size(), eth + 20 + 40)));
}

// Sequence number and destination port of the quoted TCP header (20-byte IP header).
void set_quoted_seq(Bytes& q, base::SeqNum seq) { base::store_be<uint32_t>(q.data(), 20 + 4, seq.value()); }

void inject_frag_needed(TcpHarness& h, const Bytes& quoted, uint16_t mtu) {
  wire::Icmpv4Repr m;
  m.type = wire::Icmpv4Type::kDestUnreachable;
  m.code = wire::Icmpv4Unreachable::kFragmentationNeeded;
  m.next_hop_mtu = mtu;
  m.data = quoted;
  h.inject_icmp(m);
}

uint16_t route_mtu(TcpHarness& h) { return h.stack->ipv4().route(kPeerIp, h.now)->mtu; }

// The MSS option of a new connection's SYN to the peer.
uint16_t new_connection_mss(TcpHarness& h) {
  auto s = h.tcp().open();
  EXPECT_TRUE(h.tcp().connect(*s, Endpoint{kPeerIp, 81}, h.now).ok());
  Seg syn = h.expect_segment();
  h.tcp().close(*s, h.now);
  return syn.h.options.mss.value_or(0);
}

TEST(TcpPmtu, AForgedMessageOutsideTheFlightChangesNothing) {
  struct Case {
    const char* name;
    int64_t seq;  // offset into our stream; one segment [0, kMss) is in flight
  };
  const Case cases[] = {
      {"at SND.NXT", kMss},            // nothing of ours starts there that could be too big
      {"beyond SND.NXT", kMss + 100000},
      {"below SND.UNA", -1},
      {"far away", 0x40000000},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    Conn c;
    c.send(kMss);
    auto f = c.h.pop_tx();
    ASSERT_TRUE(f.has_value());
    const uint64_t version = c.h.stack->ipv4().path_version();
    Bytes q = quote_of(*f);
    set_quoted_seq(q, c.us(0) + static_cast<int32_t>(k.seq));
    inject_frag_needed(c.h, q, 600);
    EXPECT_EQ(c.h.counter("tcp.pmtu_bad_seq"), 1u);
    EXPECT_EQ(c.info().snd_mss, kMss);
    EXPECT_EQ(c.h.stack->ipv4().path_version(), version) << "every path cache stays valid";
    EXPECT_EQ(route_mtu(c.h), 1500u);
    c.h.expect_no_segment();
    // The connection still sends full-sized segments (with DF set, a lowered path MTU
    // would have refused them: ipv4.drop_fragment_needed).
    c.ack(kMss);
    c.send(kMss);
    c.expect_data(kMss, kMss);
    EXPECT_EQ(c.h.counter("ipv4.drop_fragment_needed"), 0u);
    EXPECT_EQ(new_connection_mss(c.h), 1460u) << "new connections to the peer unaffected";
  }
}

TEST(TcpPmtu, AMessageQuotingNoConnectionChangesNothing) {
  Conn c;
  c.send(kMss);
  auto f = c.h.pop_tx();
  ASSERT_TRUE(f.has_value());
  const uint64_t version = c.h.stack->ipv4().path_version();
  Bytes q = quote_of(*f);
  q[20 + 2] ^= 0x01;  // the quoted destination port: a connection we do not have
  inject_frag_needed(c.h, q, 600);
  EXPECT_EQ(c.h.counter("tcp.pmtu_no_connection"), 1u);
  EXPECT_EQ(c.h.stack->ipv4().path_version(), version);
  EXPECT_EQ(route_mtu(c.h), 1500u);
  EXPECT_EQ(new_connection_mss(c.h), 1460u);
}

TEST(TcpPmtu, AGenuineMessageForASegmentInFlightLowersTheMssAndResends) {
  // The second of two segments in flight: SND.UNA < SEG.SEQ < SND.NXT.
  Conn c;
  c.send(2 * kMss);
  c.expect_data(0, kMss);
  auto second = c.h.pop_tx();
  ASSERT_TRUE(second.has_value());
  inject_frag_needed(c.h, quote_of(*second), 1200);
  EXPECT_EQ(c.h.counter("tcp.pmtu_bad_seq"), 0u);
  EXPECT_EQ(c.info().snd_mss, 1160u);
  EXPECT_EQ(route_mtu(c.h), 1200u) << "learnt for the destination";
  c.expect_data(0, 1160);
  c.expect_data(1160, kMss - 1160);
  c.expect_data(kMss, 1160);
  c.expect_data(kMss + 1160, kMss - 1160);
  EXPECT_EQ(new_connection_mss(c.h), 1160u);
}

TEST(TcpPmtu, ASmallMtuIsRaisedTo552) {
  // Linux min_pmtu: below 552 the report is taken as 552 (RFC 1191 §3 lets a host
  // refuse to go lower; RFC 5927 §7.2 suggests it against the forged ones).
  for (const bool ts : {false, true}) {
    SCOPED_TRACE(ts ? "timestamps" : "no timestamps");
    Conn c(ConnOptions{.ts = ts});
    c.send(kMss);
    auto f = c.h.pop_tx();
    ASSERT_TRUE(f.has_value());
    inject_frag_needed(c.h, quote_of(*f), 300);
    EXPECT_EQ(route_mtu(c.h), 552u);
    EXPECT_EQ(c.info().snd_mss, ts ? 500u : 512u);
    c.expect_data(0, ts ? 500 : 512);
  }
}

TEST(TcpPmtu, AnMtuBelow68OrZeroIsIgnored) {
  for (const uint16_t mtu : {uint16_t{0}, uint16_t{50}, uint16_t{67}}) {
    SCOPED_TRACE(::testing::Message() << "mtu " << mtu);
    Conn c;
    c.send(kMss);
    auto f = c.h.pop_tx();
    ASSERT_TRUE(f.has_value());
    const uint64_t version = c.h.stack->ipv4().path_version();
    inject_frag_needed(c.h, quote_of(*f), mtu);
    EXPECT_EQ(c.h.counter("icmp.drop_pmtu_bad_mtu"), 1u);
    EXPECT_EQ(c.info().snd_mss, kMss);
    EXPECT_EQ(c.h.stack->ipv4().path_version(), version);
    c.h.expect_no_segment();
  }
}

TEST(TcpPmtu, TheMssNeverGoesBelow48) {
  // Linux tcp_min_snd_mss: with min_pmtu configured down to 68, a genuine report of
  // 68 leaves 68 - 40 - 12 = 16 bytes per segment with timestamps; 48 is the floor.
  Conn c(ConnOptions{.ts = true, .harness = HarnessOptions{.configure = [](StackConfig& s) {
                                   s.ipv4.min_pmtu = 68;
                                 }}});
  c.send(kMss);
  auto f = c.h.pop_tx();
  ASSERT_TRUE(f.has_value());
  inject_frag_needed(c.h, quote_of(*f), 68);
  EXPECT_EQ(c.info().snd_mss, 48u);
}

}  // namespace
}  // namespace joyride::core::testing
