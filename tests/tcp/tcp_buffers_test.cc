// Socket buffers come from the host's BufferProvider (buffer_provider.h): a
// connection takes its two rings from it, grows them through it (auto-tuning) and
// gives every byte back when it ends. When the provider refuses, no connection is
// made at all, as Linux refuses one it cannot allocate for: connect() fails with
// ENOBUFS, and a listener drops the SYN (counted) so the peer's retransmission may
// find buffers. Before, such a connection opened with a zero window or a send()
// that said EAGAIN forever.
#include <gtest/gtest.h>

#include <limits>

#include "joyride/base/buffer_provider.h"
#include "tcp_conn.h"

namespace joyride::core::testing {
namespace {

constexpr Duration kRtt = Duration::millis(10);

// Heap buffers, counted, with a switch that makes allocate() refuse after `allow`
// more successful allocations.
class CountingProvider final : public base::BufferProvider {
 public:
  std::span<uint8_t> allocate(size_t bytes) override {
    ++allocations;
    if (allow == 0) {
      ++refused;
      return {};
    }
    if (allow != kUnlimited) --allow;
    return heap.allocate(bytes);
  }
  void release(std::span<uint8_t> storage) override {
    if (!storage.empty()) ++releases;
    heap.release(storage);
  }
  size_t outstanding_bytes() const { return heap.outstanding_bytes(); }
  size_t outstanding_buffers() const { return heap.outstanding_buffers(); }

