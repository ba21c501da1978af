// TCP options, segment by segment: the MSS we advertise and the segment size we use
// (RFC 9293 §3.7.1, RFC 6691: MSS = MTU - 40; timestamps take 12 bytes of every
// segment), window scaling both ways and never in SYNs (RFC 7323 §2), SACK blocks
// (RFC 2018 §4: most recent first, 3 fit beside timestamps, 4 without) and D-SACK
// (RFC 2883 §4), timestamps (RFC 7323 §4.3: TSecr = TS.Recent, which only an
// in-sequence segment updates; PAWS §5), and the SYN option layouts Linux uses.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "tcp_conn.h"

namespace joyride::core::testing {
namespace {

using base::Duration;
using base::SeqNum;

using Blocks = std::vector<std::pair<uint32_t, uint32_t>>;

// The raw option bytes of the next TCP segment sent (its header past byte 20).
Bytes next_option_bytes(TcpHarness& h) {
  auto f = h.pop_tx();
  if (!f || !f->ip || f->ip_payload.size() < 20) {
    ADD_FAILURE() << "expected a TCP segment";
    return {};
  }
  const size_t hl = size_t{static_cast<uint8_t>(f->ip_payload[12] >> 4)} * 4;
  return Bytes(f->ip_payload.begin() + 20, f->ip_payload.begin() + static_cast<std::ptrdiff_t>(hl));
}

// Where the option of `kind` starts in an options area, or its size if absent.
size_t find_option(const Bytes& o, uint8_t kind) {
  for (size_t i = 0; i < o.size();) {
    if (o[i] == kind) return i;
    if (o[i] == 0) break;  // end of options
    if (o[i] == 1) {       // NOP
      ++i;
      continue;
    }
    if (i + 1 >= o.size() || o[i + 1] < 2) break;
    i += o[i + 1];
  }
  return o.size();
}

// ---- MSS ------------------------------------------------------------------------------------

TEST(TcpOptions, SynAndSynAckAdvertiseTheMtuLessForty) {
  // RFC 9293 §3.7.1 / RFC 6691: the MSS option is the MTU less the 20-byte IP and
  // 20-byte TCP headers, whatever the peer offers.
  for (uint16_t mtu : {uint16_t{576}, uint16_t{1500}, uint16_t{9000}}) {
    SCOPED_TRACE(mtu);
    {
      TcpHarness h(HarnessOptions{.mtu = mtu});
      h.listen(80);
      auto syn = h.peer_segment(TcpFlags::kSyn, 1000, 0);
      syn.options.mss = 65495;  // a loopback-sized offer does not raise ours
      h.inject(syn);
      Seg sa = h.expect_segment();
      ASSERT_TRUE(sa.h.options.mss.has_value());
      EXPECT_EQ(*sa.h.options.mss, mtu - 40);
    }
    {
      TcpHarness h(HarnessOptions{.mtu = mtu});
      auto s = h.tcp().open();
      ASSERT_TRUE(h.tcp().connect(*s, Endpoint{kPeerIp, 80}, h.now).ok());
      Seg syn = h.expect_segment();
      ASSERT_TRUE(syn.h.options.mss.has_value());
      EXPECT_EQ(*syn.h.options.mss, mtu - 40);
    }
  }
}

TEST(TcpOptions, SegmentsNeverExceedThePeerMssOrOurMtu) {
  // The effective send MSS is min(peer's MSS, our MTU - 40), less 12 bytes when every
  // segment carries timestamps (RFC 7323 §3.2; Linux tcp_current_mss).
  struct Case {
    uint16_t mtu;
    uint16_t peer_mss;
    bool ts;
    uint32_t want;
  };
  const Case cases[] = {
      {576, 1460, true, 536 - 12},   {576, 1460, false, 536},   {1500, 1000, true, 1000 - 12},
      {1500, 1460, false, 1460},     {9000, 8960, false, 8960}, {9000, 8960, true, 8960 - 12},
      {9000, 1460, true, 1460 - 12},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(::testing::Message() << "mtu " << k.mtu << " peer mss " << k.peer_mss << " ts " << k.ts);
    Conn c(ConnOptions{.ts = k.ts, .peer_mss = k.peer_mss, .harness = HarnessOptions{.mtu = k.mtu}});
    EXPECT_EQ(c.info().snd_mss, k.want);
    ASSERT_EQ(c.send(2 * k.want + 100), 2 * k.want + 100);
    for (uint32_t off : {0u, k.want}) {
      Seg g = c.expect_data(off, k.want);
      EXPECT_LE(20u + g.h.header_len + g.payload.size(), k.mtu);
    }
    // The runt waits for an ACK (Nagle), then goes.
    c.h.expect_no_segment();
    c.ack(2 * k.want);
    c.expect_data(2 * k.want, 100);
    c.h.expect_no_segment();
  }
}

// ---- Window scaling --------------------------------------------------------------------------

TEST(TcpOptions, PeerWindowIsShiftedByItsScale) {
  // RFC 7323 §2.3: SND.WND = SEG.WND << Snd.Wind.Shift on every non-SYN segment.
  Conn c(ConnOptions{.ws = 3});
  EXPECT_EQ(c.info().snd_wscale, 3);
  c.peer_wnd = 1000;  // 8000 bytes
  c.ack(0);
  EXPECT_EQ(c.info().snd_wnd, 8000u);
  c.send(10 * kMss);
  for (uint32_t i = 0; i < 5; ++i) c.expect_data(i * kMss, kMss);
  // 700 bytes of window are left: less than half the largest window, so the
  // sender-side silly window rule holds them (RFC 9293 §3.8.6.2.1).
  c.h.expect_no_segment();
  c.peer_wnd = 2000;  // 16000 bytes from the acknowledged edge
  c.ack(5 * kMss);
  EXPECT_EQ(c.info().snd_wnd, 16000u);
  for (uint32_t i = 5; i < 10; ++i) c.expect_data(i * kMss, kMss);
  c.h.expect_no_segment();
}

TEST(TcpOptions, WindowInTheSynAckIsNotScaled) {
  // RFC 7323 §2.2: the window field of a SYN or SYN-ACK is never scaled, even when
  // the same segment carries the window scale option.
  TcpHarness h;
  auto s = h.tcp().open();
  ASSERT_TRUE(h.tcp().connect(*s, Endpoint{kPeerIp, 80}, h.now).ok());
  Seg syn = h.expect_segment();
  auto sa = h.peer_segment(TcpFlags::kSyn | TcpFlags::kAck, 9000, syn.seq().value() + 1, 0, 1000);
  sa.src_port = 80;
  sa.dst_port = syn.h.src_port;
  sa.options.mss = 1460;
  sa.options.window_scale = 4;
  h.inject(sa);
  Seg ack = h.expect_segment();
  EXPECT_EQ(ack.h.flags, TcpFlags::kAck);
  auto info = h.tcp().info(*s);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->snd_wscale, 4);
  EXPECT_EQ(info->snd_wnd, 1000u);  // not 16000
  // Only the 1000 bytes fit (half the largest window is 500: no SWS hold).
  Bytes data = pattern(3000);
  ASSERT_TRUE(h.tcp().send(*s, data, h.now).ok());
  Seg d = h.expect_segment();
  EXPECT_EQ(d.seq(), syn.seq() + 1);
  EXPECT_EQ(d.payload.size(), 1000u);
  h.expect_no_segment();
}

TEST(TcpOptions, OurWindowIsShiftedByOurScaleButNotInSyns) {
  // RFC 7323 §2.3: we send SEG.WND = RCV.WND >> Rcv.Wind.Shift; §2.2: not in SYNs.
  struct Case {
    const char* name;
    std::optional<uint8_t> peer_ws;
    uint8_t want_shift;
  };
  const Case cases[] = {{"peer scales", 2, 7}, {"peer does not scale", std::nullopt, 0}};
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    // The default 128 KB receive buffer: more than 64 KB of window to offer.
    Conn c(ConnOptions{.ws = k.peer_ws});
    EXPECT_EQ(c.info().rcv_wscale, k.want_shift);
    // The SYN-ACK offers the unscaled window, capped at 65535.
    EXPECT_EQ(c.synack.h.window, 65535);
    EXPECT_EQ(c.synack.h.options.window_scale.has_value(), k.peer_ws.has_value());
    if (k.peer_ws) {
      EXPECT_EQ(*c.synack.h.options.window_scale, k.want_shift);
    }
    c.data(0, kMss);
    c.data(kMss, kMss);
    Seg a = c.expect_ack(2 * kMss);
    const uint32_t rcv_wnd = c.info().rcv_wnd;
    if (k.want_shift == 0) {
      EXPECT_EQ(a.h.window, 65535);
      EXPECT_EQ(rcv_wnd, 65535u);
    } else {
      EXPECT_GT(rcv_wnd, 65535u);
      EXPECT_EQ(uint32_t{a.h.window} << k.want_shift, rcv_wnd);
      EXPECT_EQ(a.h.window, rcv_wnd >> k.want_shift);
    }
  }
}

