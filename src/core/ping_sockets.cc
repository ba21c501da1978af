#include "joyride/core/ping_sockets.h"

#include "joyride/core/frame.h"

namespace joyride::core {

PingSockets::PingSockets(Ipv4Layer& ip, buf::PacketPool& pool, base::RandomSource& random,
                         ReadinessQueue& ready, size_t max_sockets, size_t queue_limit)
    : ip_(ip), pool_(pool), random_(random), ready_(ready), sockets_(SocketKind::kPing, max_sockets),
      queue_limit_(queue_limit) {}

base::Result<SocketId, OpenError> PingSockets::open() { return sockets_.insert(Socket{}); }

bool PingSockets::ident_in_use(uint16_t ident) {
  bool used = false;
  sockets_.for_each([&](SocketId, Socket& s) { used = used || (s.bound && s.ident == ident); });
  return used;
}

base::Status<BindError> PingSockets::bind(SocketId id, uint16_t ident) {
  Socket* s = sockets_.get(id);
  if (s == nullptr) return base::Err{BindError::kBadSocket};
  if (s->bound) return base::Err{BindError::kAlreadyBound};
  if (ident == 0) {
    for (int tries = 0; tries < 64 && (ident == 0 || ident_in_use(ident)); ++tries) {
      ident = static_cast<uint16_t>(random_.next_u32());
    }
    if (ident == 0 || ident_in_use(ident)) return base::Err{BindError::kNoEphemeralPorts};
  } else if (ident_in_use(ident)) {
    return base::Err{BindError::kAddressInUse};
  }
  s->ident = ident;
  s->bound = true;
  return {};
}

base::Status<SendError> PingSockets::send_echo(SocketId id, wire::Ipv4Address dst, uint16_t seq_no,
                                               std::span<const uint8_t> data, base::Instant now) {
  Socket* s = sockets_.get(id);
  if (s == nullptr) return base::Err{SendError::kBadSocket};
  if (!s->bound) {
    if (!bind(id, 0)) return base::Err{SendError::kNoEphemeralPorts};
  }
  if (data.size() > 65535 - 20 - wire::kIcmpv4HeaderLen) return base::Err{SendError::kMessageTooLong};
  auto route = ip_.route(dst, now);
  if (!route) return base::Err{SendError::kNoRoute};
  if (route->broadcast && !s->broadcast) return base::Err{SendError::kBroadcastDenied};
  wire::Icmpv4Repr echo;
  echo.type = wire::Icmpv4Type::kEchoRequest;
  echo.ident = s->ident;
  echo.seq_no = seq_no;
  echo.data = data;
  // The checksum covers the data, so the message is built contiguously when it fits
  // one segment; larger ones are built in a scratch vector (rare: big pings).
  buf::Packet p = pool_.alloc(kPacketHeadroom);
  if (p.empty()) return base::Err{SendError::kNoBuffers};
  if (uint8_t* out = p.append(echo.buffer_len())) {
    echo.emit(std::span<uint8_t>(out, echo.buffer_len()));
  } else {
    std::vector<uint8_t> scratch(echo.buffer_len());
    echo.emit(scratch);
    if (!p.append_bytes(scratch, pool_)) return base::Err{SendError::kNoBuffers};
  }
  Ipv4SendParams params;
  params.dst = dst;
  params.protocol = wire::IpProtocol::kIcmp;
  return ip_.output(params, std::move(p), now);
}

void PingSockets::deliver_reply(const Ipv4RxContext& ctx, const wire::Icmpv4Repr& reply,
                                const buf::Packet& message) {
  bool delivered = false;
  sockets_.for_each([&](SocketId id, Socket& s) {
    if (delivered || !s.bound || s.ident != reply.ident) return;
    delivered = true;
    if (s.queue.size() >= queue_limit_) {
      ++dropped_;
      return;
    }
    buf::Packet data = message.clone(pool_);
    if (data.empty() || !data.trim_front(wire::kIcmpv4HeaderLen)) {
      ++dropped_;
      return;
    }
    s.queue.push_back(Queued{ctx.header.src, reply.seq_no, std::move(data)});
    ready_.mark(id, kReadable | kWritable);
  });
  if (!delivered) ++dropped_;
}

base::Result<EchoReply, RecvError> PingSockets::recv(SocketId id, std::span<uint8_t> data_out) {
  Socket* s = sockets_.get(id);
  if (s == nullptr) return base::Err{RecvError::kBadSocket};
  if (s->queue.empty()) return base::Err{RecvError::kWouldBlock};
  Queued q = std::move(s->queue.front());
  s->queue.pop_front();
  const size_t n = std::min(data_out.size(), q.data.len());
  q.data.copy_out(0, data_out.first(n));
  if (s->queue.empty()) ready_.mark(id, readiness(id));  // no longer readable
  return EchoReply{q.from, q.seq_no, q.data.len()};
}

bool PingSockets::set_broadcast(SocketId id, bool on) {
  Socket* s = sockets_.get(id);
  if (s == nullptr) return false;
  s->broadcast = on;
  return true;
}

void PingSockets::close(SocketId id) {
  if (sockets_.erase(id)) ready_.forget(id);
}

uint32_t PingSockets::readiness(SocketId id) {
  Socket* s = sockets_.get(id);
  if (s == nullptr) return kError;
  return kWritable | (s->queue.empty() ? 0u : kReadable);
}

}  // namespace joyride::core
