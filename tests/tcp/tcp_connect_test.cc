// Repeated connect() calls on one socket, as Linux's non-blocking connect answers
// them (net/ipv4/af_inet.c __inet_stream_connect, which looks at sock->state and
// then the TCP state): EALREADY while the handshake runs; once it has succeeded, one
// more call returns success and later ones EISCONN; once it has failed, one more call
// returns the pending error (sock_error; ECONNABORTED when send, recv or SO_ERROR
// took it already) and leaves the socket unconnected (tcp_disconnect), so the call
// after that starts a new attempt. A listener or an accepted socket gets EISCONN.
#include <gtest/gtest.h>

#include "joyride/base/bytes.h"
#include "tcp_harness.h"

namespace joyride::core::testing {
namespace {

using base::Duration;

constexpr uint32_t kPeerIss = 7000;
const Endpoint kPeer{kPeerIp, TcpHarness::kPeerPort};

// An active open from an ephemeral port to the peer: the SYN's port and sequence number.
struct Opening {
  SocketId s;
  uint16_t port = 0;
  uint32_t iss = 0;
};

Opening start_connect(TcpHarness& h, std::optional<SocketId> reuse = std::nullopt) {
  Opening o;
  if (reuse) {
    o.s = *reuse;
  } else {
    auto s = h.tcp().open();
    EXPECT_TRUE(s.ok());
    o.s = *s;
  }
  auto r = h.tcp().connect(o.s, kPeer, h.now);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : to_string(r.error()));
  Seg syn = h.expect_segment();
  EXPECT_EQ(syn.h.flags, TcpFlags::kSyn);
  o.port = syn.h.src_port;
  o.iss = syn.seq().value();
  return o;
}

void establish(TcpHarness& h, const Opening& o) {
  h.inject(h.peer_segment(TcpFlags::kSyn | TcpFlags::kAck, kPeerIss, o.iss + 1, o.port));
  EXPECT_EQ(h.expect_segment().h.flags, TcpFlags::kAck);
  ASSERT_EQ(h.tcp().state(o.s), TcpState::kEstablished);
}

void inject_icmp_error(TcpHarness& h, const TxFrame& syn, wire::Icmpv4Type type, uint8_t code) {
  wire::Icmpv4Repr m;
  m.type = type;
  m.code = code;
  const Bytes quote(syn.bytes.begin() + 14, syn.bytes.begin() + 14 + 20 + 20);
  m.data = quote;
  h.inject_icmp(m);
}

enum class Failure { kRst, kPortUnreachable, kTimeExceeded, kSynTimeout };

// Makes the connect on `o` fail as `f` says; returns the error it leaves pending.
RecvError fail(TcpHarness& h, const Opening& o, Failure f, const TxFrame& syn) {
  switch (f) {
    case Failure::kRst:
      h.inject(h.peer_segment(TcpFlags::kRst | TcpFlags::kAck, 0, o.iss + 1, o.port));
      return RecvError::kConnectionRefused;
    case Failure::kPortUnreachable:
      inject_icmp_error(h, syn, wire::Icmpv4Type::kDestUnreachable, wire::Icmpv4Unreachable::kPortUnreachable);
      return RecvError::kConnectionRefused;
    case Failure::kTimeExceeded:
      inject_icmp_error(h, syn, wire::Icmpv4Type::kTimeExceeded, 0);
      return RecvError::kHostUnreachable;
    case Failure::kSynTimeout:
      for (int i = 0; i < 300 && h.tcp().state(o.s) == TcpState::kSynSent; ++i) {
        h.advance(Duration::seconds(1));
        while (h.pop_segment()) {
        }
      }
      return RecvError::kTimedOut;
  }
  return RecvError::kTimedOut;
}

TEST(TcpConnect, AfterAFailedAttemptTheNextCallReportsTheErrorOnceAndTheOneAfterRetries) {
  struct Case {
    const char* name;
    Failure failure;
    ConnectError reported;
  };
  const Case cases[] = {
      {"RST", Failure::kRst, ConnectError::kConnectionRefused},
      {"ICMP port unreachable", Failure::kPortUnreachable, ConnectError::kConnectionRefused},
      {"ICMP time exceeded", Failure::kTimeExceeded, ConnectError::kHostUnreachable},
      {"SYN retries exhausted", Failure::kSynTimeout, ConnectError::kTimedOut},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TcpHarness h;
    auto s = h.tcp().open();
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(h.tcp().connect(*s, kPeer, h.now).ok());
    auto syn_frame = h.pop_tx();
    ASSERT_TRUE(syn_frame.has_value());
    Opening o;
    o.s = *s;
    o.port = base::load_be<uint16_t>(syn_frame->bytes.data(), 14 + 20);
    o.iss = base::load_be<uint32_t>(syn_frame->bytes.data(), 14 + 20 + 4);
    const RecvError pending = fail(h, o, c.failure, *syn_frame);
    ASSERT_EQ(h.tcp().state(*s), TcpState::kClosed);
    EXPECT_TRUE(h.tcp().readiness(*s) & kError);
    EXPECT_EQ(connect_error_for(pending), c.reported);

    auto second = h.tcp().connect(*s, kPeer, h.now);
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.error(), c.reported);
    h.expect_no_segment();
    // The error is gone with it: the socket is as if just opened.
    EXPECT_EQ(h.tcp().readiness(*s), 0u);
    EXPECT_EQ(h.tcp().take_error(*s), std::nullopt);
    EXPECT_EQ(h.tcp().state(*s), TcpState::kClosed);

    Opening again = start_connect(h, *s);
    EXPECT_EQ(h.tcp().state(*s), TcpState::kSynSent);
    EXPECT_NE(again.iss, o.iss + 1);  // a new ISN, not a continuation
    establish(h, again);
  }
}