// ---- SACK ------------------------------------------------------------------------------------

TEST(TcpOptions, SackBlocksMostRecentFirstAtMostThreeWithTimestampsFourWithout) {
  // RFC 2018 §3-4: the first block is the most recent; as many as fit in the 40 bytes
  // of options: 4 alone, 3 beside the 12 bytes of timestamps (10 + 2 NOPs).
  struct Case {
    bool ts;
    size_t max_blocks;
  };
  for (const Case& k : {Case{false, 4}, Case{true, 3}}) {
    SCOPED_TRACE(k.ts ? "timestamps" : "no timestamps");
    Conn c(ConnOptions{.ts = k.ts});
    Blocks sent;  // most recent first
    for (uint32_t i = 0; i < 5; ++i) {
      const uint32_t off = (2 * i + 1) * 100;
      c.data(off, 100);
      sent.insert(sent.begin(), {off, off + 100});
      Seg a = c.expect_ack(0);
      Blocks want(sent.begin(), sent.begin() + static_cast<std::ptrdiff_t>(std::min(sent.size(), k.max_blocks)));
      EXPECT_EQ(c.sacks(a), want) << "after segment " << i;
      EXPECT_LE(a.h.options_len(), 40u);
    }
    // Filling the first hole delivers [0, 200): the block that was the oldest leaves
    // the list and an older one, cut before, comes back into view.
    c.data(0, 100);
    Seg a = c.expect_ack(200);
    Blocks want = {{900, 1000}, {700, 800}, {500, 600}, {300, 400}};
    want.resize(std::min(want.size(), k.max_blocks));
    EXPECT_EQ(c.sacks(a), want);
    c.data(200, 100);
    Seg b = c.expect_ack(400);
    want = {{900, 1000}, {700, 800}, {500, 600}};
    EXPECT_EQ(c.sacks(b), want);
  }
}

