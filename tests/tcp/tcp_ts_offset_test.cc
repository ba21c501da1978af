// TSval = our millisecond clock + an offset per connection (RFC 7323 §7.1): a keyed
// hash of the 4-tuple. The attack: an observer opens (or watches) two connections to
// us and compares their TSvals; with one clock for the host (or one offset per address
// pair) their difference is the time between them, which links the connections to
// one host and, with a raw clock, tells our uptime. The offset must still be the same
// for the same 4-tuple, so a connection that takes over a TIME-WAIT pair keeps TSvals
// monotonic for the peer's PAWS.
#include <gtest/gtest.h>

#include "tcp_harness.h"

namespace joyride::core::testing {
namespace {

using base::Duration;

constexpr uint32_t kPeerIss = 1000;
constexpr uint32_t kMillisAtStart = 1'000'000;  // kStart is 10^12 ns

// The TSval of the SYN a connect() from `local_port` to the peer's port 80 sends.
uint32_t connect_tsval(TcpHarness& h, uint16_t local_port) {
  auto s = h.tcp().open();
  EXPECT_TRUE(s.ok());
  EXPECT_TRUE(h.tcp().bind(*s, Endpoint{kOurIp, local_port}).ok());
  EXPECT_TRUE(h.tcp().connect(*s, Endpoint{kPeerIp, 80}, h.now).ok());
  Seg syn = h.expect_segment();
  h.tcp().close(*s, h.now);  // SYN-SENT: gone at once
  EXPECT_TRUE(syn.h.options.timestamps.has_value());
  return syn.h.options.timestamps ? syn.h.options.timestamps->first : 0;
}

// The TSval of our SYN-ACK to a SYN from the peer's `peer_port` (then reset away).
uint32_t synack_tsval(TcpHarness& h, uint16_t peer_port) {
  auto syn = h.peer_segment(TcpFlags::kSyn, kPeerIss, 0);
  syn.src_port = peer_port;
  syn.options.timestamps = std::pair{7000u, 0u};
  h.inject(syn);
  Seg sa = h.expect_segment();
  auto rst = h.peer_segment(TcpFlags::kRst, kPeerIss + 1, 0);
  rst.src_port = peer_port;
  h.inject(rst);
  EXPECT_TRUE(sa.h.options.timestamps.has_value());
  return sa.h.options.timestamps ? sa.h.options.timestamps->first : 0;
}

TEST(TcpTsOffset, TwoConnectionsToOnePeerShowUnrelatedClocks) {
  TcpHarness h;
  const uint32_t first = connect_tsval(h, 5000);
  h.advance(Duration::millis(1000));
  const uint32_t second = connect_tsval(h, 5001);
  // With one offset for the address pair this is exactly 1000.
  EXPECT_NE(second - first, 1000u);
  EXPECT_NE(first, kMillisAtStart) << "not the raw clock";
  // The same port again: its own clock, which moved by the elapsed time.
  h.advance(Duration::millis(1000));
  EXPECT_EQ(connect_tsval(h, 5000) - first, 2000u);
}

TEST(TcpTsOffset, TwoPassiveConnectionsShowUnrelatedClocks) {
  TcpHarness h;
  h.listen(80);
  const uint32_t first = synack_tsval(h, 40000);
  h.advance(Duration::millis(250));
  const uint32_t second = synack_tsval(h, 40001);
  EXPECT_NE(second - first, 250u);
  h.advance(Duration::millis(250));
  EXPECT_EQ(synack_tsval(h, 40000) - first, 500u) << "one offset per 4-tuple";
}

TEST(TcpTsOffset, SynCookieSynAckUsesTheTuplesOffsetToo) {
  // The SYN-ACK a full SYN queue answers with a cookie: its TSval (low bits carry the
  // options) is within 63 ms below the tuple's own clock, never the raw clock.
  TcpHarness h;
  h.listen(80, /*backlog=*/0);
  auto syn = h.peer_segment(TcpFlags::kSyn, kPeerIss, 0);
  syn.src_port = 39999;
  h.inject(syn);  // stays in the SYN queue, which is now full
  h.expect_segment();
  const uint32_t a = synack_tsval(h, 40000);
  const uint32_t b = synack_tsval(h, 40001);
  EXPECT_EQ(h.counter("tcp.syncookies_sent"), 2u);
  EXPECT_GT(static_cast<uint32_t>(a - b) + 64u, 128u) << "two tuples, same instant: offsets apart";
}

// An active connection from port 50000 to the peer, closed by us: TIME-WAIT, with
// timestamps. tcp_tw_reuse = 1 lets a later connect() take the pair over.
struct ActiveTimeWait {
  static constexpr uint16_t kPort = 50000;
  TcpHarness h{HarnessOptions{.configure = [](StackConfig& c) {
    c.tcp.ephemeral_low = c.tcp.ephemeral_high = kPort;
    c.tcp.tw_reuse = 1;
  }}};
  uint32_t syn_tsval = 0;
  base::Instant syn_at;

  ActiveTimeWait() {
    auto s = h.tcp().open();
    EXPECT_TRUE(h.tcp().connect(*s, Endpoint{kPeerIp, TcpHarness::kPeerPort}, h.now).ok());
    Seg syn = h.expect_segment();
    syn_tsval = syn.h.options.timestamps->first;
    syn_at = h.now;
    const uint32_t iss = syn.seq().value();
    auto sa = h.peer_segment(TcpFlags::kSyn | TcpFlags::kAck, kPeerIss, iss + 1, kPort);
    sa.options.mss = 1460;
    sa.options.timestamps = std::pair{5000u, syn_tsval};
    h.inject(sa);
    h.expect_segment();
    h.tcp().close(*s, h.now);
    Seg fin = h.expect_segment();
    auto fa = h.peer_segment(TcpFlags::kFin | TcpFlags::kAck, kPeerIss + 1, iss + 2, kPort);
    fa.options.timestamps = std::pair{5002u, fin.h.options.timestamps->first};
    h.inject(fa);
    h.expect_segment();
    EXPECT_EQ(h.tcp().state(*s), TcpState::kTimeWait);
  }
};

TEST(TcpTsOffset, TheSameTupleAfterTimeWaitKeepsItsOffset) {
  ActiveTimeWait tw;
  tw.h.advance(Duration::seconds(5));
  auto s = tw.h.tcp().open();
  ASSERT_TRUE(tw.h.tcp().connect(*s, Endpoint{kPeerIp, TcpHarness::kPeerPort}, tw.h.now).ok());
  Seg syn = tw.h.expect_segment();
  ASSERT_EQ(tw.h.counter("tcp.time_wait_recycled"), 1u);
  ASSERT_TRUE(syn.h.options.timestamps.has_value());
  // The new incarnation's clock is the old one's, moved on by the time between: the
  // peer's PAWS sees TSvals that only grow.
  const auto elapsed_ms = static_cast<uint32_t>((tw.h.now - tw.syn_at).as_nanos() / 1'000'000);
  EXPECT_EQ(syn.h.options.timestamps->first - tw.syn_tsval, elapsed_ms);
}

}  // namespace
}  // namespace joyride::core::testing
