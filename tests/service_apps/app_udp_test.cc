// AppSession's UDP sockets: datagram records (ipc::DatagramHeader) through the
// region's FIFOs, against a peer host's UDP sockets on a simulated link. The app
// side writes and reads records as the preload does.
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <vector>

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

constexpr uint16_t kAppPort = 6000;
constexpr uint16_t kPeerPort = 5001;
constexpr AppLimits kSmall{.max_sockets = 8, .fifo_bytes = 16384, .call_slots = 4};

Handle open_udp(AppHosts& h) {
  auto r = h.call(ipc::CallOp::kSocket, 0, 0, {SOCK_DGRAM});
  EXPECT_GE(r.result, 0);
  const Handle s{static_cast<uint32_t>(r.result), static_cast<uint32_t>(r.out0)};
  EXPECT_TRUE(h.flags(s) & ipc::kDatagram);
  return s;
}

void bind_app(AppHosts& h, Handle s, uint16_t port) {
  const auto any = wire_address(wire::Ipv4Address::any(), port);
  ASSERT_EQ(h.call(ipc::CallOp::kBind, s.index, s.generation, {}, &any).result, 0);
}

std::vector<uint8_t> payload(uint64_t stream, size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = pattern(stream, i);
  return v;
}

// The preload's producer side: one record into the tx FIFO, or false when it does
// not fit. `to` family 0 = the connected peer.
bool app_send(AppHosts& h, Handle s, const std::vector<uint8_t>& data, ipc::WireAddress to = {}) {
  ipc::SocketShared& sh = h.shared(s.index);
  const uint64_t size = h.geometry().fifo_bytes;
  const uint64_t tail = sh.tx.tail.load();
  const uint64_t record = ipc::datagram_record_bytes(data.size());
  const uint64_t at = ipc::datagram_place(sh.tx.head.load(std::memory_order_acquire), tail, size, record);
  if (at == ipc::kNoRoom) return false;
  uint8_t* fifo = h.region() + h.geometry().tx_fifo_offset(s.index);
  if (at != tail && size - tail % size >= sizeof(ipc::DatagramHeader)) {
    const ipc::DatagramHeader skip{ipc::kDatagramSkip, 0, {}};
    std::memcpy(fifo + tail % size, &skip, sizeof skip);
  }
  const ipc::DatagramHeader hdr{static_cast<uint32_t>(data.size()), 0, to};
  std::memcpy(fifo + at % size, &hdr, sizeof hdr);
  if (!data.empty()) std::memcpy(fifo + at % size + sizeof hdr, data.data(), data.size());
  sh.tx.tail.store(at + record, std::memory_order_release);
  h.kick(s.index);
  return true;
}

struct Datagram {
  ipc::WireAddress from;
  std::vector<uint8_t> data;
};

// The preload's consumer side: the next rx record, if any.
std::optional<Datagram> app_recv(AppHosts& h, Handle s) {
  ipc::SocketShared& sh = h.shared(s.index);
  const uint64_t size = h.geometry().fifo_bytes;
  uint64_t head = sh.rx.head.load();
  const uint64_t tail = sh.rx.tail.load(std::memory_order_acquire);
  const uint8_t* fifo = h.region() + h.geometry().rx_fifo_offset(s.index);
  if (head == tail) return std::nullopt;
  ipc::DatagramHeader hdr{};
  if (size - head % size >= sizeof hdr) std::memcpy(&hdr, fifo + head % size, sizeof hdr);
  if (size - head % size < sizeof hdr || hdr.length == ipc::kDatagramSkip) {
    head += size - head % size;
    std::memcpy(&hdr, fifo + head % size, sizeof hdr);
  }
  EXPECT_LE(hdr.length, ipc::kMaxDatagram);
  Datagram d{hdr.addr, std::vector<uint8_t>(fifo + head % size + sizeof hdr, fifo + head % size + sizeof hdr + hdr.length)};
  sh.rx.head.store(head + ipc::datagram_record_bytes(hdr.length), std::memory_order_release);
  h.kick(s.index);
  return d;
}