TEST(TcpOptions, DsackComesFirstAndDisplacesTheOldestBlock) {
  // RFC 2883 §4: a duplicate's D-SACK is the first block; the usual blocks follow,
  // as many as still fit.
  struct Case {
    bool ts;
    Blocks want;
  };
  const Case cases[] = {
      {false, {{0, 100}, {700, 800}, {500, 600}, {300, 400}}},
      {true, {{0, 100}, {700, 800}, {500, 600}}},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.ts ? "timestamps" : "no timestamps");
    Conn c(ConnOptions{.ts = k.ts});
    c.data(0, 100);
    c.h.advance(Duration::millis(40));
    c.expect_ack(100);
    for (uint32_t off : {300u, 500u, 700u}) {
      c.data(off, 100);
      c.expect_ack(100);
    }
    c.data(0, 100);  // the peer retransmits what we had acknowledged
    Seg d = c.expect_ack(100);
    EXPECT_EQ(c.sacks(d), k.want);
    EXPECT_EQ(c.h.counter("tcp.dsack_sent"), 1u);
    // The D-SACK is reported once.
    c.data(100, 100);
    Seg n = c.expect_ack(200);
    EXPECT_EQ(c.sacks(n), (Blocks{{700, 800}, {500, 600}, {300, 400}}));
  }
}

TEST(TcpOptions, NoSackBlocksWhenThePeerDidNotOfferSack) {
  Conn c(ConnOptions{.sack = false});
  EXPECT_FALSE(c.synack.h.options.sack_permitted);
  c.data(kMss, kMss);
  Seg a = c.expect_ack(0);
  EXPECT_TRUE(a.h.options.sacks().empty());
  c.data(0, 100);
  c.h.advance(Duration::millis(40));
  c.expect_ack(100);
  c.data(0, 100);  // a duplicate: no D-SACK either
  Seg d = c.expect_ack(100);
  EXPECT_TRUE(d.h.options.sacks().empty());
  EXPECT_EQ(c.h.counter("tcp.dsack_sent"), 0u);
}

