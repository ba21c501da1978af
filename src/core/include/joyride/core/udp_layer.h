// UDP (RFC 768) sockets of one stack instance, with Linux's binding rules:
// - bind to one of our addresses or to any (0.0.0.0); port 0 picks an ephemeral
//   port at random from the range, probing linearly from a random start (RFC 6056
//   algorithm 1, as Linux does for UDP);
// - two sockets may share a port only when their local addresses cannot both match
//   one datagram, or when both set SO_REUSEADDR;
// - a datagram goes to the most specific socket (connected peer > bound address >
//   wildcard), the most recently bound winning ties; broadcasts go to every match;
// - each socket's receive queue is bounded in bytes (SO_RCVBUF); datagrams beyond it
//   are dropped and counted, as Linux's RcvbufErrors;
// - ICMP errors, as Linux's __udp4_lib_err without IP_RECVERR: only hard ones
//   (parameter problem EPROTO; the destination unreachable codes icmp_err_convert
//   calls fatal, port unreachable's ECONNREFUSED among them), and only to the socket
//   a reply would reach when it is connected; the next recv or send reports the error
//   once, or take_error (SO_ERROR) takes it. Soft ones (time exceeded, net or host
//   unreachable) are dropped.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "joyride/base/counters.h"
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

class Icmpv4Layer;

struct UdpConfig {
  size_t max_sockets = 65536;
  size_t default_rcvbuf = 212992;  // Linux net.core.rmem_default
  size_t max_rcvbuf = 4 * 1024 * 1024;
  uint16_t ephemeral_low = 32768;  // Linux net.ipv4.ip_local_port_range
  uint16_t ephemeral_high = 60999;
};

enum class UdpCounter : uint8_t {
  kRxDatagrams,
  kTxDatagrams,
  kDropMalformed,
  kDropBadChecksum,
  kDropNoSocket,     // answered with ICMP port unreachable
  kDropRcvbufFull,
  kDropNoBuffers,
  kCount
};
constexpr std::array<std::string_view, 7> counter_names(UdpCounter) {
  return {"rx_datagrams", "tx_datagrams", "drop_malformed", "drop_bad_checksum",
          "drop_no_socket", "drop_rcvbuf_full", "drop_no_buffers"};
}

struct UdpRecvInfo {
  Endpoint from;
  size_t bytes = 0;      // copied into the caller's buffer
  size_t datagram = 0;   // the datagram's length (> bytes when truncated, MSG_TRUNC)
};

struct UdpSocketView {
  SocketId id;
  Endpoint local;
  std::optional<Endpoint> remote;
  size_t queued_datagrams;
  size_t queued_bytes;
};

class UdpLayer;

// The host-wide port table of UDP, shared by every stack instance's UdpLayer (as
// tcp::HostTable is TCP's): binding across instances follows Linux's rules between
// processes, and a datagram goes to the best-matching socket whichever instance owns it.
struct UdpPortTable {
  struct Binding {
    UdpLayer* layer;
    SocketId id;
    bool operator==(const Binding&) const = default;
  };
  std::unordered_map<uint16_t, std::vector<Binding>> by_port;
  uint64_t bind_counter = 0;  // later binds win ties, across instances
};

class UdpLayer {
 public:
  // Bytes charged per queued datagram on top of its payload (Linux charges the skb's
  // truesize), so a flood of empty datagrams is bounded too.
  static constexpr size_t kDatagramOverhead = 256;
  static constexpr size_t kMaxPayload = 65535 - 20 - 8;

  // One per stack instance; `ports` is the host's. The host's instance is the one the
  // IP layer feeds (input, on_icmp_error).
  UdpLayer(const UdpConfig& config, UdpPortTable& ports, Ipv4Layer& ip, Icmpv4Layer& icmp, buf::PacketPool& pool,
           base::RandomSource& random, ReadinessQueue& ready);
  // Its sockets leave the host's port table.
  ~UdpLayer();
  UdpLayer(const UdpLayer&) = delete;
  UdpLayer& operator=(const UdpLayer&) = delete;