struct PeerUdp {
  explicit PeerUdp(AppHosts& hosts, uint16_t port = kPeerPort) : h(hosts) {
    socket = *h.peer().udp().open();
    EXPECT_TRUE(h.peer().udp().bind(socket, {kPeerHost, port}).ok());
  }
  std::optional<std::pair<core::UdpRecvInfo, std::vector<uint8_t>>> recv() {
    std::vector<uint8_t> buf(65536);
    auto r = h.peer().udp().recv_from(socket, buf);
    if (!r) return std::nullopt;
    buf.resize(r->bytes);
    return std::make_pair(*r, buf);
  }
  void send(const std::vector<uint8_t>& data, uint16_t to_port = kAppPort) {
    EXPECT_TRUE(h.peer().udp().send_to(socket, data, core::Endpoint{kAppHost, to_port}, h.now()).ok());
  }
  AppHosts& h;
  core::SocketId socket;
};

size_t size_of(uint64_t i) { return 1 + (i * 389) % 1472; }  // sizes that land records everywhere

TEST(AppUdp, DatagramsBothWays) {
  AppHosts h(kSmall);
  PeerUdp peer(h);
  const Handle s = open_udp(h);
  bind_app(h, s, kAppPort);
  const auto to = wire_address(kPeerHost, kPeerPort);
  // Unconnected: each record names its destination; an empty datagram is one too.
  ASSERT_TRUE(app_send(h, s, payload(1, 100), to));
  ASSERT_TRUE(app_send(h, s, {}, to));
  std::vector<std::vector<uint8_t>> got;
  ASSERT_TRUE(h.run_until([&] {
    while (auto d = peer.recv()) {
      EXPECT_EQ(d->first.from.port, kAppPort);
      got.push_back(d->second);
    }
    return got.size() == 2;
  }));
  EXPECT_EQ(got[0], payload(1, 100));
  EXPECT_TRUE(got[1].empty());
  // Connected: family 0 means the peer; getpeername names it.
  ASSERT_EQ(h.call(ipc::CallOp::kConnect, s.index, s.generation, {}, &to).result, 0);
  EXPECT_TRUE(h.flags(s) & ipc::kConnected);
  const auto peer_name = h.call(ipc::CallOp::kPeerName, s.index, s.generation);
  EXPECT_EQ(peer_name.result, 0);
  EXPECT_EQ(peer_name.addr.port, kPeerPort);
  ASSERT_TRUE(app_send(h, s, payload(2, 1472)));
  ASSERT_TRUE(h.run_until([&] {
    while (auto d = peer.recv()) got.push_back(d->second);
    return got.size() == 3;
  }));
  EXPECT_EQ(got[2], payload(2, 1472));
  // The other way, with the source address in each record.
  peer.send(payload(3, 700));
  peer.send({});
  std::vector<Datagram> in;
  ASSERT_TRUE(h.run_until([&] {
    while (auto d = app_recv(h, s)) in.push_back(*d);
    return in.size() == 2;
  }));
  EXPECT_EQ(in[0].data, payload(3, 700));
  EXPECT_EQ(in[0].from.port, kPeerPort);
  EXPECT_EQ(std::memcmp(in[0].from.bytes, wire_address(kPeerHost, 0).bytes, 4), 0);
  EXPECT_TRUE(in[1].data.empty());
  EXPECT_EQ(h.session().counters()[AppCounter::kBytesIn], 700u);
  EXPECT_EQ(h.call(ipc::CallOp::kClose, s.index, s.generation).result, 0);
}

TEST(AppUdp, RecordsWrapAroundTheFifoEnd) {
  AppHosts h(kSmall);
  PeerUdp peer(h);
  const Handle s = open_udp(h);
  bind_app(h, s, kAppPort);
  const auto to = wire_address(kPeerHost, kPeerPort);
  constexpr uint64_t kCount = 400;  // over fifteen laps of a 16 KiB FIFO each way
  uint64_t sent = 0, peer_got = 0, peer_sent = 0, app_got = 0;
  std::string failure;
  ASSERT_TRUE(h.run_until([&] {
    // A few in flight each way: the link would otherwise deliver hundreds in one
    // instant and the peer's own receive buffer would drop them.
    while (sent < kCount && sent < peer_got + 16 && app_send(h, s, payload(sent, size_of(sent)), to)) ++sent;
    while (auto d = peer.recv()) {
      if (failure.empty() && d->second != payload(peer_got, size_of(peer_got))) failure = "tx #" + std::to_string(peer_got);
      ++peer_got;
    }
    while (peer_sent < kCount && peer_sent < app_got + 16) {
      peer.send(payload(1000 + peer_sent, size_of(peer_sent + 7)));
      ++peer_sent;
    }
    while (auto d = app_recv(h, s)) {
      if (failure.empty() && d->data != payload(1000 + app_got, size_of(app_got + 7))) failure = "rx #" + std::to_string(app_got);
      ++app_got;
    }
    return peer_got == kCount && app_got == kCount;
  })) << "peer got " << peer_got << " app got " << app_got << " tx dropped "
         << h.session().counters()[AppCounter::kUdpTxDropped] << " peer rcvbuf drops "
         << h.peer().udp().counters()[core::UdpCounter::kDropRcvbufFull] << " flags " << h.flags(s);
  EXPECT_EQ(failure, "");
  EXPECT_GT(h.shared(s.index).tx.tail.load(), 15u * h.geometry().fifo_bytes);
  EXPECT_GT(h.shared(s.index).rx.tail.load(), 15u * h.geometry().fifo_bytes);
  EXPECT_EQ(h.session().counters()[AppCounter::kUdpRxDropped], 0u);
  EXPECT_EQ(h.session().counters()[AppCounter::kBadIndex], 0u);
}

