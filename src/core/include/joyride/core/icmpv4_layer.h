// ICMPv4 (RFC 792, RFC 1122 §3.2.2) for one stack instance: answers echo requests,
// sends destination-unreachable and time-exceeded errors (rate-limited), and hands
// received errors to whoever they concern: ping sockets, UDP sockets, TCP
// (destination unreachable, time exceeded, parameter problem: RFC 1122 §3.2.2 says
// all three reach the transport), and fragmentation-needed to path MTU discovery:
// one quoting TCP goes to the connection, which checks it before the path MTU moves
// (RFC 5927 §4.2-4.3), any other lowers the path MTU here.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "joyride/base/counters.h"
#include "joyride/base/time.h"
#include "joyride/buf/packet.h"
#include "joyride/core/errors.h"
#include "joyride/core/ipv4_layer.h"
#include "joyride/core/ipv4_reassembler.h"
#include "joyride/wire/icmpv4.h"

namespace joyride::core {

class PingSockets;
class UdpLayer;
class TcpLayer;

struct IcmpConfig {
  // Token bucket for error messages (Linux: icmp_msgs_per_sec, icmp_msgs_burst).
  uint32_t errors_per_second = 1000;
  uint32_t error_burst = 50;
  bool echo_ignore_broadcasts = true;  // Linux icmp_echo_ignore_broadcasts
};

enum class IcmpCounter : uint8_t {
  kRxMessages,
  kRxEchoRequests,
  kRxEchoReplies,
  kRxDestUnreachable,
  kRxTimeExceeded,
  kRxParameterProblem,
  kTxEchoReplies,
  kTxDestUnreachable,
  kTxTimeExceeded,
  kDropMalformed,
  kDropBadChecksum,
  kDropUnsupportedType,
  kDropBroadcastEcho,
  kDropRateLimited,  // an error we would have sent
  kDropNoBuffers,
  kDropPmtuBadMtu,  // fragmentation needed with a next-hop MTU below 68 (0 included)
  kCount
};
constexpr std::array<std::string_view, 16> counter_names(IcmpCounter) {
  return {"rx_messages",        "rx_echo_requests",   "rx_echo_replies",  "rx_dest_unreachable",
          "rx_time_exceeded",   "rx_parameter_problem", "tx_echo_replies",    "tx_dest_unreachable", "tx_time_exceeded",
          "drop_malformed",     "drop_bad_checksum",  "drop_unsupported_type", "drop_broadcast_echo",
          "drop_rate_limited",  "drop_no_buffers",    "drop_pmtu_bad_mtu"};
}

// RFC 792 parameter problem. Not one of wire::Icmpv4Type (the wire layer parses the
// messages the stack also builds); its layout is an error's, the pointer in byte 4
// and the quoted datagram from byte 8, so this layer reads it by hand.
inline constexpr uint8_t kIcmpv4ParameterProblem = 12;

// A received ICMP error as the errno Linux gives the socket it concerns, and whether
// it is hard (Linux's icmp_err_convert table for destination unreachable, as
// __udp4_lib_err and tcp_v4_err use it; time exceeded EHOSTUNREACH, soft; parameter
// problem EPROTO, hard). nullopt for what no socket hears of: fragmentation needed
// (path MTU discovery's), unreachable codes past 15 and other types.
struct IcmpSocketError {
  RecvError error;
  bool hard;
};
std::optional<IcmpSocketError> icmp_socket_error(uint8_t type, uint8_t code);

// RFC 791: every IPv4 module must forward a 68-byte datagram without fragmenting it,
// so no link has a smaller MTU; a fragmentation-needed reporting less is not believed.
inline constexpr uint16_t kMinIpv4LinkMtu = 68;

class Icmpv4Layer final : public ReassemblyTimeoutListener {
 public:
  Icmpv4Layer(const IcmpConfig& config, Ipv4Layer& ip, buf::PacketPool& pool);
  void attach(UdpLayer* udp, PingSockets* ping, TcpLayer* tcp = nullptr) {
    udp_ = udp;
    ping_ = ping;
    tcp_ = tcp;
  }

  // An ICMP message (the IPv4 payload) arrived.
  void input(const Ipv4RxContext& ctx, buf::Packet message, base::Instant now);

  // Error about a datagram we received: `original` its header, `payload` its
  // transport payload. Does nothing for datagrams RFC 1122 §3.2.2 says never to
  // answer (broadcast, non-first fragment, ICMP error, non-unicast source).
  void send_dest_unreachable(uint8_t code, const wire::Ipv4Repr& original, const buf::Packet& payload,
                             base::Instant now);
  void on_reassembly_timeout(const wire::Ipv4Repr& header, const buf::Packet& first_fragment,
                             base::Instant now) override;

  const base::CounterSet<IcmpCounter>& counters() const { return counters_; }

 private:
  void answer_echo(const Ipv4RxContext& ctx, const wire::Icmpv4Repr& request, buf::Packet message,
                   base::Instant now);
  // An error message: its type and code, the next-hop MTU (fragmentation needed
  // only) and the quoted datagram.
  void handle_error(uint8_t type, uint8_t code, uint16_t next_hop_mtu, std::span<const uint8_t> quoted,
                    base::Instant now);
  void handle_frag_needed(uint8_t protocol, wire::Ipv4Address src, wire::Ipv4Address dst,
                          std::span<const uint8_t> transport, uint16_t mtu, base::Instant now);
  void send_error(wire::Icmpv4Type type, uint8_t code, const wire::Ipv4Repr& original,
                  const buf::Packet& payload, base::Instant now);
  bool take_token(base::Instant now);

  const IcmpConfig config_;
  Ipv4Layer& ip_;
  buf::PacketPool& pool_;
  UdpLayer* udp_ = nullptr;
  TcpLayer* tcp_ = nullptr;
  PingSockets* ping_ = nullptr;
  double tokens_;
  base::Instant last_refill_;
  base::CounterSet<IcmpCounter> counters_;
};

}  // namespace joyride::core