  static constexpr size_t kUnlimited = std::numeric_limits<size_t>::max();
  size_t allow = kUnlimited;
  uint64_t allocations = 0, refused = 0, releases = 0;
  base::HeapBufferProvider heap;  // asserts (debug) on a release it did not hand out
};

TEST(TcpBuffers, PassiveConnectionTakesItsRingsFromTheProviderAndGivesThemAllBack) {
  CountingProvider p;
  ConnOptions o{.ws = 7, .cc = "newreno", .handshake_rtt = kRtt};
  o.harness.buffers = &p;
  Conn c(o);
  ASSERT_EQ(c.h.tcp().state(c.s), TcpState::kEstablished);
  EXPECT_EQ(p.outstanding_buffers(), 2u);
  EXPECT_EQ(p.outstanding_bytes(), c.info().sndbuf + c.info().rcvbuf);
  const size_t rcvbuf0 = c.info().rcvbuf, sndbuf0 = c.info().sndbuf;

  // Receive auto-tuning: 50 segments read within an RTT grow the receive ring.
  for (uint32_t i = 0; i < 50; ++i) c.data(i * kMss, kMss);
  c.rcv = 50 * kMss;
  c.h.advance(kRtt);
  EXPECT_EQ(c.read(50 * kMss), 50 * kMss);
  EXPECT_GT(c.info().rcvbuf, rcvbuf0);
  // Send auto-tuning: a bulk sender whose cwnd outgrows the send ring.
  const Bytes chunk = pattern(1 << 20);
  uint32_t sent = 0;
  for (int round = 0; round < 20 && c.info().sndbuf == sndbuf0; ++round) {
    (void)c.h.tcp().send(c.s, chunk, c.h.now);
    while (auto g = c.h.pop_segment()) {
      sent = std::max<uint32_t>(sent, static_cast<uint32_t>(g->seq() - c.us(0) + g->payload.size()));
    }
    c.ack(sent);
  }
  EXPECT_GT(c.info().sndbuf, sndbuf0);
  // Both grew through the provider, the old rings given back: two outstanding, of
  // exactly the sizes the connection reports.
  EXPECT_EQ(p.outstanding_buffers(), 2u);
  EXPECT_EQ(p.outstanding_bytes(), c.info().sndbuf + c.info().rcvbuf);
  EXPECT_EQ(p.allocations, 4u);
  EXPECT_EQ(p.releases, 2u);

  // Drain what is in flight, then an active close through TIME-WAIT.
  while (c.info().send_queued != 0) {
    (void)c.h.pop_segment();
    while (auto g = c.h.pop_segment()) {
      sent = std::max<uint32_t>(sent, static_cast<uint32_t>(g->seq() - c.us(0) + g->payload.size()));
    }
    c.ack(sent);
    while (auto g = c.h.pop_segment()) {
      sent = std::max<uint32_t>(sent, static_cast<uint32_t>(g->seq() - c.us(0) + g->payload.size()));
    }
    c.ack(sent);
  }
  while (c.h.pop_segment()) {
  }
  c.h.tcp().close(c.s, c.h.now);
  Seg fin = c.expect();
  ASSERT_TRUE(fin.has(TcpFlags::kFin));
  c.ack(sent + 1);
  c.h.inject(c.seg(TcpFlags::kFin | TcpFlags::kAck, c.them(c.rcv).value(), c.us(sent + 1).value()));
  c.expect_ack(c.rcv + 1);
  EXPECT_EQ(c.h.tcp().state(c.s), TcpState::kTimeWait);
  // Closed before TIME-WAIT: both rings go back on entering it (nobody can read the
  // receive ring), so the 60 s of TIME-WAIT hold no buffer memory.
  EXPECT_EQ(p.outstanding_buffers(), 0u);
  EXPECT_EQ(p.outstanding_bytes(), 0u);
  c.h.advance(Duration::seconds(60));
  EXPECT_FALSE(c.h.tcp().state(c.s).has_value());
  EXPECT_EQ(p.outstanding_bytes(), 0u);
  EXPECT_EQ(p.releases, p.allocations);
}

// shutdown(SHUT_WR) and the peer's FIN with data the application has not read yet:
// TIME-WAIT keeps the receive ring while the socket is open (the data is still
// readable), and gives it back when the application closes; the ACK to a
// retransmitted FIN still announces the window it announced before.
TEST(TcpBuffers, TimeWaitKeepsTheReceiveRingOnlyUntilTheApplicationCloses) {
  CountingProvider p;
  ConnOptions o{.ws = 7, .cc = "newreno", .handshake_rtt = kRtt};
  o.harness.buffers = &p;
  Conn c(o);
  ASSERT_TRUE(c.h.tcp().shutdown(c.s, false, true, c.h.now));
  Seg fin = c.expect();
  ASSERT_TRUE(fin.has(TcpFlags::kFin));
  c.ack(1);
  c.data(0, 100, TcpFlags::kAck | TcpFlags::kPsh | TcpFlags::kFin);
  const Seg first = c.expect_ack(101);
  ASSERT_EQ(c.h.tcp().state(c.s), TcpState::kTimeWait);
  EXPECT_EQ(p.outstanding_buffers(), 1u);  // the receive ring, holding the 100 bytes
  uint8_t buf[100];
  auto n = c.h.tcp().recv(c.s, buf, c.h.now);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 100u);
  c.h.tcp().close(c.s, c.h.now);
  EXPECT_EQ(c.h.tcp().state(c.s), TcpState::kTimeWait);
  EXPECT_EQ(p.outstanding_buffers(), 0u);
  EXPECT_EQ(p.outstanding_bytes(), 0u);
  // The peer did not hear our ACK: its FIN again, answered with the same window.
  c.h.advance(Duration::seconds(1));
  c.h.inject(c.seg(TcpFlags::kFin | TcpFlags::kAck, c.them(100).value(), c.us(1).value()));
  const Seg again = c.expect_ack(101);
  EXPECT_EQ(again.h.window, first.h.window);
  c.h.advance(Duration::seconds(60));
  EXPECT_FALSE(c.h.tcp().state(c.s).has_value());
  EXPECT_EQ(p.releases, p.allocations);
}

// connect() to a scripted peer that answers, then closes first (LAST-ACK).
TEST(TcpBuffers, ActiveConnectionGivesItsRingsBack) {
  CountingProvider p;
  TcpHarness h(HarnessOptions{.buffers = &p});
  auto s = h.tcp().open();
  ASSERT_TRUE(h.tcp().connect(*s, Endpoint{kPeerIp, 80}, h.now).ok());
  Seg syn = h.expect_segment();
  EXPECT_EQ(p.outstanding_buffers(), 2u);
  const uint16_t port = syn.h.src_port;
  auto from_peer = [&](uint8_t flags, uint32_t seq, uint32_t ack) {
    auto t = h.peer_segment(flags, seq, ack, port);
    t.src_port = 80;
    return t;
  };
  const uint32_t una = syn.seq().value() + 1;
  h.inject(from_peer(TcpFlags::kSyn | TcpFlags::kAck, 9000, una));
  h.expect_segment();
  ASSERT_EQ(h.tcp().state(*s), TcpState::kEstablished);
  h.inject(from_peer(TcpFlags::kFin | TcpFlags::kAck, 9001, una));
  h.expect_segment();
  h.tcp().close(*s, h.now);
  EXPECT_TRUE(h.expect_segment().has(TcpFlags::kFin));
  h.inject(from_peer(TcpFlags::kAck, 9002, una + 1));
  EXPECT_EQ(h.tcp().connections(), 0u);
  EXPECT_EQ(p.outstanding_bytes(), 0u);
  EXPECT_EQ(p.releases, 2u);
}

TEST(TcpBuffers, ConnectWithoutBuffersFailsWithEnobufsAndMayBeRetried) {
  for (size_t allow : {size_t{0}, size_t{1}}) {  // none at all; the send ring only
    SCOPED_TRACE(allow);
    CountingProvider p;
    TcpHarness h(HarnessOptions{.buffers = &p});
    auto s = h.tcp().open();
    p.allow = allow;
    auto r = h.tcp().connect(*s, Endpoint{kPeerIp, 80}, h.now);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), ConnectError::kNoBuffers);
    h.expect_no_segment();
    EXPECT_EQ(h.tcp().state(*s), TcpState::kClosed);
    EXPECT_EQ(p.outstanding_bytes(), 0u) << "a ring taken before the refusal is given back";
    // The host finds memory: the same socket connects.
    p.allow = CountingProvider::kUnlimited;
    ASSERT_TRUE(h.tcp().connect(*s, Endpoint{kPeerIp, 80}, h.now).ok());
    EXPECT_EQ(h.expect_segment().h.flags, TcpFlags::kSyn);
    EXPECT_EQ(p.outstanding_buffers(), 2u);
  }
}

