// ICMPv4: the first input byte chooses checksum verification; the rest is the message.
// Whatever parses must emit (checksum recomputed) and parse back equal.
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "joyride/wire/icmpv4.h"

using joyride::wire::Icmpv4Repr;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool verify = data[0] & 1;
  const std::span<const uint8_t> message(data + 1, size - 1);
  const auto r = Icmpv4Repr::parse(message, verify);
  if (!r) return 0;
  if (r->buffer_len() != message.size()) std::abort();
  std::vector<uint8_t> out(r->buffer_len());
  r->emit(out);
  const auto back = Icmpv4Repr::parse(out, /*verify_checksum=*/true);
  if (!back || !(*back == *r)) {
    std::fprintf(stderr, "icmpv4 round trip mismatch\n");
    std::abort();
  }
  return 0;
}
