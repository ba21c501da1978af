// Receive checksum offload (buf::Offload): a frame the device vouches for skips the
// software check; one it does not is checked as always; and nothing vouched for a
// single fragment carries over to the reassembled datagram.
#include <gtest/gtest.h>

#include "joyride/wire/tcp.h"
#include "stack_harness.h"

namespace joyride::core::testing {
namespace {

constexpr uint16_t kPort = 5000;

void inject_with(StackHarness& h, const Bytes& frame, uint8_t offload) {
  buf::Packet p = h.pool.alloc(kPacketHeadroom);
  ASSERT_TRUE(p.append_bytes(frame, h.pool));
  p.set_offload(offload);
  h.stack->input(0, std::move(p), h.now);
}

// A UDP datagram to kPort whose UDP checksum is wrong (flip_udp) and/or whose IPv4
// header checksum is wrong (flip_ip).
Bytes datagram_frame(bool flip_udp, bool flip_ip) {
  const Bytes data = pattern(100);
  Bytes udp = udp_datagram(4000, kPort, data, kPeerIp, kOurIp);
  if (flip_udp) udp[6] ^= 0x5a;
  Bytes ip = ipv4(ip_header(kPeerIp, kOurIp, wire::IpProtocol::kUdp), udp);
  if (flip_ip) ip[10] ^= 0x5a;
  return ethernet(kOurMac, kPeerMac, wire::EtherType::kIpv4, ip);
}

struct Case {
  const char* name;
  bool bad_udp;
  bool bad_ip;
  uint8_t offload;
  bool delivered;
  const char* drop_counter;  // when not delivered
};

TEST(ChecksumOffloadTest, DeviceVerdictsAreTrustedOnlyForWhatTheyCover) {
  const Case cases[] = {
      {"good, no offload", false, false, 0, true, nullptr},
      {"bad udp, no offload", true, false, 0, false, "udp.drop_bad_checksum"},
      {"bad udp, l4 verified", true, false, buf::kRxL4ChecksumGood, true, nullptr},
      {"bad udp, only ip verified", true, false, buf::kRxIpv4ChecksumGood, false, "udp.drop_bad_checksum"},
      {"bad ip, no offload", false, true, 0, false, "ipv4.drop_bad_checksum"},
      {"bad ip, ip verified", false, true, buf::kRxIpv4ChecksumGood, true, nullptr},
      {"bad ip, only l4 verified", false, true, buf::kRxL4ChecksumGood, false, "ipv4.drop_bad_checksum"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    StackHarness h;
    auto s = h.stack->udp().open();
    ASSERT_TRUE(s);
    ASSERT_TRUE(h.stack->udp().bind(*s, Endpoint{kOurIp, kPort}));
    inject_with(h, datagram_frame(c.bad_udp, c.bad_ip), c.offload);
    std::array<uint8_t, 200> buf{};
    auto r = h.stack->udp().recv_from(*s, buf);
    EXPECT_EQ(static_cast<bool>(r), c.delivered);
    if (!c.delivered) {
      EXPECT_EQ(h.counter(c.drop_counter), 1u);
    }
  }
}

TEST(ChecksumOffloadTest, AVerdictOnAFragmentDoesNotCoverTheReassembledDatagram) {
  StackHarness h;
  auto s = h.stack->udp().open();
  ASSERT_TRUE(s);
  ASSERT_TRUE(h.stack->udp().bind(*s, Endpoint{kOurIp, kPort}));
  const Bytes data = pattern(3000);
  Bytes udp = udp_datagram(4000, kPort, data, kPeerIp, kOurIp);
  udp[6] ^= 0x5a;  // wrong UDP checksum
  for (const Bytes& d : StackHarness::fragment(ip_header(kPeerIp, kOurIp, wire::IpProtocol::kUdp), udp, 1480)) {
    inject_with(h, ethernet(kOurMac, kPeerMac, wire::EtherType::kIpv4, d), buf::kRxL4ChecksumGood);
  }
  std::array<uint8_t, 4000> buf{};
  EXPECT_FALSE(h.stack->udp().recv_from(*s, buf));
  EXPECT_EQ(h.counter("udp.drop_bad_checksum"), 1u);
}

TEST(ChecksumOffloadTest, TcpTrustsAVerifiedSegmentAndChecksOthers) {
  // A SYN to a closed port is answered with an RST only if it is accepted.
  for (uint8_t offload : {uint8_t{0}, uint8_t{buf::kRxL4ChecksumGood}}) {
    StackHarness h;
    wire::TcpRepr syn;
    syn.src_port = 4000;
    syn.dst_port = 81;
    syn.seq = base::SeqNum(1000);
    syn.flags = wire::TcpFlags::kSyn;
    syn.window = 1000;
    Bytes seg(syn.header_len_to_emit());
    syn.emit_header(seg, kPeerIp, kOurIp, 0u);
    seg[16] ^= 0x5a;  // wrong TCP checksum
    inject_with(h, ethernet(kOurMac, kPeerMac, wire::EtherType::kIpv4,
                            ipv4(ip_header(kPeerIp, kOurIp, wire::IpProtocol::kTcp), seg)),
                offload);
    if (offload != 0) {
      EXPECT_EQ(h.expect_tx().ip->protocol, wire::IpProtocol::kTcp) << "the RST";
    } else {
      h.expect_no_tx();
      EXPECT_EQ(h.counter("tcp.drop_bad_checksum"), 1u);
    }
  }
}

}  // namespace
}  // namespace joyride::core::testing