// The pending error can be read only once: taken by send(), recv() or take_error()
// (SO_ERROR), the next connect() says ECONNABORTED (Linux: sock_error() ?: -ECONNABORTED).
TEST(TcpConnect, ErrorAlreadyTakenGivesConnectionAborted) {
  enum class Taker { kSend, kRecv, kTakeError };
  for (Taker taker : {Taker::kSend, Taker::kRecv, Taker::kTakeError}) {
    SCOPED_TRACE(static_cast<int>(taker));
    TcpHarness h;
    Opening o = start_connect(h);
    h.inject(h.peer_segment(TcpFlags::kRst | TcpFlags::kAck, 0, o.iss + 1, o.port));
    ASSERT_EQ(h.tcp().state(o.s), TcpState::kClosed);
    std::array<uint8_t, 4> b{};
    switch (taker) {
      case Taker::kSend: EXPECT_EQ(h.tcp().send(o.s, b, h.now).error(), SendError::kConnectionRefused); break;
      case Taker::kRecv: EXPECT_EQ(h.tcp().recv(o.s, b, h.now).error(), RecvError::kConnectionRefused); break;
      case Taker::kTakeError: EXPECT_EQ(h.tcp().take_error(o.s), RecvError::kConnectionRefused); break;
    }
    auto second = h.tcp().connect(o.s, kPeer, h.now);
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.error(), ConnectError::kConnectionAborted);
    start_connect(h, o.s);
  }
}

// While the handshake runs: EALREADY, in SYN-SENT and in a simultaneous open's
// SYN-RECEIVED, and nothing is sent.
TEST(TcpConnect, WhileConnectingIsAlreadyInProgress) {
  TcpHarness h;
  auto s = h.tcp().open();
  ASSERT_TRUE(h.tcp().bind(*s, Endpoint{kOurIp, 80}).ok());
  ASSERT_TRUE(h.tcp().connect(*s, kPeer, h.now).ok());
  Seg syn = h.expect_segment();
  EXPECT_EQ(h.tcp().connect(*s, kPeer, h.now).error(), ConnectError::kAlreadyInProgress);
  h.inject(h.peer_segment(TcpFlags::kSyn, kPeerIss, 0));
  ASSERT_EQ(h.tcp().state(*s), TcpState::kSynReceived);
  h.expect_segment();  // our SYN-ACK
  EXPECT_EQ(h.tcp().connect(*s, kPeer, h.now).error(), ConnectError::kAlreadyInProgress);
  h.expect_no_segment();
  (void)syn;
}

// Established meanwhile: the next connect() reports the success (Linux moves
// sock->state to SS_CONNECTED and returns 0), and EISCONN follows, also once the
// connection has been reset.
TEST(TcpConnect, AfterSuccessTheNextCallSucceedsThenIsConnected) {
  TcpHarness h;
  Opening o = start_connect(h);
  establish(h, o);
  EXPECT_TRUE(h.tcp().connect(o.s, kPeer, h.now).ok());
  EXPECT_EQ(h.tcp().connect(o.s, kPeer, h.now).error(), ConnectError::kAlreadyConnected);
  h.inject(h.peer_segment(TcpFlags::kRst, kPeerIss + 1, 0, o.port));
  ASSERT_EQ(h.tcp().state(o.s), TcpState::kClosed);
  EXPECT_EQ(h.tcp().connect(o.s, kPeer, h.now).error(), ConnectError::kAlreadyConnected);
  h.expect_no_segment();
}

