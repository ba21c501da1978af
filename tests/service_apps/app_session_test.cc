// AppSession: an application's calls and bytes served from its region, against a
// peer host on a simulated link. The app side is written as the preload writes it.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <gtest/gtest.h>

#include "app_hosts.h"

namespace joyride::service {
namespace {

using testing::AppHosts;
using testing::kAppHost;
using testing::kPeerHost;
using testing::pattern;
using testing::wire_address;
using Handle = AppHosts::Handle;

constexpr uint16_t kPeerPort = 5001;

// The peer's side: a listener, one accepted connection, bytes checked as they come.
struct Peer {
  explicit Peer(AppHosts& hosts) : h(hosts) {
    auto& tcp = h.peer().tcp();
    listener = *tcp.open();
    EXPECT_TRUE(tcp.bind(listener, {kPeerHost, kPeerPort}).ok());
    EXPECT_TRUE(tcp.listen(listener, 16).ok());
  }
  // Accepts if one is waiting; reads what is there, checking it against `stream`.
  void serve(uint64_t stream) {
    auto& tcp = h.peer().tcp();
    if (!conn.valid()) {
      if (auto a = tcp.accept(listener)) conn = *a;
      else return;
    }
    uint8_t buf[4096];
    for (;;) {
      auto r = tcp.recv(conn, buf, h.now());
      if (!r) {
        if (r.error() != core::RecvError::kWouldBlock) error = r.error();
        return;
      }
      if (*r == 0) {
        eof = true;
        return;
      }
      for (size_t i = 0; i < *r; ++i, ++received)
        if (failure.empty() && buf[i] != pattern(stream, received)) failure = "wrong byte at " + std::to_string(received);
    }
  }
  // Sends what fits of `stream` [sent, total).
  void feed(uint64_t stream, uint64_t total) {
    auto& tcp = h.peer().tcp();
    uint8_t buf[4096];
    while (conn.valid() && sent < total) {
      const size_t n = std::min<uint64_t>(sizeof buf, total - sent);
      for (size_t i = 0; i < n; ++i) buf[i] = pattern(stream, sent + i);
      auto r = tcp.send(conn, {buf, n}, h.now());
      if (!r || *r == 0) return;
      sent += *r;
    }
  }
  AppHosts& h;
  core::SocketId listener;
  core::SocketId conn;
  uint64_t received = 0;
  uint64_t sent = 0;
  bool eof = false;
  std::optional<core::RecvError> error;
  std::string failure;
};

// Connects the app to the peer and has the peer accept it (peer.conn).
Handle connect_to_peer(AppHosts& h, Peer& peer) {
  const Handle s = h.open_socket();
  const auto to = wire_address(kPeerHost, kPeerPort);
  EXPECT_EQ(h.call(ipc::CallOp::kConnect, s.index, s.generation, {}, &to).result, 0);
  EXPECT_TRUE(h.run_until([&] { return (h.flags(s) & ipc::kConnected) != 0; }));
  peer.conn = core::SocketId{};
  EXPECT_TRUE(h.run_until([&] {
    if (auto a = h.peer().tcp().accept(peer.listener)) peer.conn = *a;
    return peer.conn.valid();
  }));
  return s;
}

TEST(AppSession, BytesBothWaysThroughTheFifos) {
  AppHosts h(AppLimits{.max_sockets = 8, .fifo_bytes = 16384, .call_slots = 4});
  Peer peer(h);
  const Handle s = connect_to_peer(h, peer);
  constexpr uint64_t kBytes = 300'000;  // many FIFO laps each way
  uint64_t sent = 0, received = 0;
  std::string failure;
  ASSERT_TRUE(h.run_until([&] {
    h.app_send(s, 1, sent, kBytes);
    peer.serve(1);
    peer.feed(2, kBytes);
    h.app_recv(s, 2, received, failure);
    return peer.received == kBytes && received == kBytes;
  }));
  EXPECT_EQ(peer.failure, "");
  EXPECT_EQ(failure, "");
  EXPECT_EQ(h.session().counters()[AppCounter::kBytesOut], kBytes);
  EXPECT_EQ(h.session().counters()[AppCounter::kBytesIn], kBytes);
  // The peer's FIN shows as kRdEof once every byte is in the FIFO.
  h.peer().tcp().shutdown(peer.conn, false, true, h.now());
  ASSERT_TRUE(h.run_until([&] { return (h.flags(s) & ipc::kRdEof) != 0; }));
  EXPECT_EQ(h.shared(s.index).rx.tail.load(), kBytes);
}

// With TCP_NODELAY and writes of whole segments, every data segment is full (as on
// Linux), including the writes the tx FIFO's end splits in two: the service hands
// both pieces to TCP before it sends (corked), not a short segment and the rest.
TEST(AppSession, AWriteSplitByTheFifoEndStillLeavesAsFullSegments) {
  AppHosts h(AppLimits{.max_sockets = 8, .fifo_bytes = 16384, .call_slots = 4});
  Peer peer(h);
  const Handle s = connect_to_peer(h, peer);
  ASSERT_EQ(h.call(ipc::CallOp::kSetOption, s.index, s.generation, {IPPROTO_TCP, TCP_NODELAY, 1}).result, 0);
  const auto info = h.session().instance().tcp().info(h.session().socket_at(s.index));
  ASSERT_TRUE(info.has_value());
  const uint64_t mss = info->snd_mss;
  ASSERT_NE(16384 % mss, 0u) << "the test needs writes that straddle the FIFO's end";
  const uint64_t segments = 200;  // some 18 laps of the FIFO
  const auto before = h.peer().tcp().info(peer.conn);
  ASSERT_TRUE(before.has_value());
  uint64_t sent = 0;
  ASSERT_TRUE(h.run_until([&] {
    // One whole segment per write, when the FIFO has room for it.
    ipc::SocketShared& sh = h.shared(s.index);
    if (sent < segments * mss && sh.tx.tail.load() + mss - sh.tx.head.load() <= 16384) {
      uint64_t dummy = sent;
      h.app_send(s, 3, dummy, sent + mss);
      sent = dummy;
    }
    peer.serve(3);
    return peer.received == segments * mss;
  }));
  EXPECT_EQ(peer.failure, "");
  const auto after = h.peer().tcp().info(peer.conn);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->segs_in - before->segs_in, segments) << "a short segment at a FIFO wrap";
}

TEST(AppSession, ListenAcceptAndDataBeforeAccept) {
  AppHosts h(AppLimits{.max_sockets = 8, .fifo_bytes = 16384, .call_slots = 4});
  const Handle l = h.open_socket();
  const auto any = wire_address(wire::Ipv4Address::any(), 7000);
  ASSERT_EQ(h.call(ipc::CallOp::kBind, l.index, l.generation, {}, &any).result, 0);
  ASSERT_EQ(h.call(ipc::CallOp::kListen, l.index, l.generation, {8}).result, 0);
  EXPECT_TRUE(h.flags(l) & ipc::kListening);
  EXPECT_EQ(h.call(ipc::CallOp::kAccept, l.index, l.generation).result, -EAGAIN);
  // The peer connects and sends before the app accepts.
  auto& tcp = h.peer().tcp();
  const core::SocketId c = *tcp.open();
  ASSERT_TRUE(tcp.connect(c, {kAppHost, 7000}, h.now()).ok());
  ASSERT_TRUE(h.run_until([&] { return (h.flags(l) & ipc::kAcceptable) != 0; }));
  uint8_t hello[100];
  for (size_t i = 0; i < sizeof hello; ++i) hello[i] = pattern(3, i);
  ASSERT_EQ(*tcp.send(c, hello, h.now()), sizeof hello);
  h.run_for(base::Duration::millis(20));
  const auto a = h.call(ipc::CallOp::kAccept, l.index, l.generation);
  ASSERT_GE(a.result, 0);
  EXPECT_EQ(a.addr.family, AF_INET);
  EXPECT_EQ(a.addr.bytes[3], 2);  // 198.18.0.2
  const Handle s{static_cast<uint32_t>(a.result), static_cast<uint32_t>(a.out0)};
  EXPECT_TRUE(h.flags(s) & ipc::kConnected);
  EXPECT_FALSE(h.flags(l) & ipc::kAcceptable);
  uint64_t received = 0;
  std::string failure;
  ASSERT_TRUE(h.run_until([&] {
    h.app_recv(s, 3, received, failure);
    return received == sizeof hello;
  }));
  EXPECT_EQ(failure, "");
}

TEST(AppSession, RefusedConnectShowsAsAnError) {
  AppHosts h(AppLimits{.max_sockets = 8, .fifo_bytes = 4096, .call_slots = 4});
  const Handle s = h.open_socket();
  const auto to = wire_address(kPeerHost, 9);  // nobody listens
  ASSERT_EQ(h.call(ipc::CallOp::kConnect, s.index, s.generation, {}, &to).result, 0);
  ASSERT_TRUE(h.run_until([&] { return (h.flags(s) & ipc::kError) != 0; }));
  EXPECT_FALSE(h.flags(s) & ipc::kConnected);
  EXPECT_EQ(h.call(ipc::CallOp::kTakeError, s.index, s.generation).result, ECONNREFUSED);
  EXPECT_EQ(h.call(ipc::CallOp::kTakeError, s.index, s.generation).result, 0);
  EXPECT_FALSE(h.flags(s) & ipc::kError);
}

TEST(AppSession, UnroutableConnectIsEnetunreachSoThePreloadFallsBack) {
  AppHosts h(AppLimits{.max_sockets = 8, .fifo_bytes = 4096, .call_slots = 4});
  const Handle s = h.open_socket();
  const auto to = wire_address(wire::Ipv4Address::from_octets(127, 0, 0, 1), 80);
  EXPECT_EQ(h.call(ipc::CallOp::kConnect, s.index, s.generation, {}, &to).result, -ENETUNREACH);
  const auto local = wire_address(wire::Ipv4Address::from_octets(127, 0, 0, 1), 80);
  EXPECT_EQ(h.call(ipc::CallOp::kBind, s.index, s.generation, {}, &local).result, -EADDRNOTAVAIL);
}

TEST(AppSession, BindConflictsAsBetweenLinuxProcesses) {
  AppHosts h(AppLimits{.max_sockets = 8, .fifo_bytes = 4096, .call_slots = 4});
  const Handle a = h.open_socket();
  const Handle b = h.open_socket();
  const auto ep = wire_address(kAppHost, 8080);
  EXPECT_EQ(h.call(ipc::CallOp::kBind, a.index, a.generation, {}, &ep).result, 0);
  EXPECT_EQ(h.call(ipc::CallOp::kBind, b.index, b.generation, {}, &ep).result, -EADDRINUSE);
  EXPECT_EQ(h.call(ipc::CallOp::kBind, a.index, a.generation, {}, &ep).result, -EINVAL);
}

TEST(AppSession, SocketLimitIsEmfile) {
  AppHosts h(AppLimits{.max_sockets = 2, .fifo_bytes = 4096, .call_slots = 4});
  h.open_socket();
  h.open_socket();
  EXPECT_EQ(h.call(ipc::CallOp::kSocket, 0, 0, {SOCK_STREAM}).result, -EMFILE);
  EXPECT_EQ(h.session().counters()[AppCounter::kSocketsRefused], 1u);
  EXPECT_EQ(h.call(ipc::CallOp::kSocket, 0, 0, {SOCK_DGRAM}).result, -EMFILE);  // UDP counts against the limit too
  EXPECT_EQ(h.session().counters()[AppCounter::kSocketsRefused], 2u);
  EXPECT_EQ(h.call(ipc::CallOp::kSocket, 0, 0, {SOCK_RAW}).result, -EPROTONOSUPPORT);
}

TEST(AppSession, CallsNamingSocketsTheAppDoesNotHoldAreRefused) {
  AppHosts h(AppLimits{.max_sockets = 8, .fifo_bytes = 4096, .call_slots = 4});
  const Handle s = h.open_socket();
  EXPECT_EQ(h.call(ipc::CallOp::kListen, s.index, s.generation + 1, {1}).result, -EBADF);  // stale generation
  EXPECT_EQ(h.call(ipc::CallOp::kListen, 7, 0, {1}).result, -EBADF);                      // never opened
  EXPECT_EQ(h.call(ipc::CallOp::kListen, 0xffffffffu, 0, {1}).result, -EBADF);            // out of range
  EXPECT_EQ(h.call(static_cast<ipc::CallOp>(999), s.index, s.generation).result, -EINVAL);
  EXPECT_EQ(h.session().counters()[AppCounter::kCallsRefused], 4u);
  // A closed handle is dead at once; the slot's next socket has a new generation.
  EXPECT_EQ(h.call(ipc::CallOp::kClose, s.index, s.generation).result, 0);
  EXPECT_EQ(h.call(ipc::CallOp::kListen, s.index, s.generation, {1}).result, -EBADF);
  const Handle again = h.open_socket();
  EXPECT_EQ(again.index, s.index);
  EXPECT_NE(again.generation, s.generation);
}

TEST(AppSession, BadFifoIndexResetsOnlyThatSocket) {
  AppHosts h(AppLimits{.max_sockets = 8, .fifo_bytes = 16384, .call_slots = 4});
  Peer peer(h);
  auto& tcp = h.peer().tcp();
  // A connection that the app corrupts (its tx tail jumps past a FIFO), and one it does not.
  const Handle bad = connect_to_peer(h, peer);
  const core::SocketId bad_peer = peer.conn;
  const Handle good = connect_to_peer(h, peer);
  h.shared(bad.index).tx.tail.store(h.geometry().fifo_bytes * 5);
  h.kick(bad.index);
  h.service_round();
  EXPECT_EQ(h.session().counters()[AppCounter::kBadIndex], 1u);
  EXPECT_TRUE(h.flags(bad) & ipc::kReset);
  // The peer sees the reset; the other connection carries on unharmed.
  ASSERT_TRUE(h.run_until([&] { return tcp.state(bad_peer) == core::TcpState::kClosed || !tcp.state(bad_peer); }))
      << (tcp.state(bad_peer) ? core::to_string(*tcp.state(bad_peer)) : "none") << " valid=" << bad_peer.valid();
  uint64_t sent = 0;
  ASSERT_TRUE(h.run_until([&] {
    h.app_send(good, 1, sent, 100'000);
    peer.serve(1);
    return peer.received == 100'000;
  })) << "sent " << sent << " received " << peer.received << " flags " << h.flags(good);
  EXPECT_EQ(peer.failure, "");
  // An rx head moved past what the service published is caught the same way.
  h.shared(good.index).rx.head.store(h.shared(good.index).rx.tail.load() + 1);
  h.kick(good.index);
  h.service_round();
  EXPECT_EQ(h.session().counters()[AppCounter::kBadIndex], 2u);
  // Garbage kick bits (sockets never opened, words past the geometry) are ignored.
  h.header().kick_summary.store(~uint64_t{0});
  h.kick_word(0).store(~uint64_t{0});
  h.service_round();
  EXPECT_EQ(h.call(ipc::CallOp::kClose, bad.index, bad.generation).result, 0);
}

TEST(AppSession, DeadAppsConnectionsCloseAsLinuxWould) {
  AppHosts h(AppLimits{.max_sockets = 8, .fifo_bytes = 65536, .call_slots = 4});
  Peer peer(h);
  // Connection 1: the app queued 60 KB and died: the peer gets all of it, then FIN.
  const Handle a = connect_to_peer(h, peer);
  const core::SocketId a_peer = peer.conn;
  uint64_t sent = 0;
  h.app_send(a, 1, sent, 60'000);
  ASSERT_EQ(sent, 60'000u);
  h.service_round();
  // Connection 2: the peer sent bytes the app never read: RST.
  const Handle b = connect_to_peer(h, peer);
  const core::SocketId b_peer = peer.conn;
  uint8_t junk[10] = {};
  ASSERT_TRUE(h.peer().tcp().send(b_peer, junk, h.now()).ok());
  ASSERT_TRUE(h.run_until([&] { return h.shared(b.index).rx.tail.load() == sizeof junk; }));

  h.session().close_all(h.now());
  peer.conn = a_peer;  // back to connection 1 (its count so far is in peer.received)
  ASSERT_TRUE(h.run_until([&] {
    peer.serve(1);
    return peer.eof;
  }));
  EXPECT_EQ(peer.received, 60'000u);
  EXPECT_EQ(peer.failure, "");
  uint8_t buf[16];
  ASSERT_TRUE(h.run_until([&] {
    auto r = h.peer().tcp().recv(b_peer, buf, h.now());
    return !r && r.error() == core::RecvError::kConnectionReset;
  }));
  ASSERT_TRUE(h.run_until([&] { return h.session().sockets() == 0; }));
}

TEST(AppSession, AClosedSocketsFifoMemoryIsGivenBack) {
  AppHosts h(AppLimits{.max_sockets = 8, .fifo_bytes = 16384, .call_slots = 4});
  ASSERT_EQ(h.geometry().fifos_offset % ipc::kFifoAlignment, 0u);
  const Handle s = h.open_socket();
  uint8_t* tx = h.region() + h.geometry().tx_fifo_offset(s.index);
  std::memset(tx, 0xab, h.geometry().fifo_bytes);  // as an app writing before connect
  EXPECT_EQ(h.call(ipc::CallOp::kClose, s.index, s.generation).result, 0);
  // MADV_REMOVE punched the pages out: they read as zeros (and are no longer committed).
  for (uint32_t i = 0; i < h.geometry().fifo_bytes; i += 512) ASSERT_EQ(tx[i], 0) << i;
}

TEST(AppSession, DoorbellsOnlyWhenSomeoneSleeps) {
  AppHosts h(AppLimits{.max_sockets = 8, .fifo_bytes = 4096, .call_slots = 4});
  const uint32_t seq = h.header().wake_seq.load();
  h.open_socket();  // a call: published, so wake_seq moves
  EXPECT_NE(h.header().wake_seq.load(), seq);
  EXPECT_EQ(h.session().counters()[AppCounter::kFutexWakes], 0u);
  EXPECT_EQ(h.session().counters()[AppCounter::kDoorbellRings], 0u);
  // The service's sleep flag: set before it sleeps, and the app's queued work seen.
  EXPECT_FALSE(h.session().set_service_sleeping(true));
  EXPECT_EQ(h.header().service_sleeping.load(), 1u);
  h.header().calls_pending.fetch_add(1);
  EXPECT_TRUE(h.session().set_service_sleeping(true));
  h.session().set_service_sleeping(false);
  EXPECT_EQ(h.header().service_sleeping.load(), 0u);
  // A thread asleep on the futex, then one in poll on the doorbell: each woken once.
  h.header().futex_waiters.store(1);
  h.open_socket();
  EXPECT_EQ(h.session().counters()[AppCounter::kFutexWakes], 1u);
  h.header().futex_waiters.store(0);
  h.header().poll_waiters.store(1);
  h.header().poll_armed.store(1);
  h.open_socket();
  h.open_socket();  // not re-armed: no second ring
  EXPECT_EQ(h.session().counters()[AppCounter::kDoorbellRings], 1u);
  EXPECT_EQ(h.header().poll_armed.load(), 0u);
}

}  // namespace
}  // namespace joyride::service
