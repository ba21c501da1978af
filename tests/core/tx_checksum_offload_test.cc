// Transmit checksum offload (buf::kTxL4ChecksumPartial, InterfaceConfig::
// tx_l4_checksum_offload): TCP and UDP leave their checksum to the device, having
// written the pseudo header's sum as the mark promises; once a device completes it
// (emulated here exactly as buf/packet.h describes) the frame is byte for byte the
// one a stack without the offload sends. Datagrams that do not leave as one frame by
// an offloading interface (loopback, fragments, another interface) are completed in
// software and carry no mark.
#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "joyride/base/bytes.h"
#include "joyride/wire/checksum.h"
#include "tcp/tcp_conn.h"

namespace joyride::core::testing {
namespace {

constexpr size_t kL4 = 14 + 20;  // Ethernet II + IPv4 without options

struct RawFrame {
  uint32_t ifindex = 0;
  bool marked = false;
  Bytes bytes;
};

std::vector<RawFrame> take_frames(StackHarness& h) {
  std::vector<RawFrame> out;
  for (Frame& f : h.take_raw_tx()) {
    out.push_back(RawFrame{f.ifindex, (f.packet.offload() & buf::kTxL4ChecksumPartial) != 0, flatten(f.packet)});
  }
  return out;
}

// What the device does with a marked frame (buf/packet.h), checking the promise on
// the way: Ethernet II, IPv4 without options, TCP or UDP, the field holding the
// pseudo header's folded sum.
void device_completes(RawFrame& f) {
  ASSERT_TRUE(f.marked);
  Bytes& b = f.bytes;
  ASSERT_GE(b.size(), kL4 + 8);
  EXPECT_EQ(base::load_be<uint16_t>(b.data(), 12), wire::EtherType::kIpv4);
  EXPECT_EQ(b[14], 0x45);
  const uint8_t protocol = b[23];
  ASSERT_TRUE(protocol == wire::IpProtocol::kTcp || protocol == wire::IpProtocol::kUdp);
  const size_t l4_len = base::load_be<uint16_t>(b.data(), 16) - 20u;
  ASSERT_GE(b.size(), kL4 + l4_len);
  const size_t field = kL4 + (protocol == wire::IpProtocol::kTcp ? 16 : 6);
  const auto src = wire::Ipv4Address::from_bytes(b.data() + 26);
  const auto dst = wire::Ipv4Address::from_bytes(b.data() + 30);
  const uint32_t pseudo = wire::pseudo_header_v4(src, dst, protocol, static_cast<uint16_t>(l4_len));
  EXPECT_EQ(base::load_be<uint16_t>(b.data(), field), static_cast<uint16_t>(~wire::checksum_fold(pseudo)));
  uint16_t sum = wire::checksum_fold(wire::checksum_accumulate(std::span<const uint8_t>(b).subspan(kL4, l4_len)));
  if (sum == 0 && protocol == wire::IpProtocol::kUdp) sum = 0xffff;
  base::store_be<uint16_t>(b.data(), field, sum);
  f.marked = false;
}

// A TCP connection (handshake, data both ways, ACKs) and UDP datagrams (empty, odd
// and even lengths, and one whose checksum computes to zero... or not: whatever the
// pattern gives), every frame after the handshake.
std::vector<RawFrame> traffic(bool offload) {
  ConnOptions o{.ts = true, .ws = 7};
  o.harness.configure = [offload](StackConfig& c) { c.interfaces[0].tx_l4_checksum_offload = offload; };
  Conn c(o);  // the SYN-ACK is checked by the harness: SYNs are always summed in software
  std::vector<RawFrame> frames;
  EXPECT_EQ(c.send(3000), 3000u);
  c.data(0, 1001);
  c.data(1001, 1448);
  c.ack(3000);
  c.h.advance(Duration::millis(50));
  for (RawFrame& f : take_frames(c.h)) frames.push_back(std::move(f));
  auto& udp = c.h.stack->udp();
  auto s = udp.open();
  EXPECT_TRUE(s);
  EXPECT_TRUE(udp.bind(*s, Endpoint{kOurIp, 5000}));
  for (size_t n : {0, 1, 100, 101, 1472}) {
    EXPECT_TRUE(udp.send_to(*s, pattern(n, static_cast<uint8_t>(n)), Endpoint{kPeerIp, 7}, c.h.now));
  }
  for (RawFrame& f : take_frames(c.h)) frames.push_back(std::move(f));
  return frames;
}

TEST(TxChecksumOffload, CompletedByTheDeviceTheFramesAreThoseOfSoftwareChecksums) {
  std::vector<RawFrame> on = traffic(true);
  const std::vector<RawFrame> off = traffic(false);
  ASSERT_EQ(on.size(), off.size());
  ASSERT_GE(on.size(), 9u);  // 3 data segments, an ACK, 5 datagrams
  for (size_t i = 0; i < on.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_FALSE(off[i].marked);
    EXPECT_TRUE(on[i].marked);  // every TCP segment after the handshake, every datagram
    device_completes(on[i]);
    EXPECT_EQ(on[i].bytes, off[i].bytes);
  }
}

TEST(TxChecksumOffload, LoopbackIsCompletedInSoftware) {
  HarnessOptions o;
  o.configure = [](StackConfig& c) { c.interfaces[0].tx_l4_checksum_offload = true; };
  StackHarness h(o);
  auto& udp = h.stack->udp();
  auto rx = udp.open();
  auto tx = udp.open();
  ASSERT_TRUE(rx && tx);
  ASSERT_TRUE(udp.bind(*rx, Endpoint{kOurIp, 5000}));
  ASSERT_TRUE(udp.send_to(*tx, pattern(333), Endpoint{kOurIp, 5000}, h.now));
  h.poll();
  std::array<uint8_t, 512> b{};
  auto r = udp.recv_from(*rx, b);
  ASSERT_TRUE(r);  // the receiving side verified the checksum: no device completed it
  EXPECT_EQ(r->bytes, 333u);
  EXPECT_EQ(h.counter("udp.drop_bad_checksum"), 0u);

  // TCP to ourselves: handshake and data through the loopback queue.
  auto& tcp = h.stack->tcp();
  auto l = tcp.open();
  ASSERT_TRUE(l && tcp.bind(*l, Endpoint{kOurIp, 80}) && tcp.listen(*l, 4));
  auto c = tcp.open();
  ASSERT_TRUE(c && tcp.connect(*c, Endpoint{kOurIp, 80}, h.now));
  for (int i = 0; i < 10; ++i) h.poll();
  auto a = tcp.accept(*l);
  ASSERT_TRUE(a);
  ASSERT_TRUE(tcp.send(*c, pattern(5000), h.now));
  for (int i = 0; i < 10; ++i) h.poll();
  std::array<uint8_t, 8192> got{};
  auto n = tcp.recv(*a, got, h.now);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 5000u);
  EXPECT_EQ(h.counter("tcp.drop_bad_checksum"), 0u);
  EXPECT_TRUE(take_frames(h).empty());
}

TEST(TxChecksumOffload, FragmentsAreCompletedInSoftware) {
  HarnessOptions o;
  o.configure = [](StackConfig& c) { c.interfaces[0].tx_l4_checksum_offload = true; };
  StackHarness h(o);
  auto& udp = h.stack->udp();
  auto s = udp.open();
  ASSERT_TRUE(s);
  const Bytes data = pattern(4000, 7);
  ASSERT_TRUE(udp.send_to(*s, data, Endpoint{kPeerIp, 9}, h.now));
  std::vector<RawFrame> frames = take_frames(h);
  ASSERT_EQ(frames.size(), 3u);
  Bytes l4;
  for (const RawFrame& f : frames) {
    EXPECT_FALSE(f.marked);
    const size_t len = base::load_be<uint16_t>(f.bytes.data(), 16) - 20u;
    l4.insert(l4.end(), f.bytes.begin() + kL4, f.bytes.begin() + static_cast<std::ptrdiff_t>(kL4 + len));
  }
  ASSERT_EQ(l4.size(), 8 + data.size());
  const uint32_t pseudo =
      wire::pseudo_header_v4(kOurIp, kPeerIp, wire::IpProtocol::kUdp, static_cast<uint16_t>(l4.size()));
  EXPECT_TRUE(wire::checksum_verify(l4, pseudo));
}

TEST(TxChecksumOffload, OnlyFramesLeavingAnOffloadingInterfaceAreMarked) {
  const auto other_ip = wire::Ipv4Address::from_octets(198, 18, 1, 1);
  const auto other_peer = wire::Ipv4Address::from_octets(198, 18, 1, 2);
  const wire::MacAddress other_mac{{2, 0, 0, 0, 1, 1}};
  const wire::MacAddress other_peer_mac{{2, 0, 0, 0, 1, 2}};
  HarnessOptions o;
  o.configure = [&](StackConfig& c) {
    c.interfaces[0].tx_l4_checksum_offload = true;
    c.interfaces.push_back(InterfaceConfig{"eth1", other_mac, {wire::Ipv4Cidr(other_ip, 24)}, 1500});
  };
  StackHarness h(o);
  // Teach ARP the neighbour on eth1 (ifindex 1): its request for us, then its reply.
  for (auto op : {wire::ArpOp::kRequest, wire::ArpOp::kReply}) {
    const wire::ArpRepr a{op, other_peer_mac, other_peer, op == wire::ArpOp::kReply ? other_mac : wire::MacAddress{},
                          other_ip};
    Bytes b(wire::ArpRepr::kLen);
    a.emit(b);
    h.inject(ethernet(op == wire::ArpOp::kReply ? other_mac : wire::MacAddress::broadcast(), other_peer_mac,
                      wire::EtherType::kArp, b),
             1);
  }
  take_frames(h);  // our ARP reply
  auto& udp = h.stack->udp();
  auto s = udp.open();
  ASSERT_TRUE(s);
  ASSERT_TRUE(udp.send_to(*s, pattern(100), Endpoint{kPeerIp, 9}, h.now));
  ASSERT_TRUE(udp.send_to(*s, pattern(100), Endpoint{other_peer, 9}, h.now));
  // TCP through the per-connection path cache towards eth1: a SYN (never marked),
  // then, once established, data.
  auto& tcp = h.stack->tcp();
  auto c = tcp.open();
  ASSERT_TRUE(c && tcp.connect(*c, Endpoint{other_peer, 80}, h.now));
  std::vector<RawFrame> frames = take_frames(h);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].ifindex, 0u);
  EXPECT_TRUE(frames[0].marked);
  EXPECT_EQ(frames[1].ifindex, 1u);
  EXPECT_FALSE(frames[1].marked);
  EXPECT_EQ(frames[2].ifindex, 1u);
  EXPECT_FALSE(frames[2].marked);
  for (size_t i : {1, 2}) {
    const Bytes& b = frames[i].bytes;
    const size_t len = base::load_be<uint16_t>(b.data(), 16) - 20u;
    const uint32_t pseudo = wire::pseudo_header_v4(other_ip, other_peer, b[23], static_cast<uint16_t>(len));
    EXPECT_TRUE(wire::checksum_verify(std::span<const uint8_t>(b).subspan(kL4, len), pseudo)) << i;
  }
  // The SYN-ACK, then data: through output_cached towards the non-offloading eth1.
  const Bytes& syn = frames[2].bytes;
  const uint32_t our_iss = base::load_be<uint32_t>(syn.data(), kL4 + 4);
  wire::TcpRepr sa;
  sa.src_port = 80;
  sa.dst_port = base::load_be<uint16_t>(syn.data(), kL4);
  sa.seq = base::SeqNum(7000);
  sa.ack = base::SeqNum(our_iss + 1);
  sa.flags = TcpFlags::kSyn | TcpFlags::kAck;
  sa.window = 65535;
  sa.options.mss = 1460;
  Bytes seg(sa.header_len_to_emit());
  sa.emit_header(seg, other_peer, other_ip, std::span<const uint8_t>{});
  h.inject(ethernet(other_mac, other_peer_mac, wire::EtherType::kIpv4,
                    ipv4(ip_header(other_peer, other_ip, wire::IpProtocol::kTcp), seg)),
           1);
  ASSERT_EQ(tcp.state(*c), TcpState::kEstablished);
  ASSERT_TRUE(tcp.send(*c, pattern(700), h.now));
  frames = take_frames(h);
  ASSERT_EQ(frames.size(), 2u);  // the handshake's ACK, then the data
  for (const RawFrame& f : frames) {
    EXPECT_EQ(f.ifindex, 1u);
    EXPECT_FALSE(f.marked);
    const size_t len = base::load_be<uint16_t>(f.bytes.data(), 16) - 20u;
    const uint32_t pseudo = wire::pseudo_header_v4(other_ip, other_peer, wire::IpProtocol::kTcp,
                                                   static_cast<uint16_t>(len));
    EXPECT_TRUE(wire::checksum_verify(std::span<const uint8_t>(f.bytes).subspan(kL4, len), pseudo));
  }
}

}  // namespace
}  // namespace joyride::core::testing