// ---- Timestamps ------------------------------------------------------------------------------

TEST(TcpOptions, TimestampsEchoTsRecentWhichOnlyInSequenceSegmentsUpdate) {
  // RFC 7323 §4.3: TSecr = TS.Recent; TS.Recent takes SEG.TSval only when
  // SEG.SEQ <= Last.ACK.sent (an out-of-order segment does not update it).
  Conn c(ConnOptions{.ts = true});
  ASSERT_TRUE(c.synack.h.options.timestamps.has_value());
  EXPECT_EQ(c.synack.h.options.timestamps->second, 5000u);  // echoes the SYN's TSval
  const uint32_t tsval0 = c.synack.h.options.timestamps->first;

  c.peer_tsval = 6000;
  c.data(0, 100);
  c.h.advance(Duration::millis(40));
  Seg a = c.expect_ack(100);
  ASSERT_TRUE(a.h.options.timestamps.has_value());
  EXPECT_EQ(a.h.options.timestamps->second, 6000u);
  // Our TSval is a millisecond clock: 40 ms later, 40 more.
  EXPECT_EQ(a.h.options.timestamps->first, tsval0 + 40);

  c.peer_tsval = 7000;
  c.data(200, 100);  // out of order: acknowledged at once, TS.Recent unchanged
  Seg b = c.expect_ack(100);
  EXPECT_EQ(b.h.options.timestamps->second, 6000u);

  c.peer_tsval = 6500;
  c.data(100, 100);  // fills the hole: in sequence, TS.Recent = 6500
  Seg d = c.expect_ack(300);
  EXPECT_EQ(d.h.options.timestamps->second, 6500u);

  // A pure ACK with a newer TSval, in sequence, also updates TS.Recent: our next
  // data segment echoes it.
  c.send(10);
  c.expect_data(0, 10);
  c.peer_tsval = 8000;
  c.rcv = 300;
  c.ack(10);
  c.send(10);
  Seg e = c.expect_data(10, 10);
  EXPECT_EQ(e.h.options.timestamps->second, 8000u);
}

TEST(TcpOptions, PawsDropsAnOldTimestampAndAcknowledges) {
  // RFC 7323 §5.3: a segment with SEG.TSval < TS.Recent is dropped and answered with
  // an ACK that still echoes TS.Recent.
  Conn c(ConnOptions{.ts = true});
  c.peer_tsval = 6000;
  c.data(0, 100);
  c.h.advance(Duration::millis(40));
  c.expect_ack(100);
  c.peer_tsval = 5999;
  c.data(100, 100);
  Seg a = c.expect_ack(100);
  EXPECT_EQ(a.h.options.timestamps->second, 6000u);
  EXPECT_EQ(c.h.counter("tcp.drop_paws"), 1u);
  EXPECT_EQ(c.info().bytes_received, 100u);
}

// ---- Options the peer did not offer ------------------------------------------------------------

TEST(TcpOptions, NoOptionsThePeerDidNotOffer) {
  // RFC 7323 §3.2 / RFC 2018 §2: timestamps, SACK blocks and window scaling only when
  // the peer's SYN offered them; the SYN-ACK then carries the MSS alone.
  Conn c(ConnOptions{.sack = false});
  EXPECT_EQ(c.synack.h.options_len(), 4u);
  EXPECT_TRUE(c.synack.h.options.mss.has_value());
  EXPECT_FALSE(c.info().timestamps);
  EXPECT_FALSE(c.info().sack);
  EXPECT_EQ(c.info().snd_wscale, 0);
  EXPECT_EQ(c.info().rcv_wscale, 0);
  c.send(kMss + 10);
  Seg d = c.expect_data(0, kMss);
  EXPECT_EQ(d.h.header_len, 20);
  c.data(kMss, 100);  // out of order
  Seg a = c.expect_ack(0);
  EXPECT_EQ(a.h.header_len, 20);
  c.data(0, kMss);
  Seg b = c.expect_ack(kMss + 100);
  EXPECT_EQ(b.h.header_len, 20);
}

