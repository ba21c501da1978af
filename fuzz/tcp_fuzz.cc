// TCP: the first input byte chooses checksum verification (bit 0) and the address
// family of the pseudo header (bit 1); the rest is the segment. Whatever parses is
// emitted in the canonical (Linux) option layout with the same payload and must parse
// back to the same header fields and options (less SACK blocks that do not fit).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "joyride/wire/checksum.h"
#include "joyride/wire/tcp.h"

using namespace joyride::wire;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool verify = data[0] & 1;
  const bool v6 = data[0] & 2;
  const IpAddress src = v6 ? IpAddress(*Ipv6Address::parse("2001:db8::1")) : IpAddress(Ipv4Address(0x0a000001));
  const IpAddress dst = v6 ? IpAddress(*Ipv6Address::parse("fe80::2")) : IpAddress(Ipv4Address(0xc0a80002));
  const std::span<const uint8_t> segment(data + 1, size - 1);
  const auto r = TcpRepr::parse(segment, src, dst, verify);
  if (!r) return 0;
  if (size_t{r->header_len} + r->payload_len != segment.size()) std::abort();
  if (r->options.window_scale && *r->options.window_scale > kTcpMaxWindowScale) std::abort();

  TcpRepr expected = *r;
  expected.header_len = static_cast<uint16_t>(r->header_len_to_emit());
  // A parsed option set need not fit the padded canonical layout (TS + WS + 3 SACK
  // blocks is 39 bytes raw, 44 aligned); emission drops the SACK blocks that do not fit.
  expected.options.sack_count = static_cast<uint8_t>(r->options.sack_blocks_to_emit());
  const auto payload = segment.subspan(r->header_len);
  std::vector<uint8_t> out(expected.header_len + payload.size());
  expected.emit_header(out, src, dst, checksum_accumulate(payload));
  std::memcpy(out.data() + expected.header_len, payload.data(), payload.size());
  const auto back = TcpRepr::parse(out, src, dst, /*verify_checksum=*/true);
  if (!back || !(*back == expected)) {
    std::fprintf(stderr, "tcp round trip mismatch\n");
    std::abort();
  }
  return 0;
}
