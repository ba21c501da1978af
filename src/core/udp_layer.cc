#include "joyride/core/udp_layer.h"

#include <algorithm>

#include "joyride/base/bytes.h"
#include "joyride/core/frame.h"
#include "joyride/core/icmpv4_layer.h"
#include "joyride/core/packet_checksum.h"
#include "joyride/wire/checksum.h"
#include "joyride/wire/udp.h"

namespace joyride::core {

using wire::Ipv4Address;

UdpLayer::UdpLayer(const UdpConfig& config, UdpPortTable& ports, Ipv4Layer& ip, Icmpv4Layer& icmp,
                   buf::PacketPool& pool, base::RandomSource& random, ReadinessQueue& ready)
    : config_(config),
      ip_(ip),
      icmp_(icmp),
      pool_(pool),
      random_(random),
      ready_(ready),
      ports_(ports),
      sockets_(SocketKind::kUdp, config.max_sockets) {}

UdpLayer::~UdpLayer() {
  std::vector<SocketId> ids;
  sockets_.for_each([&](SocketId id, Socket&) { ids.push_back(id); });
  for (SocketId id : ids) close(id);
}

base::Result<SocketId, OpenError> UdpLayer::open() {
  Socket s;
  s.rcvbuf = config_.default_rcvbuf;
  auto id = sockets_.insert(std::move(s));
  if (id) ready_.mark(*id, kWritable);
  return id;
}

bool UdpLayer::conflicts(const Socket& other, Ipv4Address addr, uint16_t port) const {
  if (!other.bound || other.local_port != port) return false;
  const bool overlap = other.local_addr.is_unspecified() || addr.is_unspecified() || other.local_addr == addr;
  return overlap;
}

base::Status<BindError> UdpLayer::bind_port(SocketId id, Socket& s, Ipv4Address addr, uint16_t port) {
  if (auto it = ports_.by_port.find(port); it != ports_.by_port.end()) {
    for (const auto& b : it->second) {
      const Socket* other = socket_of(b);
      if (other != nullptr && conflicts(*other, addr, port) && !(s.reuse_addr && other->reuse_addr)) {
        return base::Err{BindError::kAddressInUse};
      }
    }
  }
  s.local_addr = addr;
  s.local_port = port;
  s.bound = true;
  s.bind_order = ++ports_.bind_counter;
  ports_.by_port[port].push_back(UdpPortTable::Binding{this, id});
  return {};
}

std::optional<uint16_t> UdpLayer::pick_ephemeral(Ipv4Address addr) {
  const uint32_t count = uint32_t{config_.ephemeral_high} - config_.ephemeral_low + 1;
  const uint32_t start = random_.uniform(count);
  for (uint32_t i = 0; i < count; ++i) {
    const auto port = static_cast<uint16_t>(config_.ephemeral_low + (start + i) % count);
    auto it = ports_.by_port.find(port);
    if (it == ports_.by_port.end()) return port;
    bool taken = false;
    for (const auto& b : it->second) {
      const Socket* other = socket_of(b);
      // An ephemeral port is never shared, even with SO_REUSEADDR (as Linux).
      if (other != nullptr && conflicts(*other, addr, port)) taken = true;
    }
    if (!taken) return port;
  }
  return std::nullopt;
}

base::Status<BindError> UdpLayer::bind(SocketId id, Endpoint local) {
  Socket* s = sockets_.get(id);
  if (s == nullptr) return base::Err{BindError::kBadSocket};
  if (s->bound) return base::Err{BindError::kAlreadyBound};
  if (!local.address.is_v4()) return base::Err{BindError::kUnsupportedFamily};
  const Ipv4Address addr = local.address.v4();
  // Linux lets UDP bind the broadcast and multicast addresses too; we accept our
  // own unicast addresses, any, and the limited broadcast.
  if (!addr.is_unspecified() && !addr.is_broadcast() && !ip_.is_local_address(addr)) {
    return base::Err{BindError::kAddressNotAvailable};
  }
  uint16_t port = local.port;
  if (port == 0) {
    auto picked = pick_ephemeral(addr);
    if (!picked) return base::Err{BindError::kNoEphemeralPorts};
    port = *picked;
  }
  return bind_port(id, *s, addr, port);
}

base::Status<ConnectError> UdpLayer::connect(SocketId id, Endpoint remote, base::Instant now) {
  Socket* s = sockets_.get(id);
  if (s == nullptr) return base::Err{ConnectError::kBadSocket};
  if (!remote.address.is_v4()) return base::Err{ConnectError::kUnsupportedFamily};
  if (remote.port == 0) return base::Err{ConnectError::kInvalid};
  auto r = ip_.route(remote.address.v4(), now);
  if (!r) return base::Err{ConnectError::kNoRoute};
  if (!s->bound) {
    // Linux binds an unbound socket to the wildcard address on connect, and uses
    // the route's source address for what it sends.
    auto port = pick_ephemeral(Ipv4Address());
    if (!port) return base::Err{ConnectError::kNoEphemeralPorts};
    if (!bind_port(id, *s, Ipv4Address(), *port)) return base::Err{ConnectError::kNoEphemeralPorts};
  }
  s->remote = remote;
  s->pending_error.reset();
  return {};
}

base::Result<size_t, SendError> UdpLayer::send_to(SocketId id, std::span<const uint8_t> data,
                                                   std::optional<Endpoint> to, base::Instant now) {
  Socket* s = sockets_.get(id);
  if (s == nullptr) return base::Err{SendError::kBadSocket};
  if (s->pending_error) {
    // Linux: sock_alloc_send_skb reports sk_err first (sock_error, once).
    const RecvError e = *s->pending_error;
    s->pending_error.reset();
    ready_.mark(id, readiness(id));
    return base::Err{send_error_for(e)};
  }
  if (!to) to = s->remote;
  if (!to) return base::Err{SendError::kNotConnected};
  if (!to->address.is_v4()) return base::Err{SendError::kUnsupportedFamily};
  if (to->port == 0) return base::Err{SendError::kInvalid};
  if (data.size() > kMaxPayload) return base::Err{SendError::kMessageTooLong};
  const Ipv4Address dst = to->address.v4();
  auto r = ip_.route(dst, now);
  if (!r) return base::Err{SendError::kNoRoute};
  if (r->broadcast && !s->broadcast) return base::Err{SendError::kBroadcastDenied};
  if (!s->bound) {
    auto port = pick_ephemeral(Ipv4Address());
    if (!port) return base::Err{SendError::kNoEphemeralPorts};
    if (!bind_port(id, *s, Ipv4Address(), *port)) return base::Err{SendError::kNoEphemeralPorts};
  }
  const Ipv4Address src = s->local_addr.is_unspecified() || s->local_addr.is_broadcast() ? r->source : s->local_addr;

  buf::Packet p = pool_.alloc(kPacketHeadroom);
  if (p.empty() || !p.append_bytes(data, pool_)) {
    counters_.inc(UdpCounter::kDropNoBuffers);
    return base::Err{SendError::kNoBuffers};
  }
  wire::UdpRepr udp{s->local_port, to->port, static_cast<uint16_t>(data.size())};
  // With a device that completes checksums the payload is not summed here at all.
  const bool offload = ip_.tx_l4_checksum_offload();
  const uint32_t payload_sum = offload ? 0 : packet_checksum_accumulate(p);
  uint8_t* hdr = p.prepend(wire::kUdpHeaderLen);
  if (hdr == nullptr) return base::Err{SendError::kNoBuffers};
  udp.emit_header_with_payload_sum(std::span<uint8_t>(hdr, wire::kUdpHeaderLen), src, dst, payload_sum);
  if (offload) {
    const uint32_t pseudo = wire::pseudo_header_v4(src, dst, wire::IpProtocol::kUdp,
                                                   static_cast<uint16_t>(wire::kUdpHeaderLen + data.size()));
    base::store_be<uint16_t>(hdr, 6, pseudo_header_partial(pseudo));
    p.set_offload(static_cast<uint8_t>(p.offload() | buf::kTxL4ChecksumPartial));
  }

  Ipv4SendParams params;
  params.src = src;
  params.dst = dst;
  params.protocol = wire::IpProtocol::kUdp;
  auto sent = ip_.output(params, std::move(p), now);
  if (!sent) return base::Err{sent.error()};
  counters_.inc(UdpCounter::kTxDatagrams);
  return data.size();
}

base::Result<UdpRecvInfo, RecvError> UdpLayer::recv_from(SocketId id, std::span<uint8_t> out) {
  Socket* s = sockets_.get(id);
  if (s == nullptr) return base::Err{RecvError::kBadSocket};
  // A pending error is reported first, even with datagrams queued (as Linux's
  // __skb_recv_udp checks sock_error() before the queue); it is reported once.
  if (s->pending_error) {
    const RecvError e = *s->pending_error;
    s->pending_error.reset();
    ready_.mark(id, readiness(id));
    return base::Err{e};
  }
  if (s->queue.empty()) return base::Err{RecvError::kWouldBlock};
  Datagram d = std::move(s->queue.front());
  s->queue.pop_front();
  s->queued_bytes -= d.payload.len() + kDatagramOverhead;
  const size_t n = std::min(out.size(), d.payload.len());
  d.payload.copy_out(0, out.first(n));
  if (s->queue.empty()) ready_.mark(id, readiness(id));
  return UdpRecvInfo{d.from, n, d.payload.len()};
}

void UdpLayer::close(SocketId id) {
  Socket* s = sockets_.get(id);
  if (s == nullptr) return;
  if (s->bound) {
    auto& v = ports_.by_port[s->local_port];
    std::erase(v, UdpPortTable::Binding{this, id});
    if (v.empty()) ports_.by_port.erase(s->local_port);
  }
  sockets_.erase(id);
  ready_.forget(id);
}

std::optional<RecvError> UdpLayer::take_error(SocketId id) {
  Socket* s = sockets_.get(id);
  if (s == nullptr) return RecvError::kBadSocket;
  std::optional<RecvError> e;
  std::swap(e, s->pending_error);
  if (e) ready_.mark(id, readiness(id));
  return e;
}

bool UdpLayer::set_reuse_addr(SocketId id, bool on) {
  Socket* s = sockets_.get(id);
  if (s == nullptr) return false;
  s->reuse_addr = on;
  return true;
}

bool UdpLayer::set_broadcast(SocketId id, bool on) {
  Socket* s = sockets_.get(id);
  if (s == nullptr) return false;
  s->broadcast = on;
  return true;
}

bool UdpLayer::set_rcvbuf(SocketId id, size_t bytes) {
  Socket* s = sockets_.get(id);
  if (s == nullptr) return false;
  // Linux doubles the requested value to leave room for bookkeeping, within rmem_max.
  s->rcvbuf = std::min(bytes * 2, config_.max_rcvbuf);
  return true;
}

uint32_t UdpLayer::readiness(SocketId id) {
  Socket* s = sockets_.get(id);
  if (s == nullptr) return kError;
  uint32_t r = kWritable;
  if (!s->queue.empty()) r |= kReadable;
  if (s->pending_error) r |= kError;
  return r;
}

std::optional<Endpoint> UdpLayer::local_endpoint(SocketId id) {
  Socket* s = sockets_.get(id);
  if (s == nullptr || !s->bound) return std::nullopt;
  return Endpoint{s->local_addr, s->local_port};
}

std::optional<Endpoint> UdpLayer::remote_endpoint(SocketId id) {
  Socket* s = sockets_.get(id);
  if (s == nullptr) return std::nullopt;
  return s->remote;
}

std::optional<size_t> UdpLayer::next_datagram_bytes(SocketId id) {
  Socket* s = sockets_.get(id);
  if (s == nullptr || s->pending_error || s->queue.empty()) return std::nullopt;
  return s->queue.front().payload.len();
}

int UdpLayer::match_score(const Socket& s, Ipv4Address local, Ipv4Address remote, uint16_t rport,
                          uint16_t lport) const {
  if (!s.bound || s.local_port != lport) return -1;
  int score = 0;
  if (!s.local_addr.is_unspecified()) {
    if (s.local_addr != local) return -1;
    score += 2;
  }
  if (s.remote) {
    if (s.remote->address != wire::IpAddress(remote) || s.remote->port != rport) return -1;
    score += 4;
  }
  return score;
}

void UdpLayer::enqueue(SocketId id, Socket& s, Endpoint from, buf::Packet payload) {
  const size_t charge = payload.len() + kDatagramOverhead;
  if (s.queued_bytes + charge > s.rcvbuf) {
    counters_.inc(UdpCounter::kDropRcvbufFull);
    return;
  }
  s.queued_bytes += charge;
  s.queue.push_back(Datagram{from, std::move(payload)});
  if (s.queue.size() == 1) ready_.mark(id, readiness(id));
}

void UdpLayer::input(const Ipv4RxContext& ctx, buf::Packet datagram, base::Instant now) {
  counters_.inc(UdpCounter::kRxDatagrams);
  // The header is read here rather than with UdpRepr::parse because a reassembled
  // datagram is a chain: the length and checksum cover bytes beyond the head segment.
  if (datagram.len() < wire::kUdpHeaderLen || datagram.head_len() < wire::kUdpHeaderLen) {
    counters_.inc(UdpCounter::kDropMalformed);
    return;
  }
  const uint16_t length = base::load_be<uint16_t>(datagram.data(), 4);
  const uint16_t checksum = base::load_be<uint16_t>(datagram.data(), 6);
  if (length < wire::kUdpHeaderLen || length > datagram.len()) {
    counters_.inc(UdpCounter::kDropMalformed);
    return;
  }
  datagram.trim_back(datagram.len() - length);
  // RFC 768: a zero checksum means the sender computed none (IPv4 only).
  if (checksum != 0 && (datagram.offload() & buf::kRxL4ChecksumGood) == 0) {
    const uint64_t pseudo = wire::pseudo_header_v4_wide(ctx.header.src, ctx.header.dst, wire::IpProtocol::kUdp, length);
    if (!packet_checksum_verify(datagram, pseudo)) {
      counters_.inc(UdpCounter::kDropBadChecksum);
      return;
    }
  }
  const uint16_t sport = base::load_be<uint16_t>(datagram.data(), 0);
  const uint16_t dport = base::load_be<uint16_t>(datagram.data(), 2);
  const Endpoint from{ctx.header.src, sport};

  // Counters of what happens at a socket (rcvbuf full) are its instance's; the rest
  // are the host's.
  auto it = ports_.by_port.find(dport);
  if (ctx.broadcast) {
    // Every matching socket gets the datagram (as Linux for broadcast/multicast).
    bool any = false;
    if (it != ports_.by_port.end()) {
      for (const auto& b : it->second) {
        Socket* s = socket_of(b);
        if (s == nullptr || match_score(*s, ctx, sport, dport) < 0) continue;
        if (!s->local_addr.is_unspecified() && !s->local_addr.is_broadcast()) continue;
        buf::Packet copy = datagram.clone(pool_);
        if (copy.empty() || !copy.trim_front(wire::kUdpHeaderLen)) {
          counters_.inc(UdpCounter::kDropNoBuffers);
          continue;
        }
        b.layer->enqueue(b.id, *s, from, std::move(copy));
        any = true;
      }
    }
    if (!any) counters_.inc(UdpCounter::kDropNoSocket);
    return;
  }
  const UdpPortTable::Binding* best = nullptr;
  int best_score = -1;
  uint64_t best_order = 0;
  if (it != ports_.by_port.end()) {
    for (const auto& b : it->second) {
      Socket* s = socket_of(b);
      if (s == nullptr) continue;
      const int score = match_score(*s, ctx, sport, dport);
      if (score > best_score || (score == best_score && score >= 0 && s->bind_order > best_order)) {
        best = &b;
        best_score = score;
        best_order = s->bind_order;
      }
    }
  }
  if (best_score < 0) {
    counters_.inc(UdpCounter::kDropNoSocket);
    icmp_.send_dest_unreachable(wire::Icmpv4Unreachable::kPortUnreachable, ctx.header, datagram, now);
    return;
  }
  datagram.trim_front(wire::kUdpHeaderLen);
  best->layer->enqueue(best->id, *socket_of(*best), from, std::move(datagram));
}

void UdpLayer::on_icmp_error(Ipv4Address src, uint16_t sport, Ipv4Address dst, uint16_t dport, uint8_t type,
                             uint8_t code) {
  // Linux __udp4_lib_err. Without IP_RECVERR (which this API does not offer) only a
  // hard error is reported, and only to a connected socket: the one a reply from
  // dst:dport to src:sport would reach (__udp4_lib_lookup), which may well be an
  // unconnected one that then hears nothing.
  const std::optional<IcmpSocketError> e = icmp_socket_error(type, code);
  if (!e || !e->hard) return;
  auto it = ports_.by_port.find(sport);
  if (it == ports_.by_port.end()) return;
  const UdpPortTable::Binding* best = nullptr;
  Socket* best_socket = nullptr;
  int best_score = -1;
  uint64_t best_order = 0;
  for (const auto& b : it->second) {
    Socket* s = socket_of(b);
    if (s == nullptr) continue;
    const int score = match_score(*s, src, dst, dport, sport);
    if (score > best_score || (score == best_score && score >= 0 && s->bind_order > best_order)) {
      best = &b;
      best_socket = s;
      best_score = score;
      best_order = s->bind_order;
    }
  }
  if (best_socket == nullptr || best_score < 0 || !best_socket->remote) return;
  best_socket->pending_error = e->error;
  best->layer->ready_.mark(best->id, best->layer->readiness(best->id));
}

}  // namespace joyride::core
