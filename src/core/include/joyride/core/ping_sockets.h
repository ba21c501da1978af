// ICMP echo ("ping") sockets, as Linux's SOCK_DGRAM/IPPROTO_ICMP sockets: the
// socket's identifier plays the role of a port, the stack fills in the ident and
// checksum, and echo replies carrying that ident are queued for the socket.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include "joyride/base/random.h"
#include "joyride/base/result.h"
#include "joyride/base/time.h"
#include "joyride/buf/packet.h"
#include "joyride/core/errors.h"
#include "joyride/core/ipv4_layer.h"
#include "joyride/core/socket.h"
#include "joyride/core/socket_slab.h"
#include "joyride/wire/icmpv4.h"

namespace joyride::core {

struct EchoReply {
  wire::Ipv4Address from;
  uint16_t seq_no = 0;
  size_t data_len = 0;  // echoed data bytes (copied up to the caller's buffer size)
};

class PingSockets {
 public:
  PingSockets(Ipv4Layer& ip, buf::PacketPool& pool, base::RandomSource& random, ReadinessQueue& ready,
              size_t max_sockets = 1024, size_t queue_limit = 64);

  base::Result<SocketId, OpenError> open();
  // ident 0 picks a free identifier at random.
  base::Status<BindError> bind(SocketId s, uint16_t ident);
  base::Status<SendError> send_echo(SocketId s, wire::Ipv4Address dst, uint16_t seq_no,
                                    std::span<const uint8_t> data, base::Instant now);
  base::Result<EchoReply, RecvError> recv(SocketId s, std::span<uint8_t> data_out);
  void close(SocketId s);
  // SO_BROADCAST: without it an echo to a broadcast address fails (kBroadcastDenied),
  // as Linux's ping_v4_sendmsg (EACCES).
  bool set_broadcast(SocketId s, bool on);
  uint32_t readiness(SocketId s);

  // From Icmpv4Layer: an echo reply arrived (message: the whole ICMP message).
  void deliver_reply(const Ipv4RxContext& ctx, const wire::Icmpv4Repr& reply, const buf::Packet& message);

  uint64_t dropped_replies() const { return dropped_; }

 private:
  struct Queued {
    wire::Ipv4Address from;
    uint16_t seq_no;
    buf::Packet data;  // the echoed data (ICMP header trimmed)
  };
  struct Socket {
    uint16_t ident = 0;
    bool bound = false;
    bool broadcast = false;
    std::deque<Queued> queue;
  };
  bool ident_in_use(uint16_t ident);

  Ipv4Layer& ip_;
  buf::PacketPool& pool_;
  base::RandomSource& random_;
  ReadinessQueue& ready_;
  SocketSlab<Socket> sockets_;
  size_t queue_limit_;
  uint64_t dropped_ = 0;
};

}  // namespace joyride::core