  base::Result<SocketId, OpenError> open();
  base::Status<BindError> bind(SocketId s, Endpoint local);
  base::Status<ConnectError> connect(SocketId s, Endpoint remote, base::Instant now);
  base::Result<size_t, SendError> send_to(SocketId s, std::span<const uint8_t> data,
                                          std::optional<Endpoint> to, base::Instant now);
  base::Result<UdpRecvInfo, RecvError> recv_from(SocketId s, std::span<uint8_t> out);
  void close(SocketId s);
  // getsockopt(SO_ERROR): the pending error, cleared as it is returned (Linux
  // sock_error); nullopt when there is none, kBadSocket for a handle that is not one.
  std::optional<RecvError> take_error(SocketId s);

  bool set_reuse_addr(SocketId s, bool on);
  bool set_broadcast(SocketId s, bool on);
  bool set_rcvbuf(SocketId s, size_t bytes);
  uint32_t readiness(SocketId s);
  std::optional<Endpoint> local_endpoint(SocketId s);
  std::optional<Endpoint> remote_endpoint(SocketId s);
  // The payload length of the datagram recv_from would return next (nullopt: none
  // queued, or an error would be reported first), so a caller can make room first.
  std::optional<size_t> next_datagram_bytes(SocketId s);

  // From Ipv4Layer: a datagram (UDP header onwards) addressed to us.
  void input(const Ipv4RxContext& ctx, buf::Packet datagram, base::Instant now);
  // From Icmpv4Layer: an error (ICMP `type`, `code`) about a datagram we sent from
  // src:sport to dst:dport.
  void on_icmp_error(wire::Ipv4Address src, uint16_t sport, wire::Ipv4Address dst, uint16_t dport, uint8_t type,
                     uint8_t code);

  template <typename F>
  void for_each_socket(F&& f);  // f(const UdpSocketView&)
  const base::CounterSet<UdpCounter>& counters() const { return counters_; }

 private:
  struct Datagram {
    Endpoint from;
    buf::Packet payload;
  };
  struct Socket {
    wire::Ipv4Address local_addr;  // unspecified: any
    uint16_t local_port = 0;
    bool bound = false;
    std::optional<Endpoint> remote;
    bool reuse_addr = false;
    bool broadcast = false;
    size_t rcvbuf = 0;
    size_t queued_bytes = 0;
    uint64_t bind_order = 0;  // later binds win ties
    std::optional<RecvError> pending_error;
    std::deque<Datagram> queue;
  };

  bool conflicts(const Socket& candidate, wire::Ipv4Address addr, uint16_t port) const;
  base::Status<BindError> bind_port(SocketId id, Socket& s, wire::Ipv4Address addr, uint16_t port);
  std::optional<uint16_t> pick_ephemeral(wire::Ipv4Address addr);
  int match_score(const Socket& s, const Ipv4RxContext& ctx, uint16_t sport, uint16_t dport) const {
    return match_score(s, ctx.header.dst, ctx.header.src, sport, dport);
  }
  // How well a datagram from remote:rport to local:lport fits `s`; -1: not at all.
  int match_score(const Socket& s, wire::Ipv4Address local, wire::Ipv4Address remote, uint16_t rport,
                  uint16_t lport) const;
  void enqueue(SocketId id, Socket& s, Endpoint from, buf::Packet payload);
  // The socket a port table entry names (in its own instance), or nullptr.
  static Socket* socket_of(const UdpPortTable::Binding& b) { return b.layer->sockets_.get(b.id); }

  const UdpConfig config_;
  Ipv4Layer& ip_;
  Icmpv4Layer& icmp_;
  buf::PacketPool& pool_;
  base::RandomSource& random_;
  ReadinessQueue& ready_;
  UdpPortTable& ports_;
  SocketSlab<Socket> sockets_;
  base::CounterSet<UdpCounter> counters_;
};

template <typename F>
void UdpLayer::for_each_socket(F&& f) {
  sockets_.for_each([&](SocketId id, Socket& s) {
    f(UdpSocketView{id, Endpoint{s.local_addr, s.local_port}, s.remote, s.queue.size(), s.queued_bytes});
  });
}

}  // namespace joyride::core