TEST(AppUdp, FullRxFifoDropsWholeDatagramsAndCounts) {
  AppHosts h(kSmall);
  PeerUdp peer(h);
  const Handle s = open_udp(h);
  bind_app(h, s, kAppPort);
  // 1400-byte datagrams take 1432-byte records: 11 fit in 16 KiB, the rest drop.
  for (uint64_t i = 0; i < 20; ++i) peer.send(payload(i, 1400));
  h.run_for(base::Duration::millis(50));
  EXPECT_EQ(h.session().counters()[AppCounter::kUdpRxDropped], 9u);
  for (uint64_t i = 0; i < 11; ++i) {
    auto d = app_recv(h, s);
    ASSERT_TRUE(d) << i;
    EXPECT_EQ(d->data, payload(i, 1400)) << i;
  }
  EXPECT_FALSE(app_recv(h, s));
  // Room again: the next datagram arrives whole.
  peer.send(payload(99, 1400));
  std::optional<Datagram> d;
  ASSERT_TRUE(h.run_until([&] { return (d = app_recv(h, s)).has_value(); }));
  EXPECT_EQ(d->data, payload(99, 1400));
}

TEST(AppUdp, BadTxHeaderEndsOnlyThatSocket) {
  AppHosts h(kSmall);
  PeerUdp peer(h);
  const Handle bad = open_udp(h);
  const Handle good = open_udp(h);
  const Handle worse = open_udp(h);
  const auto to = wire_address(kPeerHost, kPeerPort);
  // A length over the UDP maximum, published as if it were a small record.
  ipc::DatagramHeader lie{70000, 0, to};
  std::memcpy(h.region() + h.geometry().tx_fifo_offset(bad.index), &lie, sizeof lie);
  h.shared(bad.index).tx.tail.store(64);
  h.kick(bad.index);
  h.service_round();
  EXPECT_EQ(h.session().counters()[AppCounter::kBadIndex], 1u);
  EXPECT_TRUE(h.flags(bad) & ipc::kError);
  EXPECT_EQ(h.shared(bad.index).error.load(), EPROTO);
  // A plausible length that runs past what the app published.
  lie.length = 1000;
  std::memcpy(h.region() + h.geometry().tx_fifo_offset(worse.index), &lie, sizeof lie);
  h.shared(worse.index).tx.tail.store(64);
  h.kick(worse.index);
  h.service_round();
  EXPECT_EQ(h.session().counters()[AppCounter::kBadIndex], 2u);
  // Nothing was sent in their name; the other socket works.
  ASSERT_TRUE(app_send(h, good, payload(5, 300), to));
  std::optional<std::pair<core::UdpRecvInfo, std::vector<uint8_t>>> d;
  ASSERT_TRUE(h.run_until([&] { return (d = peer.recv()).has_value(); }));
  EXPECT_EQ(d->second, payload(5, 300));
  EXPECT_FALSE(peer.recv());
  EXPECT_EQ(h.call(ipc::CallOp::kTakeError, bad.index, bad.generation).result, EPROTO);
  EXPECT_EQ(h.call(ipc::CallOp::kClose, bad.index, bad.generation).result, 0);
  EXPECT_EQ(h.call(ipc::CallOp::kClose, worse.index, worse.generation).result, 0);
  EXPECT_EQ(h.session().sockets(), 1u);
}

