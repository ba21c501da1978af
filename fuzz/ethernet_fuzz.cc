// Ethernet: parse arbitrary bytes; whatever parses must emit and parse back equal.
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "joyride/wire/ethernet.h"

using joyride::wire::EthernetRepr;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto r = EthernetRepr::parse(std::span(data, size));
  if (!r) return 0;
  if (r->header_len() > size) std::abort();
  std::vector<uint8_t> out(r->header_len());
  r->emit(out);
  const auto back = EthernetRepr::parse(out);
  if (!back || !(*back == *r)) {
    std::fprintf(stderr, "ethernet round trip mismatch\n");
    std::abort();
  }
  return 0;
}
