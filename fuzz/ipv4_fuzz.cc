// IPv4: the first input byte chooses whether the checksum is verified (so the fuzzer
// can reach everything behind it); the rest is the packet. Whatever parses is emitted
// with a fresh 20-byte header and the same payload, and must parse back equal (with a
// valid checksum).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "joyride/wire/ipv4.h"

using joyride::wire::Ipv4Repr;
using joyride::wire::kIpv4HeaderLen;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool verify = data[0] & 1;
  const std::span<const uint8_t> packet(data + 1, size - 1);
  const auto r = Ipv4Repr::parse(packet, verify);
  if (!r) return 0;
  if (r->total_len() > packet.size() || r->header_len < kIpv4HeaderLen) std::abort();

  Ipv4Repr expected = *r;
  expected.header_len = kIpv4HeaderLen;  // options are not re-emitted
  std::vector<uint8_t> out(expected.total_len());
  expected.emit(out);
  std::memcpy(out.data() + kIpv4HeaderLen, packet.data() + r->header_len, r->payload_len);
  const auto back = Ipv4Repr::parse(out, /*verify_checksum=*/true);
  if (!back || !(*back == expected)) {
    std::fprintf(stderr, "ipv4 round trip mismatch\n");
    std::abort();
  }
  return 0;
}