TEST(TcpOptions, TimestampsOnlyWhenOfferedAndThenOnEverySegment) {
  // RFC 7323 §3.2: once negotiated, every non-RST segment carries timestamps.
  Conn c(ConnOptions{.sack = false, .ts = true});
  EXPECT_TRUE(c.info().timestamps);
  c.send(100);
  Seg d = c.expect_data(0, 100);
  EXPECT_EQ(d.h.options_len(), 12u);
  ASSERT_TRUE(d.h.options.timestamps.has_value());
  c.data(0, 100);
  c.h.advance(Duration::millis(40));
  Seg a = c.expect_ack(100);
  EXPECT_EQ(a.h.options_len(), 12u);
  EXPECT_FALSE(a.h.options.mss.has_value());
  EXPECT_FALSE(a.h.options.window_scale.has_value());
}

// ---- SYN layouts -----------------------------------------------------------------------------

TEST(TcpOptions, SynOptionLayoutIsLinuxs) {
  // Linux tcp_options_write: MSS, SACK-permitted + timestamps, NOP + window scale (20
  // bytes); without timestamps: MSS, NOP NOP SACK-permitted, NOP window scale (12).
  struct Case {
    const char* name;
    bool ts;
    Bytes before_ts;  // up to the TSval
    Bytes after_ts;   // after the TSecr (or everything, without timestamps)
  };
  const Case cases[] = {
      {"timestamps", true, {2, 4, 0x05, 0xb4, 4, 2, 8, 10}, {1, 3, 3, 7}},
      {"no timestamps", false, {}, {2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7}},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    TcpHarness h(HarnessOptions{.configure = [&](StackConfig& sc) { sc.tcp.timestamps = k.ts; }});
    auto s = h.tcp().open();
    ASSERT_TRUE(h.tcp().connect(*s, Endpoint{kPeerIp, 80}, h.now).ok());
    const Bytes o = next_option_bytes(h);
    const size_t want_len = k.ts ? 20 : 12;
    ASSERT_EQ(o.size(), want_len);
    EXPECT_EQ(Bytes(o.begin(), o.begin() + static_cast<std::ptrdiff_t>(k.before_ts.size())), k.before_ts);
    if (k.ts) {
      // TSecr is zero in a SYN (RFC 7323 §3.2).
      EXPECT_EQ(Bytes(o.begin() + 12, o.begin() + 16), (Bytes{0, 0, 0, 0}));
    }
    EXPECT_EQ(Bytes(o.end() - static_cast<std::ptrdiff_t>(k.after_ts.size()), o.end()), k.after_ts);
  }
}

TEST(TcpOptions, SynAckOptionLayoutIsLinuxs) {
  struct Case {
    const char* name;
    bool sack, ts, ws;
    Bytes want;  // with the timestamp values zeroed
  };
  const Case cases[] = {
      {"all", true, true, true, {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 3, 7}},
      {"no ts", true, false, true, {2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7}},
      {"ts, no sack", false, true, true, {2, 4, 0x05, 0xb4, 1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 3, 7}},
      {"sack only", true, false, false, {2, 4, 0x05, 0xb4, 1, 1, 4, 2}},
      {"mss only", false, false, false, {2, 4, 0x05, 0xb4}},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    TcpHarness h;
    h.listen(80);
    auto syn = h.peer_segment(TcpFlags::kSyn, 1000, 0);
    syn.options.mss = 1460;
    syn.options.sack_permitted = k.sack;
    if (k.ts) syn.options.timestamps = std::pair{0x01020304u, 0u};
    if (k.ws) syn.options.window_scale = 2;
    h.inject(syn);
    Bytes o = next_option_bytes(h);
    ASSERT_EQ(o.size(), k.want.size());
    if (k.ts) {
      // Find the timestamp option; it echoes the SYN's TSval.
      const auto at = static_cast<std::ptrdiff_t>(find_option(o, 8));
      ASSERT_LE(static_cast<size_t>(at) + 10, o.size());
      EXPECT_EQ(Bytes(o.begin() + at + 6, o.begin() + at + 10), (Bytes{1, 2, 3, 4}));
      std::fill(o.begin() + at + 2, o.begin() + at + 10, uint8_t{0});
    }
    EXPECT_EQ(o, k.want);
  }
}

}  // namespace
}  // namespace joyride::core::testing