TEST(AppUdp, ConnectedSocketErrors) {
  AppHosts h(kSmall);
  const Handle s = open_udp(h);
  // No route: connect answers ENETUNREACH (the preload then hands it to the kernel).
  const auto nowhere = wire_address(wire::Ipv4Address::from_octets(10, 9, 9, 9), 53);
  EXPECT_EQ(h.call(ipc::CallOp::kConnect, s.index, s.generation, {}, &nowhere).result, -ENETUNREACH);
  // A sendto to an unrouted address becomes the pending error.
  ASSERT_TRUE(app_send(h, s, payload(1, 10), nowhere));
  h.service_round();
  EXPECT_TRUE(h.flags(s) & ipc::kError);
  EXPECT_EQ(h.call(ipc::CallOp::kTakeError, s.index, s.generation).result, ENETUNREACH);
  EXPECT_FALSE(h.flags(s) & ipc::kError);
  // Connected to a port nobody serves: the ICMP port unreachable comes back as
  // ECONNREFUSED, once (SO_ERROR), as Linux.
  const auto closed_port = wire_address(kPeerHost, 5999);
  ASSERT_EQ(h.call(ipc::CallOp::kConnect, s.index, s.generation, {}, &closed_port).result, 0);
  ASSERT_TRUE(app_send(h, s, payload(2, 10)));
  ASSERT_TRUE(h.run_until([&] { return (h.flags(s) & ipc::kError) != 0; }));
  EXPECT_EQ(h.shared(s.index).error.load(), ECONNREFUSED);
  EXPECT_EQ(h.call(ipc::CallOp::kTakeError, s.index, s.generation).result, ECONNREFUSED);
  EXPECT_EQ(h.call(ipc::CallOp::kTakeError, s.index, s.generation).result, 0);
  EXPECT_FALSE(h.flags(s) & ipc::kError);
  // Reconnected to a live peer, it sends again.
  PeerUdp peer(h);
  const auto to = wire_address(kPeerHost, kPeerPort);
  ASSERT_EQ(h.call(ipc::CallOp::kConnect, s.index, s.generation, {}, &to).result, 0);
  ASSERT_TRUE(app_send(h, s, payload(3, 10)));
  std::optional<std::pair<core::UdpRecvInfo, std::vector<uint8_t>>> d;
  ASSERT_TRUE(h.run_until([&] { return (d = peer.recv()).has_value(); }));
  EXPECT_EQ(d->second, payload(3, 10));
  // Listen and accept mean nothing on a datagram socket.
  EXPECT_EQ(h.call(ipc::CallOp::kListen, s.index, s.generation, {1}).result, -EOPNOTSUPP);
}

TEST(AppUdp, OptionsAndNames) {
  AppHosts h(kSmall);
  const Handle s = open_udp(h);
  auto local = h.call(ipc::CallOp::kLocalName, s.index, s.generation);
  EXPECT_EQ(local.result, 0);  // unbound: 0.0.0.0:0, as Linux
  EXPECT_EQ(local.addr.port, 0);
  EXPECT_EQ(h.call(ipc::CallOp::kPeerName, s.index, s.generation).result, -ENOTCONN);
  EXPECT_EQ(h.call(ipc::CallOp::kSetOption, s.index, s.generation, {SOL_SOCKET, SO_REUSEADDR, 1}).result, 0);
  EXPECT_EQ(h.call(ipc::CallOp::kSetOption, s.index, s.generation, {SOL_SOCKET, SO_BROADCAST, 1}).result, 0);
  EXPECT_EQ(h.call(ipc::CallOp::kSetOption, s.index, s.generation, {SOL_SOCKET, SO_RCVBUF, 65536}).result, 0);
  EXPECT_EQ(h.call(ipc::CallOp::kGetOption, s.index, s.generation, {SOL_SOCKET, SO_RCVBUF}).out0, 131072);
  EXPECT_EQ(h.call(ipc::CallOp::kGetOption, s.index, s.generation, {SOL_SOCKET, SO_BROADCAST}).out0, 1);
  EXPECT_EQ(h.call(ipc::CallOp::kGetOption, s.index, s.generation, {SOL_SOCKET, SO_SNDBUF}).out0, 212992);
  bind_app(h, s, kAppPort);
  local = h.call(ipc::CallOp::kLocalName, s.index, s.generation);
  EXPECT_EQ(local.addr.port, kAppPort);
  // Shutdown of an unconnected UDP socket: ENOTCONN, as Linux.
  EXPECT_EQ(h.call(ipc::CallOp::kShutdown, s.index, s.generation, {SHUT_RDWR}).result, -ENOTCONN);
}

}  // namespace
}  // namespace joyride::service
