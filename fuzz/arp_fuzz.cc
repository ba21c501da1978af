// ARP: parse arbitrary bytes; whatever parses must emit and parse back equal.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "joyride/wire/arp.h"

using joyride::wire::ArpRepr;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto r = ArpRepr::parse(std::span(data, size));
  if (!r) return 0;
  std::vector<uint8_t> out(ArpRepr::kLen);
  r->emit(out);
  const auto back = ArpRepr::parse(out);
  // With the fixed fields validated, a parsed packet's first 28 bytes are canonical.
  if (!back || !(*back == *r) || std::memcmp(out.data(), data, ArpRepr::kLen) != 0) {
    std::fprintf(stderr, "arp round trip mismatch\n");
    std::abort();
  }
  return 0;
}
