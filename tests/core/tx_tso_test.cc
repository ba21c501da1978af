// TCP segmentation offload (buf::kTxTcpSegmentation, InterfaceConfig::tx_tso_max):
// towards a device that cuts segments itself, TCP sends frames of several segments.
// Cut here exactly as buf/packet.h says a device does, they are byte for byte the
// segments the same stack sends without TSO; the segment size follows the device's
// limit (tx_tso_segment_max); data lost from a TSO frame is retransmitted in
// ordinary, single segments.
#include <gtest/gtest.h>

#include <vector>

#include "joyride/base/bytes.h"
#include "joyride/wire/checksum.h"
#include "tcp/tcp_conn.h"

namespace joyride::core::testing {
namespace {

constexpr size_t kIp = 14, kTcp = 14 + 20;

struct RawFrame {
  uint8_t offload = 0;
  uint16_t segsz = 0;
  Bytes bytes;
};

std::vector<RawFrame> take_frames(StackHarness& h) {
  std::vector<RawFrame> out;
  for (Frame& f : h.take_raw_tx()) out.push_back(RawFrame{f.packet.offload(), f.packet.tso_segsz(), flatten(f.packet)});
  return out;
}

// The device's work on a checksum-offload frame (buf::kTxL4ChecksumPartial): the TCP
// checksum from the pseudo-header sum in the field.
void complete_tcp_checksum(Bytes& b) {
  const size_t l4_len = base::load_be<uint16_t>(b.data(), kIp + 2) - 20u;
  const uint16_t field = base::load_be<uint16_t>(b.data(), kTcp + 16);
  base::store_be<uint16_t>(b.data(), kTcp + 16, 0);
  uint32_t sum = wire::checksum_accumulate(std::span<const uint8_t>(b).subspan(kTcp, l4_len));
  sum = wire::checksum_combine(sum, static_cast<uint16_t>(~field));
  base::store_be<uint16_t>(b.data(), kTcp + 16, wire::checksum_fold(sum));
}

// What a device does with a frame (buf/packet.h): a TSO frame becomes segments of
// segsz payload bytes with sequence numbers, IPv4 length, identification and both
// checksums redone, PSH and FIN on the last only; any frame gets its TCP checksum.
std::vector<Bytes> device_sends(const RawFrame& f) {
  std::vector<Bytes> out;
  const Bytes& b = f.bytes;
  EXPECT_TRUE((f.offload & buf::kTxL4ChecksumPartial) != 0);
  if ((f.offload & buf::kTxTcpSegmentation) == 0) {
    out.push_back(b);
    complete_tcp_checksum(out.back());
    return out;
  }
  EXPECT_EQ(b[kIp], 0x45);
  EXPECT_EQ(b[kIp + 9], wire::IpProtocol::kTcp);
  const size_t tcp_hlen = (b[kTcp + 12] >> 4) * 4u;
  const size_t headers = kTcp + tcp_hlen;
  const size_t payload = base::load_be<uint16_t>(b.data(), kIp + 2) - 20u - tcp_hlen;
  EXPECT_EQ(b.size(), headers + payload);
  // The promise: the pseudo-header sum without the L4 length.
  const auto src = wire::Ipv4Address::from_bytes(b.data() + kIp + 12);
  const auto dst = wire::Ipv4Address::from_bytes(b.data() + kIp + 16);
  EXPECT_EQ(base::load_be<uint16_t>(b.data(), kTcp + 16),
            static_cast<uint16_t>(~wire::checksum_fold(wire::pseudo_header_v4(src, dst, wire::IpProtocol::kTcp, 0))));
  EXPECT_GT(payload, f.segsz);
  const uint32_t seq = base::load_be<uint32_t>(b.data(), kTcp + 4);
  const uint16_t ident = base::load_be<uint16_t>(b.data(), kIp + 4);
  const uint8_t flags = b[kTcp + 13];
  for (size_t off = 0, k = 0; off < payload; off += f.segsz, ++k) {
    const size_t n = std::min<size_t>(f.segsz, payload - off);
    Bytes s(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(headers));
    s.insert(s.end(), b.begin() + static_cast<std::ptrdiff_t>(headers + off),
             b.begin() + static_cast<std::ptrdiff_t>(headers + off + n));
    const bool last = off + n == payload;
    base::store_be<uint16_t>(s.data(), kIp + 2, static_cast<uint16_t>(20 + tcp_hlen + n));
    base::store_be<uint16_t>(s.data(), kIp + 4, static_cast<uint16_t>(ident + k));
    base::store_be<uint16_t>(s.data(), kIp + 10, 0);
    base::store_be<uint16_t>(s.data(), kIp + 10,
                             wire::checksum_fold(wire::checksum_accumulate(std::span<const uint8_t>(s).subspan(kIp, 20))));
    base::store_be<uint32_t>(s.data(), kTcp + 4, static_cast<uint32_t>(seq + off));
    s[kTcp + 13] = last ? flags : static_cast<uint8_t>(flags & ~(TcpFlags::kPsh | TcpFlags::kFin));
    const uint32_t pseudo = wire::pseudo_header_v4(src, dst, wire::IpProtocol::kTcp, static_cast<uint16_t>(tcp_hlen + n));
    base::store_be<uint16_t>(s.data(), kTcp + 16, static_cast<uint16_t>(~wire::checksum_fold(pseudo)));
    complete_tcp_checksum(s);
    out.push_back(std::move(s));
  }
  return out;
}

ConnOptions options(uint32_t tso_max, uint16_t segment_max = 0) {
  ConnOptions o{.ts = true, .ws = 7};
  o.harness.configure = [=](StackConfig& c) {
    c.interfaces[0].tx_l4_checksum_offload = true;
    c.interfaces[0].tx_tso_max = tso_max;
    c.interfaces[0].tx_tso_segment_max = segment_max;
  };
  return o;
}

// 200,000 bytes sent at once, the peer acknowledging everything we sent each round
// (so the window opens as slow start allows): every frame we hand the device.
std::vector<RawFrame> bulk(Conn& c) {
  std::vector<RawFrame> frames;
  size_t queued = 0, acked = 0;
  const size_t total = 200'000;
  for (int round = 0; round < 100 && acked < total; ++round) {
    if (queued < total) queued += c.send(total - queued);
    std::vector<RawFrame> got = take_frames(c.h);
    for (const RawFrame& f : got) {
      for (const Bytes& s : device_sends(f)) {
        const size_t hlen = (s[kTcp + 12] >> 4) * 4u;
        const size_t end = base::load_be<uint32_t>(s.data(), kTcp + 4) - c.us(0).value() + (s.size() - kTcp - hlen);
        acked = std::max(acked, end);
      }
      frames.push_back(f);
    }
    c.h.advance(Duration::millis(1));
    c.ack(static_cast<uint32_t>(acked));
  }
  EXPECT_EQ(acked, total);
  return frames;
}

TEST(TxTso, CutByTheDeviceTheFramesAreTheSegmentsSentWithoutTso) {
  Conn with(options(kTsoMaxPayload));
  Conn without(options(0));
  const std::vector<RawFrame> tso = bulk(with);
  const std::vector<RawFrame> plain = bulk(without);
  std::vector<Bytes> from_tso, from_plain;
  size_t tso_frames = 0;
  for (const RawFrame& f : tso) {
    if ((f.offload & buf::kTxTcpSegmentation) != 0) {
      ++tso_frames;
      EXPECT_EQ(f.segsz, 1448);
    }
    for (Bytes& s : device_sends(f)) from_tso.push_back(std::move(s));
  }
  for (const RawFrame& f : plain) {
    EXPECT_EQ(f.offload & buf::kTxTcpSegmentation, 0);
    for (Bytes& s : device_sends(f)) from_plain.push_back(std::move(s));
  }
  EXPECT_GT(tso_frames, 0u);
  EXPECT_LT(tso.size(), plain.size() / 4);  // most segments went in frames of many
  ASSERT_EQ(from_tso.size(), from_plain.size());
  for (size_t i = 0; i < from_tso.size(); ++i) EXPECT_EQ(from_tso[i], from_plain[i]) << "segment " << i;
  EXPECT_EQ(with.h.counter("tcp.tx_tso_frames"), tso_frames);
  EXPECT_EQ(with.h.counter("tcp.tx_segments"), without.h.counter("tcp.tx_segments"));
  EXPECT_EQ(with.info().bytes_acked, 200'000u);
}

TEST(TxTso, TheSegmentSizeFollowsTheDevicesLimit) {
  Conn c(options(kTsoMaxPayload, 1406));
  for (const RawFrame& f : bulk(c)) {
    if ((f.offload & buf::kTxTcpSegmentation) != 0) {
      EXPECT_EQ(f.segsz, 1406);
    }
  }
  EXPECT_GT(c.h.counter("tcp.tx_tso_frames"), 0u);
}

TEST(TxTso, DataLostFromATsoFrameIsRetransmittedInSingleSegments) {
  Conn c(options(kTsoMaxPayload));
  EXPECT_EQ(c.send(10 * 1448), 10u * 1448);
  std::vector<RawFrame> first = take_frames(c.h);
  ASSERT_EQ(first.size(), 1u);  // the initial window in one frame
  ASSERT_NE(first[0].offload & buf::kTxTcpSegmentation, 0);
  // The frame is lost: the RTO (1 s initial) resends the first segment alone.
  c.h.advance(Duration::millis(1100));
  std::vector<RawFrame> again = take_frames(c.h);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].offload & buf::kTxTcpSegmentation, 0);
  const std::vector<Bytes> wire = device_sends(again[0]);
  ASSERT_EQ(wire.size(), 1u);
  EXPECT_EQ(base::load_be<uint32_t>(wire[0].data(), kTcp + 4), c.us(0).value());
  EXPECT_EQ(wire[0].size(), kTcp + 32 + 1448);
}

TEST(TxTso, NoTsoWithoutChecksumOffload) {
  ConnOptions o{.ts = true, .ws = 7};
  o.harness.configure = [](StackConfig& c) { c.interfaces[0].tx_tso_max = kTsoMaxPayload; };
  Conn c(o);
  EXPECT_EQ(c.send(10 * 1448), 10u * 1448);
  std::vector<RawFrame> frames = take_frames(c.h);
  EXPECT_EQ(frames.size(), 10u);
  for (const RawFrame& f : frames) EXPECT_EQ(f.offload & buf::kTxTcpSegmentation, 0);
}

}  // namespace
}  // namespace joyride::core::testing
