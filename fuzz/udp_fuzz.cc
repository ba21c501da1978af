// UDP: the first input byte chooses checksum verification (bit 0) and the address
// family of the pseudo header (bit 1); the rest is the datagram. Whatever parses is
// emitted with the same payload and must parse back equal, with a valid checksum.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "joyride/wire/udp.h"

using namespace joyride::wire;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool verify = data[0] & 1;
  const bool v6 = data[0] & 2;
  const IpAddress src = v6 ? IpAddress(*Ipv6Address::parse("2001:db8::1")) : IpAddress(Ipv4Address(0x0a000001));
  const IpAddress dst = v6 ? IpAddress(*Ipv6Address::parse("fe80::2")) : IpAddress(Ipv4Address(0xc0a80002));
  const std::span<const uint8_t> datagram(data + 1, size - 1);
  const auto r = UdpRepr::parse(datagram, src, dst, verify);
  if (!r) return 0;
  if (r->buffer_len() > datagram.size()) std::abort();
  const auto payload = datagram.subspan(kUdpHeaderLen, r->payload_len);
  std::vector<uint8_t> out(r->buffer_len());
  r->emit_header(out, src, dst, payload);
  std::memcpy(out.data() + kUdpHeaderLen, payload.data(), payload.size());
  const auto back = UdpRepr::parse(out, src, dst, /*verify_checksum=*/true);
  if (!back || !(*back == *r)) {
    std::fprintf(stderr, "udp round trip mismatch\n");
    std::abort();
  }
  return 0;
}