TEST(TcpBuffers, ListenerDropsASynItHasNoBuffersFor) {
  for (size_t allow : {size_t{0}, size_t{1}}) {
    SCOPED_TRACE(allow);
    CountingProvider p;
    TcpHarness h(HarnessOptions{.buffers = &p});
    // Backlog 0: one request fits the SYN queue; a slot the dropped SYN kept would
    // send the retransmission to a SYN cookie instead.
    SocketId l = h.listen(80, 0);
    const size_t conns = h.tcp().connections();
    p.allow = allow;
    h.inject(h.peer_segment(TcpFlags::kSyn, 1000, 0));
    h.expect_no_segment();
    EXPECT_EQ(h.counter("tcp.drop_no_buffers"), 1u);
    EXPECT_EQ(h.tcp().connections(), conns);
    EXPECT_EQ(p.outstanding_bytes(), 0u);
    // The peer retransmits its SYN once buffers are there again.
    p.allow = CountingProvider::kUnlimited;
    auto [c, iss] = h.accept_connection(l, 1000, wire::TcpOptions{});
    (void)iss;
    EXPECT_EQ(h.counter("tcp.syncookies_sent"), 0u);
    EXPECT_EQ(h.tcp().state(c), TcpState::kEstablished);
    EXPECT_EQ(p.outstanding_buffers(), 2u);
  }
}

}  // namespace
}  // namespace joyride::core::testing