// Established and then reset before connect() was called again: that call is the one
// that hears of the failure (ECONNRESET), and the next one starts over.
TEST(TcpConnect, EstablishedThenResetReportsTheResetThenRetries) {
  TcpHarness h;
  Opening o = start_connect(h);
  establish(h, o);
  h.inject(h.peer_segment(TcpFlags::kRst, kPeerIss + 1, 0, o.port));
  ASSERT_EQ(h.tcp().state(o.s), TcpState::kClosed);
  EXPECT_EQ(h.tcp().connect(o.s, kPeer, h.now).error(), ConnectError::kConnectionReset);
  start_connect(h, o.s);
}

// Linux answers EISCONN for connect() on a listener (SS_UNCONNECTED, not CLOSED) and
// on an accepted socket (SS_CONNECTED), whatever became of its connection.
TEST(TcpConnect, ListenerAndAcceptedSocketAreAlreadyConnected) {
  TcpHarness h;
  SocketId l = h.listen(80);
  EXPECT_EQ(h.tcp().connect(l, kPeer, h.now).error(), ConnectError::kAlreadyConnected);
  auto [c, iss] = h.accept_connection(l, kPeerIss, wire::TcpOptions{});
  (void)iss;
  EXPECT_EQ(h.tcp().connect(c, kPeer, h.now).error(), ConnectError::kAlreadyConnected);
  h.inject(h.peer_segment(TcpFlags::kRst, kPeerIss + 1, 0));
  ASSERT_EQ(h.tcp().state(c), TcpState::kClosed);
  EXPECT_EQ(h.tcp().connect(c, kPeer, h.now).error(), ConnectError::kAlreadyConnected);
  h.expect_no_segment();
}

// Starting over keeps what bind() fixed (Linux SOCK_BINDPORT_LOCK): the new SYN leaves
// from the same port. A port connect() chose is given back (inet_put_port) and may go
// to another socket meanwhile.
TEST(TcpConnect, StartingOverKeepsABoundPortAndGivesBackAChosenOne) {
  {
    SCOPED_TRACE("bound");
    TcpHarness h;
    auto s = h.tcp().open();
    ASSERT_TRUE(h.tcp().bind(*s, Endpoint{kOurIp, 5555}).ok());
    Opening o = start_connect(h, *s);
    ASSERT_EQ(o.port, 5555);
    h.inject(h.peer_segment(TcpFlags::kRst | TcpFlags::kAck, 0, o.iss + 1, o.port));
    EXPECT_EQ(h.tcp().connect(*s, kPeer, h.now).error(), ConnectError::kConnectionRefused);
    EXPECT_EQ(h.tcp().local_endpoint(*s)->port, 5555);
    // Still the port's holder: nobody else may bind it.
    auto other = h.tcp().open();
    EXPECT_EQ(h.tcp().bind(*other, Endpoint{kOurIp, 5555}).error(), BindError::kAddressInUse);
    EXPECT_EQ(start_connect(h, *s).port, 5555);
  }
  {
    SCOPED_TRACE("chosen by connect");
    TcpHarness h(HarnessOptions{.configure = [](StackConfig& c) {
      c.tcp.ephemeral_low = c.tcp.ephemeral_high = 50000;
    }});
    Opening o = start_connect(h);
    ASSERT_EQ(o.port, 50000);
    h.inject(h.peer_segment(TcpFlags::kRst | TcpFlags::kAck, 0, o.iss + 1, o.port));
    EXPECT_EQ(h.tcp().connect(o.s, kPeer, h.now).error(), ConnectError::kConnectionRefused);
    Opening other = start_connect(h);  // the only port, free again
    EXPECT_EQ(other.port, 50000);
    EXPECT_EQ(h.tcp().connect(o.s, kPeer, h.now).error(), ConnectError::kNoEphemeralPorts);
    EXPECT_EQ(h.tcp().state(o.s), TcpState::kClosed);
  }
}

// Socket options belong to the socket and outlive the failed connection: after
// starting over, a receive buffer set before the first attempt still sizes the
// window the new SYN offers.
TEST(TcpConnect, StartingOverKeepsSocketOptions) {
  TcpHarness h;
  auto s = h.tcp().open();
  ASSERT_TRUE(h.tcp().set_rcvbuf(*s, 8192));
  Opening o = start_connect(h, *s);
  const auto before = h.tcp().info(*s);
  ASSERT_TRUE(before.has_value());
  h.inject(h.peer_segment(TcpFlags::kRst | TcpFlags::kAck, 0, o.iss + 1, o.port));
  EXPECT_EQ(h.tcp().connect(*s, kPeer, h.now).error(), ConnectError::kConnectionRefused);
  start_connect(h, *s);
  const auto after = h.tcp().info(*s);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->rcvbuf, before->rcvbuf);
  EXPECT_EQ(after->rcvbuf, 8192u);
}

}  // namespace
}  // namespace joyride::core::testing
