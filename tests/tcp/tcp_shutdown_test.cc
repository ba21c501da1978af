// shutdown() where Linux's inet_shutdown (net/ipv4/af_inet.c) does not simply
// close a direction, and the port an ended connection gives back:
// - SYN-SENT, any direction: tcp_disconnect. CLOSE without an RST, ECONNRESET
//   pending (SO_ERROR, then recv/send report it once), poll POLLERR|POLLHUP|POLLOUT,
//   and the socket is unconnected: the next connect() starts over and clears the
//   error (tcp_connect_init).
// - LISTEN: SHUT_RD is tcp_disconnect (the listener stops, its queued connections
//   are reset, and it may listen() or connect() again); SHUT_WR alone does nothing.
// - CLOSE: ENOTCONN.
// - A port connect() chose is free again when the connection reaches CLOSE
//   (tcp_set_state -> inet_put_port unless SOCK_BINDPORT_LOCK); a bound one stays.
// Checked against Linux 6.18 from user space (non-blocking connect to an address
// that does not answer).
#include <gtest/gtest.h>

#include "tcp_harness.h"

namespace joyride::core::testing {
namespace {

const Endpoint kPeer{kPeerIp, TcpHarness::kPeerPort};
constexpr uint32_t kPeerIss = 9000;

struct Attempt {
  SocketId s;
  uint16_t port = 0;
  uint32_t iss = 0;
};

Attempt connect_from(TcpHarness& h, SocketId s) {
  Attempt a;
  a.s = s;
  auto r = h.tcp().connect(s, kPeer, h.now);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : to_string(r.error()));
  Seg syn = h.expect_segment();
  EXPECT_EQ(syn.h.flags, TcpFlags::kSyn);
  a.port = syn.h.src_port;
  a.iss = syn.seq().value();
  return a;
}

Attempt start_connect(TcpHarness& h) {
  auto s = h.tcp().open();
  EXPECT_TRUE(s.ok());
  return connect_from(h, *s);
}

TcpHarness one_port_harness() {
  return TcpHarness(HarnessOptions{.configure = [](StackConfig& c) {
    c.tcp.ephemeral_low = c.tcp.ephemeral_high = 50000;
  }});
}

TEST(TcpShutdown, InSynSentDisconnectsWithoutRstAndLeavesConnectionReset) {
  struct Case {
    const char* name;
    bool read, write;
  };
  for (const Case& c : {Case{"SHUT_RD", true, false}, Case{"SHUT_WR", false, true}, Case{"SHUT_RDWR", true, true}}) {
    SCOPED_TRACE(c.name);
    TcpHarness h;
    Attempt a = start_connect(h);
    EXPECT_TRUE(h.tcp().shutdown(a.s, c.read, c.write, h.now));
    h.expect_no_segment();  // no RST, and no SYN retransmission later
    EXPECT_EQ(h.tcp().state(a.s), TcpState::kClosed);
    EXPECT_EQ(h.tcp().readiness(a.s), uint32_t{kError | kHangup | kWritable});
    h.advance(base::Duration::seconds(10));
    h.expect_no_segment();
    // The peer's late SYN-ACK finds no connection: reset.
    h.inject(h.peer_segment(TcpFlags::kSyn | TcpFlags::kAck, kPeerIss, a.iss + 1, a.port));
    Seg rst = h.expect_segment();
    EXPECT_TRUE(rst.has(TcpFlags::kRst));
    EXPECT_EQ(h.tcp().state(a.s), TcpState::kClosed);
    // A second shutdown: CLOSE, ENOTCONN.
    EXPECT_FALSE(h.tcp().shutdown(a.s, true, true, h.now));
  }
}

// The pending ECONNRESET is reported once, by whichever call comes first; after it
// the socket answers as a never-connected one (recv ENOTCONN, send EPIPE).
TEST(TcpShutdown, InSynSentTheErrorIsReportedOnce) {
  enum class Taker { kTakeError, kRecv, kSend };
  for (Taker taker : {Taker::kTakeError, Taker::kRecv, Taker::kSend}) {
    SCOPED_TRACE(static_cast<int>(taker));
    TcpHarness h;
    Attempt a = start_connect(h);
    ASSERT_TRUE(h.tcp().shutdown(a.s, false, true, h.now));
    std::array<uint8_t, 4> b{};
    switch (taker) {
      case Taker::kTakeError: EXPECT_EQ(h.tcp().take_error(a.s), RecvError::kConnectionReset); break;
      case Taker::kRecv: EXPECT_EQ(h.tcp().recv(a.s, b, h.now).error(), RecvError::kConnectionReset); break;
      case Taker::kSend: EXPECT_EQ(h.tcp().send(a.s, b, h.now).error(), SendError::kConnectionReset); break;
    }
    EXPECT_EQ(h.tcp().take_error(a.s), std::nullopt);
    EXPECT_EQ(h.tcp().readiness(a.s), 0u);
    EXPECT_EQ(h.tcp().recv(a.s, b, h.now).error(), RecvError::kNotConnected);
    EXPECT_EQ(h.tcp().send(a.s, b, h.now).error(), SendError::kBrokenPipe);
    // Unconnected, not failed: connect() starts a new attempt at once.
    Attempt again = connect_from(h, a.s);
    EXPECT_EQ(h.tcp().state(a.s), TcpState::kSynSent);
    (void)again;
  }
}

// connect() after shutdown() without the error taken: a new attempt, not the error,
// and the new attempt clears it (tcp_connect_init: sk_err = 0).
TEST(TcpShutdown, ConnectAfterShutdownStartsOverAndClearsTheError) {
  TcpHarness h;
  Attempt a = start_connect(h);
  ASSERT_TRUE(h.tcp().shutdown(a.s, true, true, h.now));
  Attempt again = connect_from(h, a.s);
  EXPECT_EQ(h.tcp().take_error(a.s), std::nullopt);
  EXPECT_EQ(h.tcp().readiness(a.s) & kError, 0u);
  h.inject(h.peer_segment(TcpFlags::kSyn | TcpFlags::kAck, kPeerIss, again.iss + 1, again.port));
  EXPECT_EQ(h.expect_segment().h.flags, TcpFlags::kAck);
  EXPECT_EQ(h.tcp().state(a.s), TcpState::kEstablished);
  EXPECT_TRUE(h.tcp().connect(a.s, kPeer, h.now).ok());  // the success, once
}

// The port connect() chose is free the moment the attempt ends, whether by
// shutdown(), an RST or a timeout, before the socket is used again; a port bind()
// named stays the socket's.
TEST(TcpShutdown, AChosenPortIsFreeAtCloseABoundOneStays) {
  enum class End { kShutdown, kRst, kSynTimeout };
  for (End end : {End::kShutdown, End::kRst, End::kSynTimeout}) {
    SCOPED_TRACE(static_cast<int>(end));
    TcpHarness h = one_port_harness();
    Attempt a = start_connect(h);
    ASSERT_EQ(a.port, 50000);
    switch (end) {
      case End::kShutdown: ASSERT_TRUE(h.tcp().shutdown(a.s, false, true, h.now)); break;
      case End::kRst: h.inject(h.peer_segment(TcpFlags::kRst | TcpFlags::kAck, 0, a.iss + 1, a.port)); break;
      case End::kSynTimeout:
        for (int i = 0; i < 300 && h.tcp().state(a.s) == TcpState::kSynSent; ++i) {
          h.advance(base::Duration::seconds(1));
          while (h.pop_segment()) {
          }
        }
        break;
    }
    ASSERT_EQ(h.tcp().state(a.s), TcpState::kClosed);
    // The only ephemeral port, free again: another socket's connect() gets it, and
    // another socket may bind it.
    Attempt b = start_connect(h);
    EXPECT_EQ(b.port, 50000);
    h.tcp().close(b.s, h.now);
    auto c = h.tcp().open();
    ASSERT_TRUE(c.ok());
    EXPECT_TRUE(h.tcp().bind(*c, Endpoint{kOurIp, 50000}).ok());
  }
  {
    SCOPED_TRACE("bound");
    TcpHarness h;
    auto s = h.tcp().open();
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(h.tcp().bind(*s, Endpoint{kOurIp, 5555}).ok());
    Attempt a = connect_from(h, *s);
    ASSERT_TRUE(h.tcp().shutdown(a.s, false, true, h.now));
    auto other = h.tcp().open();
    EXPECT_EQ(h.tcp().bind(*other, Endpoint{kOurIp, 5555}).error(), BindError::kAddressInUse);
    EXPECT_EQ(h.tcp().local_endpoint(*s)->port, 5555);
    EXPECT_EQ(connect_from(h, *s).port, 5555);
  }
}

// SHUT_RD on a listener stops it: a connection waiting for accept() is reset, an
// embryonic one is dropped silently (its completing ACK then meets an RST), new SYNs
// are reset, and the socket may listen again on its bound port.
TEST(TcpShutdown, ReadShutdownStopsAListenerWhichMayListenAgain) {
  TcpHarness h;
  SocketId l = h.listen(80);
  // One connection established and queued for accept().
  h.inject(h.peer_segment(TcpFlags::kSyn, kPeerIss, 0));
  Seg sa = h.expect_segment();
  h.inject(h.peer_segment(TcpFlags::kAck, kPeerIss + 1, sa.seq().value() + 1));
  // One still in SYN-RECEIVED, from another peer port.
  auto syn2 = h.peer_segment(TcpFlags::kSyn, kPeerIss, 0);
  syn2.src_port = TcpHarness::kPeerPort + 1;
  h.inject(syn2);
  Seg sa2 = h.expect_segment();
  ASSERT_TRUE(sa2.has(TcpFlags::kSyn | TcpFlags::kAck));

  ASSERT_TRUE(h.tcp().shutdown(l, true, false, h.now));
  Seg rst = h.expect_segment();
  EXPECT_TRUE(rst.has(TcpFlags::kRst));
  EXPECT_EQ(rst.h.dst_port, TcpHarness::kPeerPort);
  h.expect_no_segment();
  EXPECT_EQ(h.tcp().state(l), TcpState::kClosed);  // the handle lives on
  EXPECT_EQ(h.tcp().accept(l).error(), AcceptError::kInvalid);
  EXPECT_EQ(h.tcp().take_error(l), std::nullopt);  // no error for a listener
  EXPECT_EQ(h.tcp().connections(), 1u);

  auto ack2 = h.peer_segment(TcpFlags::kAck, kPeerIss + 1, sa2.seq().value() + 1);
  ack2.src_port = TcpHarness::kPeerPort + 1;
  h.inject(ack2);
  EXPECT_TRUE(h.expect_segment().has(TcpFlags::kRst));
  h.inject(h.peer_segment(TcpFlags::kSyn, kPeerIss + 100, 0));
  EXPECT_TRUE(h.expect_segment().has(TcpFlags::kRst));

  // Port 80 was bound by bind(): still ours.
  auto other = h.tcp().open();
  EXPECT_EQ(h.tcp().bind(*other, Endpoint{kOurIp, 80}).error(), BindError::kAddressInUse);
  ASSERT_TRUE(h.tcp().listen(l, 16).ok());
  EXPECT_EQ(h.tcp().local_endpoint(l)->port, 80);
  h.inject(h.peer_segment(TcpFlags::kSyn, kPeerIss + 200, 0));
  EXPECT_TRUE(h.expect_segment().has(TcpFlags::kSyn | TcpFlags::kAck));
}

// listen() without bind() chose the port: SHUT_RD gives it back. The stopped
// listener may also connect().
TEST(TcpShutdown, ReadShutdownGivesBackAListenersChosenPortAndAllowsConnect) {
  TcpHarness h;
  auto s = h.tcp().open();
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(h.tcp().listen(*s, 16).ok());
  const uint16_t port = h.tcp().local_endpoint(*s)->port;
  ASSERT_NE(port, 0);
  ASSERT_TRUE(h.tcp().shutdown(*s, true, true, h.now));
  h.expect_no_segment();
  auto other = h.tcp().open();
  EXPECT_TRUE(h.tcp().bind(*other, Endpoint{kOurIp, port}).ok());
  connect_from(h, *s);
  EXPECT_EQ(h.tcp().state(*s), TcpState::kSynSent);
}

TEST(TcpShutdown, WriteShutdownLeavesAListenerListening) {
  TcpHarness h;
  SocketId l = h.listen(80);
  EXPECT_TRUE(h.tcp().shutdown(l, false, true, h.now));
  EXPECT_EQ(h.tcp().state(l), TcpState::kListen);
  h.inject(h.peer_segment(TcpFlags::kSyn, kPeerIss, 0));
  EXPECT_TRUE(h.expect_segment().has(TcpFlags::kSyn | TcpFlags::kAck));
}

// CLOSE: ENOTCONN, for a fresh socket and for a reset connection alike.
TEST(TcpShutdown, ClosedIsNotConnected) {
  TcpHarness h;
  auto fresh = h.tcp().open();
  ASSERT_TRUE(fresh.ok());
  EXPECT_FALSE(h.tcp().shutdown(*fresh, false, true, h.now));
  std::array<uint8_t, 1> b{};
  EXPECT_EQ(h.tcp().send(*fresh, b, h.now).error(), SendError::kBrokenPipe);  // Linux: EPIPE
  SocketId l = h.listen(80);
  auto [c, iss] = h.accept_connection(l, kPeerIss, wire::TcpOptions{});
  (void)iss;
  h.inject(h.peer_segment(TcpFlags::kRst, kPeerIss + 1, 0));
  ASSERT_EQ(h.tcp().state(c), TcpState::kClosed);
  EXPECT_FALSE(h.tcp().shutdown(c, false, true, h.now));
  h.expect_no_segment();
}

}  // namespace
}  // namespace joyride::core::testing
